#!/usr/bin/env python3
"""A small fake EC2 instance metadata service (IMDSv2 only) and ECS
container credentials endpoint for plumb's tests (stdlib only).

IMDS, as EC2 answers with HttpTokens=required:
    PUT /latest/api/token            needs X-aws-ec2-metadata-token-ttl-seconds
                                     (1..21600), answers a fresh token
    GET /latest/meta-data/iam/security-credentials/
                                     the role name (404 with --no-role)
    GET /latest/meta-data/iam/security-credentials/ROLE
                                     the credential document
    Every GET needs a valid X-aws-ec2-metadata-token: without one it is an
    IMDSv1 request and is refused with 401, with a bad one too.

Container credentials (ECS/EKS Pod Identity):
    GET <--container-path>           the credential document; with
                                     --container-token the Authorization
                                     header must equal it (else 401)

Usage:
    imds_server.py --port-file FILE [--host 127.0.0.1]
                   [--role NAME] [--access-key ID --secret-key KEY
                    [--session-token T] [--expiration ISO8601]]
                   [--refuse-token] [--no-role] [--bad-document]
                   [--container-path /creds] [--container-token TOKEN]

Control endpoints:
    GET  /_ctl/stats   JSON {"requests": N, "log": [{"method", "path",
                       "token": "valid"|"invalid"|"none", "ttl": header or
                       null, "authorization": "valid"|"invalid"|"none"}]}
    POST /_ctl/reset   clear the log
"""

import argparse
import json
import os
import secrets
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROLE_PREFIX = "/latest/meta-data/iam/security-credentials/"


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.tokens = set()
        self.log = []


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def answer(self, status, body, ctype="text/plain"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def document(self):
        a = self.server.state.args
        if a.bad_document:
            return '{"Code": "Success", "AccessKeyId": '
        doc = {"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": a.access_key,
               "SecretAccessKey": a.secret_key, "LastUpdated": "2026-01-01T00:00:00Z"}
        if a.session_token:
            doc["Token"] = a.session_token
        if a.expiration:
            doc["Expiration"] = a.expiration
        return json.dumps(doc)

    def record(self, **kw):
        st = self.server.state
        entry = {"method": self.command, "path": self.path}
        entry.update(kw)
        with st.lock:
            st.log.append(entry)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def control(self):
        st = self.server.state
        if self.path == "/_ctl/stats":
            with st.lock:
                doc = {"requests": len(st.log), "log": list(st.log)}
            self.answer(200, json.dumps(doc), "application/json")
        elif self.path == "/_ctl/reset" and self.command == "POST":
            with st.lock:
                st.log = []
            self.answer(200, "reset")
        else:
            self.answer(404, "no such control endpoint")

    def token_state(self):
        tok = self.headers.get("X-aws-ec2-metadata-token")
        if tok is None:
            return "none"
        with self.server.state.lock:
            return "valid" if tok in self.server.state.tokens else "invalid"

    def do_PUT(self):
        self.body()
        if self.path.startswith("/_ctl/"):
            return self.control()
        a = self.server.state.args
        ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
        self.record(token="none", ttl=ttl, authorization="none")
        if self.path != "/latest/api/token":
            return self.answer(404, "Not Found")
        if a.refuse_token:
            return self.answer(403, "Forbidden")
        try:
            ok = ttl is not None and 1 <= int(ttl) <= 21600
        except ValueError:
            ok = False
        if not ok:
            return self.answer(400, "Bad Request")
        tok = secrets.token_urlsafe(32)
        with self.server.state.lock:
            self.server.state.tokens.add(tok)
        self.answer(200, tok)

    def do_POST(self):
        self.body()
        if self.path.startswith("/_ctl/"):
            return self.control()
        self.answer(405, "Method Not Allowed")

    def do_GET(self):
        if self.path.startswith("/_ctl/"):
            return self.control()
        a = self.server.state.args
        if a.container_path and self.path == a.container_path:
            auth = self.headers.get("Authorization")
            state = "none" if auth is None else (
                "valid" if auth == a.container_token else "invalid")
            self.record(token="none", ttl=None, authorization=state)
            if a.container_token and state != "valid":
                return self.answer(401, "Unauthorized")
            return self.answer(200, self.document(), "application/json")
        token = self.token_state()
        self.record(token=token, ttl=None, authorization="none")
        if token != "valid":
            # An IMDSv1 request (or a stale token): refused.
            return self.answer(401, "Unauthorized")
        if self.path == ROLE_PREFIX:
            if a.no_role:
                return self.answer(404, "Not Found")
            return self.answer(200, a.role)
        if self.path == ROLE_PREFIX + a.role and not a.no_role:
            return self.answer(200, self.document(), "application/json")
        self.answer(404, "Not Found")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--role", default="plumb-instance-role")
    ap.add_argument("--access-key", default="ASIAIMDSFAKE00000001")
    ap.add_argument("--secret-key", default="imds/fake/secret/key/0000000000000000000")
    ap.add_argument("--session-token", default="imds-fake-session-token")
    ap.add_argument("--expiration", default=None)
    ap.add_argument("--refuse-token", action="store_true")
    ap.add_argument("--no-role", action="store_true")
    ap.add_argument("--bad-document", action="store_true")
    ap.add_argument("--container-path", default=None)
    ap.add_argument("--container-token", default=None)
    args = ap.parse_args()

    srv = ThreadingHTTPServer((args.host, args.port), Handler)
    srv.daemon_threads = True
    srv.state = State(args)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w", encoding="ascii") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, args.port_file)
    sys.stdout.write("listening on %s:%d\n" % (args.host, srv.server_address[1]))
    sys.stdout.flush()
    try:
        srv.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
