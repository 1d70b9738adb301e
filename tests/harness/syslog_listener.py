#!/usr/bin/env python3
"""Loopback syslog listener for plumb's tests (stdlib only): RFC 6587
octet-counting frames over TCP, or over TLS (RFC 5425).

Each received message (the bytes after "LEN SP") is appended to --log as one
JSON line {"conn": N, "msg": "<text>"}; a frame whose length is not a
decimal number, or a connection that ends inside a frame, is logged as
{"conn": N, "error": "..."}; a connection closed by --close-after is
logged as {"conn": N, "closed": true} once it is closed.  The message text
is decoded as UTF-8 with errors reported (never replaced silently).

Usage:
    syslog_listener.py --port-file FILE --log FILE [--port N]
                       [--tls-cert PEM --tls-key PEM]
                       [--close-after N]   close each connection after N messages
"""

import argparse
import json
import os
import socket
import socketserver
import ssl
import threading

LOCK = threading.Lock()
CONN = {"n": 0}


def log(path, rec):
    with LOCK:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(rec) + "\n")


def read_exact(sock, n, pending):
    while len(pending) < n:
        chunk = sock.recv(65536)
        if not chunk:
            return None, pending
        pending += chunk
    return pending[:n], pending[n:]


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        srv = self.server
        with LOCK:
            CONN["n"] += 1
            conn = CONN["n"]
        sock = self.request
        if srv.tls:
            try:
                sock = srv.tls.wrap_socket(sock, server_side=True)
            except (ssl.SSLError, OSError) as e:
                log(srv.log, {"conn": conn, "error": "tls: %s" % e})
                return
        pending = b""
        count = 0
        while True:
            # MSG-LEN SP
            while b" " not in pending:
                try:
                    chunk = sock.recv(65536)
                except (ssl.SSLError, OSError):
                    chunk = b""
                if not chunk:
                    if pending:
                        log(srv.log, {"conn": conn, "error": "eof inside a frame header"})
                    return
                pending += chunk
                if len(pending) > 16 and b" " not in pending[:16]:
                    log(srv.log, {"conn": conn, "error": "bad frame header %r" % pending[:16]})
                    return
            head, pending = pending.split(b" ", 1)
            if not head.isdigit() or head.startswith(b"0"):
                log(srv.log, {"conn": conn, "error": "bad frame length %r" % head})
                return
            msg, pending = read_exact(sock, int(head), pending)
            if msg is None:
                log(srv.log, {"conn": conn, "error": "eof inside a frame"})
                return
            try:
                text = msg.decode("utf-8")
                log(srv.log, {"conn": conn, "msg": text})
            except UnicodeDecodeError as e:
                log(srv.log, {"conn": conn, "error": "not UTF-8: %s" % e})
            count += 1
            if srv.close_after and count >= srv.close_after:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
                # Logged after the close, so a test that saw this record
                # knows the client's socket has the FIN.
                log(srv.log, {"conn": conn, "closed": True})
                return


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--close-after", type=int, default=0)
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args()
    srv = Server(("127.0.0.1", a.port), Handler)
    srv.log, srv.close_after, srv.tls = a.log, a.close_after, None
    if a.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.tls_cert, a.tls_key)
        srv.tls = ctx
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
