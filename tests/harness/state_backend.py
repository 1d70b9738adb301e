#!/usr/bin/env python3
"""Loopback fakes of the Terraform state backends plumb reads (stdlib only).

    state_backend.py --port-file FILE

Binds 127.0.0.1 on an ephemeral port and writes the port to FILE once it
listens.  Behaviour is set through POST /_ctl/config with a JSON object
(every key optional; a new config replaces the old one):

    states          {"NAME": "state text"}: what the backends serve
    user, password  the http backend requires this basic auth
    header          "Name: value" the http backend requires
    token           the bearer token the TFC API requires
    org, workspace  the TFC workspace that exists (its id is "ws-" + workspace)
    tfc_state       NAME of the state that is the workspace's current one
    sv              the current state version id (default "sv-1")
    no_state        true: the workspace has no state yet (404)
    download_host   host name put in the download URL (default 127.0.0.1);
                    "localhost" makes the download another origin

Endpoints:
    GET /state/NAME                     Terraform http backend: 401 without
                                        the right basic auth, 400 without the
                                        required header, 404 for an unknown
                                        NAME, 304 when If-None-Match equals
                                        the ETag (a hash of the content),
                                        else 200 with the state and an ETag.
    GET /api/v2/organizations/ORG/workspaces/WS
    GET /api/v2/workspaces/ID/current-state-version
                                        HCP Terraform / TFE API subset:
                                        401 without the bearer token.
    GET /_archivist/SV                  the state download (no auth needed).
    GET /_ctl/log                       every request so far: method, path,
                                        "auth" ("basic-ok", "basic-bad",
                                        "bearer-ok", "bearer-bad", "none"),
                                        if_none_match, and the headers named
                                        in the config's "header".
    POST /_ctl/reset_log                forget the log.

Credentials are never written to the log, only whether they matched.
"""

import argparse
import base64
import hashlib
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
CONFIG = {}
LOG = []


def etag_of(text):
    return '"' + hashlib.sha256(text.encode()).hexdigest()[:16] + '"'


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body=b"", headers=None, ctype="application/json"):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if body:
            self.wfile.write(body)

    def auth_kind(self, cfg):
        h = self.headers.get("Authorization")
        if not h:
            return "none"
        if h.startswith("Basic "):
            want = base64.b64encode(("%s:%s" % (cfg.get("user", ""),
                                                cfg.get("password", ""))).encode()).decode()
            return "basic-ok" if h[6:] == want else "basic-bad"
        if h.startswith("Bearer "):
            return "bearer-ok" if h[7:] == cfg.get("token") else "bearer-bad"
        return "other"

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        if self.path == "/_ctl/config":
            with LOCK:
                CONFIG.clear()
                CONFIG.update(json.loads(body or b"{}"))
            return self.reply(200, "{}")
        if self.path == "/_ctl/reset_log":
            with LOCK:
                LOG.clear()
            return self.reply(200, "{}")
        return self.reply(404, "{}")

    def do_GET(self):
        if self.path == "/_ctl/log":
            with LOCK:
                return self.reply(200, json.dumps(LOG))
        with LOCK:
            cfg = json.loads(json.dumps(CONFIG))
        auth = self.auth_kind(cfg)
        entry = {"method": "GET", "path": self.path, "auth": auth,
                 "if_none_match": self.headers.get("If-None-Match")}
        if cfg.get("header"):
            name = cfg["header"].split(":", 1)[0].strip()
            entry["header"] = self.headers.get(name)
        with LOCK:
            LOG.append(entry)
        parts = [p for p in self.path.split("?")[0].split("/") if p]
        if parts[:1] == ["state"] and len(parts) == 2:
            return self.http_backend(cfg, auth, parts[1])
        if parts[:2] == ["api", "v2"]:
            return self.tfc(cfg, auth, parts[2:])
        if parts[:1] == ["_archivist"] and len(parts) == 2:
            if parts[1] != cfg.get("sv", "sv-1"):
                return self.reply(404, "{}")
            return self.reply(200, cfg["states"][cfg["tfc_state"]])
        return self.reply(404, '{"errors":[{"status":"404","title":"not found"}]}')

    def http_backend(self, cfg, auth, name):
        if cfg.get("user") and auth != "basic-ok":
            return self.reply(401, "unauthorized", {"WWW-Authenticate": 'Basic realm="tf"'},
                              "text/plain")
        if cfg.get("header"):
            hname, hval = [x.strip() for x in cfg["header"].split(":", 1)]
            if self.headers.get(hname) != hval:
                return self.reply(400, "missing header", ctype="text/plain")
        text = cfg.get("states", {}).get(name)
        if text is None:
            return self.reply(404, "no such state", ctype="text/plain")
        tag = etag_of(text)
        if self.headers.get("If-None-Match") == tag:
            return self.reply(304, b"", {"ETag": tag})
        return self.reply(200, text, {"ETag": tag})

    def tfc(self, cfg, auth, parts):
        if auth != "bearer-ok":
            return self.reply(401, '{"errors":[{"status":"401","title":"unauthorized"}]}',
                              ctype="application/vnd.api+json")
        ws = cfg.get("workspace", "")
        if (len(parts) == 4 and parts[0] == "organizations" and parts[1] == cfg.get("org")
                and parts[2] == "workspaces" and parts[3] == ws):
            return self.reply(200, json.dumps({"data": {
                "id": "ws-" + ws, "type": "workspaces", "attributes": {"name": ws}}}),
                ctype="application/vnd.api+json")
        if (len(parts) == 3 and parts[0] == "workspaces" and parts[1] == "ws-" + ws
                and parts[2] == "current-state-version"):
            if cfg.get("no_state"):
                return self.reply(404, '{"errors":[{"status":"404","title":"not found"}]}',
                                  ctype="application/vnd.api+json")
            sv = cfg.get("sv", "sv-1")
            host = cfg.get("download_host", "127.0.0.1")
            port = self.server.server_address[1]
            text = cfg["states"][cfg["tfc_state"]]
            return self.reply(200, json.dumps({"data": {
                "id": sv, "type": "state-versions",
                "attributes": {
                    "serial": json.loads(text).get("serial", 0),
                    "status": "finalized",
                    "hosted-state-download-url":
                        "http://%s:%d/_archivist/%s" % (host, port, sv)}}}),
                ctype="application/vnd.api+json")
        return self.reply(404, '{"errors":[{"status":"404","title":"not found"}]}',
                          ctype="application/vnd.api+json")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    args = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
