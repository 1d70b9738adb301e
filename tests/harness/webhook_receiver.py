#!/usr/bin/env python3
"""Loopback webhook receiver for plumb's delivery tests (stdlib only).

It checks every request the way a real receiver should: the HMAC-SHA256
signature in X-Plumb-Signature ("t=<unix seconds>,v1=<hex>", computed over
"<t>.<body>" with the shared secret) and that the timestamp is recent.  It
records each request as one JSON line in --log, in arrival order, and can be
told to misbehave.

Usage:
    webhook_receiver.py --port-file FILE --secret-file FILE --log FILE
                        [--mode MODE] [--count N] [--hang SECONDS]
                        [--tolerance SECONDS] [--tls-cert PEM --tls-key PEM]

Modes (what a POST gets):
    ok      204 (a bad signature or stale timestamp gets 401 instead)
    500     500 with a short body
    503     503 with Retry-After: 1
    429     429 with Retry-After: 1
    400     400 with a JSON error body
    hang    read the request, then wait --hang seconds before answering 204
    close   read the request, then close the connection without answering
With --count N the mode applies to the next N requests, then "ok" again.

Control (never logged):
    POST /_ctl/mode   {"mode": MODE, "count": N (optional)}
    GET  /_ctl/ping   "pong"

Log line fields: n, path, event_id, idempotency_key, kind, content_type,
user_agent, signature, signature_ok, timestamp_ok, mode, status, body.
"""

import argparse
import hashlib
import hmac
import http.server
import json
import os
import socketserver
import ssl
import sys
import threading
import time

LOCK = threading.Lock()
STATE = {"mode": "ok", "count": None, "n": 0}


def verify(secret, header, body, tolerance):
    """Return (signature_ok, timestamp_ok) for an X-Plumb-Signature value."""
    if not header:
        return False, False
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    t, v1 = parts.get("t", ""), parts.get("v1", "")
    if not t.isdigit() or len(v1) != 64:
        return False, False
    mac = hmac.new(secret, t.encode() + b"." + body, hashlib.sha256).hexdigest()
    sig_ok = hmac.compare_digest(mac, v1)
    ts_ok = abs(time.time() - int(t)) <= tolerance
    return sig_ok, ts_ok


def next_mode():
    with LOCK:
        mode = STATE["mode"]
        if STATE["count"] is not None:
            STATE["count"] -= 1
            if STATE["count"] <= 0:
                STATE["mode"], STATE["count"] = "ok", None
        STATE["n"] += 1
        return mode, STATE["n"]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("%s\n" % (fmt % args))

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def answer(self, status, body=b"", headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def do_GET(self):
        if self.path == "/_ctl/ping":
            self.answer(200, b"pong")
        else:
            self.answer(404)

    def do_POST(self):
        body = self.read_body()
        if self.path == "/_ctl/mode":
            req = json.loads(body)
            with LOCK:
                STATE["mode"] = req["mode"]
                STATE["count"] = req.get("count")
            self.answer(204)
            return
        mode, n = next_mode()
        sig = self.headers.get("X-Plumb-Signature")
        sig_ok, ts_ok = verify(self.server.secret, sig, body, self.server.tolerance)
        status = {"ok": 204, "500": 500, "503": 503, "429": 429, "400": 400,
                  "hang": 204, "close": 0}[mode]
        if mode == "ok" and not (sig_ok and ts_ok):
            status = 401
        rec = {
            "n": n,
            "path": self.path,
            "event_id": self.headers.get("X-Plumb-Event-Id"),
            "idempotency_key": self.headers.get("Idempotency-Key"),
            "kind": self.headers.get("X-Plumb-Event-Kind"),
            "content_type": self.headers.get("Content-Type"),
            "user_agent": self.headers.get("User-Agent"),
            "signature": sig,
            "signature_ok": sig_ok,
            "timestamp_ok": ts_ok,
            "mode": mode,
            "status": status,
            "body": body.decode("utf-8", "replace"),
        }
        with LOCK:
            with open(self.server.log, "a", encoding="utf-8") as f:
                f.write(json.dumps(rec) + "\n")
        if mode == "close":
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if mode == "hang":
            time.sleep(self.server.hang)
        if status == 204:
            self.answer(204)
        elif status == 401:
            self.answer(401, b'{"error":"bad signature"}')
        elif status == 400:
            self.answer(400, b'{"error":"unknown field \\"x\\"",\n"detail":"rejected"}',
                        {"Content-Type": "application/json"})
        elif status in (429, 503):
            self.answer(status, b"slow down", {"Retry-After": "1"})
        else:
            self.answer(status, b"internal error\r\nstack trace follows")


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--secret-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--mode", default="ok")
    ap.add_argument("--count", type=int)
    ap.add_argument("--hang", type=float, default=5.0)
    ap.add_argument("--tolerance", type=int, default=300)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    a = ap.parse_args()
    STATE["mode"], STATE["count"] = a.mode, a.count
    srv = Server(("127.0.0.1", a.port), Handler)
    with open(a.secret_file, "rb") as f:
        # As plumb reads it: the file without its trailing newline.
        srv.secret = f.read().rstrip(b"\r\n")
    srv.log, srv.hang, srv.tolerance = a.log, a.hang, a.tolerance
    if a.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.tls_cert, a.tls_key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
