#!/usr/bin/env python3
"""Scriptable loopback HTTP(S) server for plumb's tests (stdlib only).

It answers each request (except the /_ctl/ control paths) with the next
behaviour of a script; when the script is used up it uses the default
behaviour.  It can misbehave the way AWS endpoints and networks do: slow
answers, stalled bodies, truncated or oversized bodies, bad chunking,
connection resets, AWS-style throttling and server errors.

Usage:
    http_server.py [--host 127.0.0.1] [--port 0] [--port-file FILE]
                   [--tls-cert PEM --tls-key PEM]
                   [--script JSON | --script @FILE] [--default SPEC]

    --port 0        bind an ephemeral port; the bound port is written to
                    --port-file (atomically, after listen()), so tests
                    never race for a port.
    --tls-cert/key  serve HTTPS with this certificate and key.
    --script        a JSON list of behaviours, consumed one per request.
    --default       the behaviour once the script is used up
                    (default: {"status": 200, "body": "ok"}).

A behaviour (SPEC) is a JSON object, or a shorthand string:
    "200", "404", "500", "503", ...   that status with a short body
    "throttle-json"    400, awsJson   {"__type": "ThrottlingException"}
    "throttle-query"   400, query XML <ErrorResponse><Error><Code>Throttling
    "throttle-ec2"     503, EC2 XML   <Response><Errors><Error><Code>
                                      RequestLimitExceeded
    "slowdown-s3"      503, S3 XML    <Error><Code>SlowDown
    "too-many-429"     429, rest-json TooManyRequestsException
    "reset"            read the request, then reset the connection (RST)
    "close"            read the request, then close without answering
    "truncate"         declare 100 body bytes, send 10, close
    "bad-chunk"        chunked body with an invalid chunk-size line
    "oversize:N"       N body bytes, chunked (no Content-Length)
    "oversize-cl:N"    N body bytes with Content-Length
    "slow:S"           wait S seconds before answering
    "stall:S"          send the headers and 5 body bytes, wait S seconds,
                       then send the rest
    "echo"             200 with a JSON echo of the request

JSON object keys (all optional):
    status, reason      status code (default 200) and reason phrase
    headers             {name: value} added to the response
    body                response body (string)
    body_size           generate this many bytes of body instead
    echo                true: body = {"method","path","headers","body"}
    delay               seconds to wait before answering
    chunked             true: Transfer-Encoding: chunked
    chunk_size          bytes per write/chunk (default 65536)
    stall, stall_after  after stall_after body bytes, sleep stall seconds
    truncate            declare the full length, send only this many bytes,
                        then close
    bad_chunk           true: send a malformed chunk-size line
    reset               true: reset the connection instead of answering
    close               true: close the connection instead of answering
    no_length           true: no Content-Length; the body ends at close
    date                Date header value ("" omits it); default now
    date_offset         seconds added to the current time for Date
    aws_error           {"protocol": "json"|"query"|"ec2"|"rest-xml"|
                         "rest-json", "code": C, "message": M}: an AWS
                        error body of that protocol (status default 400)

Control endpoints (never consume the script):
    GET  /_ctl/ping     200 "pong"
    GET  /_ctl/stats    JSON: requests, connections, max_concurrent_requests,
                        max_concurrent_connections, body_bytes_sent,
                        aborted_writes, script_left, log (method, path,
                        body_len, headers (names lower-cased) and the first
                        4096 characters of the body (latin-1) of each
                        scripted request, in arrival order)
    POST /_ctl/script   replace script/default: {"script": [...], "default": SPEC}
    POST /_ctl/reset    zero the counters and the log
"""

import argparse
import email.utils
import json
import os
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time

MAX_LOG = 10000
MAX_REQUEST_BODY = 16 * 1024 * 1024


class State:
    def __init__(self, script, default):
        self.lock = threading.Lock()
        self.script = list(script)
        self.default = default
        self.reset()

    def reset(self):
        self.requests = 0
        self.connections = 0
        self.cur_requests = 0
        self.cur_connections = 0
        self.max_requests = 0
        self.max_connections = 0
        self.body_bytes_sent = 0
        self.aborted_writes = 0
        self.log = []

    def next_behaviour(self):
        if self.script:
            return self.script.pop(0)
        return self.default

    def stats(self):
        return {
            "requests": self.requests,
            "connections": self.connections,
            "max_concurrent_requests": self.max_requests,
            "max_concurrent_connections": self.max_connections,
            "body_bytes_sent": self.body_bytes_sent,
            "aborted_writes": self.aborted_writes,
            "script_left": len(self.script),
            "log": self.log,
        }


def aws_error_body(err):
    proto = err.get("protocol", "json")
    code = err.get("code", "ThrottlingException")
    msg = err.get("message", "Rate exceeded")
    if proto == "json":
        body = json.dumps({"__type": code, "message": msg})
        return body, "application/x-amz-json-1.1", {"x-amzn-ErrorType": code}
    if proto == "rest-json":
        body = json.dumps({"message": msg})
        return body, "application/json", {"x-amzn-ErrorType": code}
    if proto == "query":
        body = ("<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">"
                "<Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error>"
                "<RequestId>00000000-0000-0000-0000-000000000000</RequestId>"
                "</ErrorResponse>" % (code, msg))
        return body, "text/xml", {}
    if proto == "ec2":
        body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error>"
                "<Code>%s</Code><Message>%s</Message></Error></Errors>"
                "<RequestID>00000000-0000-0000-0000-000000000000</RequestID></Response>"
                % (code, msg))
        return body, "text/xml;charset=UTF-8", {}
    if proto == "rest-xml":
        body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code>"
                "<Message>%s</Message><RequestId>0000000000000000</RequestId></Error>"
                % (code, msg))
        return body, "application/xml", {}
    raise ValueError("unknown aws_error protocol %r" % proto)


def parse_spec(spec):
    """Turn a shorthand string or a JSON object into a behaviour dict."""
    if isinstance(spec, dict):
        return spec
    if not isinstance(spec, str):
        raise ValueError("behaviour must be a string or an object: %r" % (spec,))
    if spec.startswith("{"):
        return parse_spec(json.loads(spec))
    name, _, arg = spec.partition(":")
    if name.isdigit():
        return {"status": int(name), "body": "status %s" % name}
    table = {
        "throttle-json": {"aws_error": {"protocol": "json", "code": "ThrottlingException",
                                        "message": "Rate exceeded"}},
        "throttle-query": {"aws_error": {"protocol": "query", "code": "Throttling",
                                         "message": "Rate exceeded"}},
        "throttle-ec2": {"status": 503,
                         "aws_error": {"protocol": "ec2", "code": "RequestLimitExceeded",
                                       "message": "Request limit exceeded."}},
        "slowdown-s3": {"status": 503,
                        "aws_error": {"protocol": "rest-xml", "code": "SlowDown",
                                      "message": "Please reduce your request rate."}},
        "too-many-429": {"status": 429,
                         "aws_error": {"protocol": "rest-json",
                                       "code": "TooManyRequestsException",
                                       "message": "Too Many Requests"}},
        "reset": {"reset": True},
        "close": {"close": True},
        "truncate": {"body": "x" * 100, "truncate": 10},
        "bad-chunk": {"bad_chunk": True},
        "echo": {"echo": True},
    }
    if name in table:
        return table[name]
    if name == "oversize":
        return {"body_size": int(arg), "chunked": True}
    if name == "oversize-cl":
        return {"body_size": int(arg)}
    if name == "slow":
        return {"delay": float(arg), "body": "slow"}
    if name == "stall":
        return {"body": "0123456789", "stall_after": 5, "stall": float(arg)}
    raise ValueError("unknown behaviour %r" % spec)


class Handler(socketserver.BaseRequestHandler):
    def setup(self):
        st = self.server.state
        with st.lock:
            st.connections += 1
            st.cur_connections += 1
            st.max_connections = max(st.max_connections, st.cur_connections)
        self.rfile = None
        if self.server.tls is not None:
            try:
                self.request = self.server.tls.wrap_socket(self.request, server_side=True)
            except (ssl.SSLError, OSError):
                self.request = None
                return
        self.rfile = self.request.makefile("rb")

    def finish(self):
        st = self.server.state
        with st.lock:
            st.cur_connections -= 1
        try:
            if self.rfile is not None:
                self.rfile.close()
            if self.request is not None:
                self.request.close()
        except OSError:
            pass

    def handle(self):
        if self.rfile is None:
            return
        while True:
            try:
                req = self.read_request()
            except (OSError, ValueError, ssl.SSLError):
                return
            if req is None:
                return
            if req["path"].startswith("/_ctl/"):
                if not self.control(req):
                    return
                continue
            if not self.scripted(req):
                return

    def read_request(self):
        line = self.rfile.readline(65537)
        if not line:
            return None
        parts = line.decode("latin-1").rstrip("\r\n").split(" ")
        if len(parts) != 3:
            raise ValueError("bad request line")
        headers = {}
        while True:
            h = self.rfile.readline(65537).decode("latin-1")
            if h in ("\r\n", "\n", ""):
                break
            name, _, value = h.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        if length > MAX_REQUEST_BODY:
            raise ValueError("request body too large")
        body = self.rfile.read(length) if length else b""
        return {"method": parts[0], "path": parts[1], "version": parts[2],
                "headers": headers, "body": body}

    def send(self, data):
        self.request.sendall(data)

    def control(self, req):
        st = self.server.state
        path = req["path"]
        status, body = 200, b""
        if path == "/_ctl/ping":
            body = b"pong"
        elif path == "/_ctl/stats":
            with st.lock:
                body = json.dumps(st.stats()).encode()
        elif path == "/_ctl/reset" and req["method"] == "POST":
            with st.lock:
                st.reset()
            body = b"reset"
        elif path == "/_ctl/script" and req["method"] == "POST":
            try:
                doc = json.loads(req["body"] or b"{}")
                script = [parse_spec(s) for s in doc.get("script", [])]
                default = parse_spec(doc["default"]) if "default" in doc else None
            except (ValueError, KeyError) as e:
                status, body = 400, str(e).encode()
            else:
                with st.lock:
                    st.script = script
                    if default is not None:
                        st.default = default
                body = b"ok"
        else:
            status, body = 404, b"no such control endpoint"
        head = ("HTTP/1.1 %d X\r\nContent-Length: %d\r\nContent-Type: text/plain\r\n\r\n"
                % (status, len(body)))
        try:
            self.send(head.encode() + body)
        except OSError:
            return False
        return True

    def scripted(self, req):
        """Answer one request; return False when the connection must end."""
        st = self.server.state
        with st.lock:
            beh = st.next_behaviour()
            st.requests += 1
            st.cur_requests += 1
            st.max_requests = max(st.max_requests, st.cur_requests)
            if len(st.log) < MAX_LOG:
                st.log.append({"method": req["method"], "path": req["path"],
                               "body_len": len(req["body"]),
                               "headers": req["headers"],
                               "body": req["body"][:4096].decode("latin-1")})
        try:
            return self.respond(req, beh)
        finally:
            with st.lock:
                st.cur_requests -= 1

    def respond(self, req, beh):
        st = self.server.state
        if beh.get("delay"):
            time.sleep(float(beh["delay"]))
        if beh.get("reset"):
            self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                    struct.pack("ii", 1, 0))
            return False
        if beh.get("close"):
            return False

        status = int(beh.get("status", 200))
        headers = dict(beh.get("headers", {}))
        content_type = "text/plain"
        if "aws_error" in beh:
            text, content_type, extra = aws_error_body(beh["aws_error"])
            body = text.encode()
            headers.update(extra)
            if "status" not in beh:
                status = 400
        elif beh.get("echo"):
            body = json.dumps({"method": req["method"], "path": req["path"],
                               "headers": req["headers"],
                               "body": req["body"].decode("latin-1")}).encode()
            content_type = "application/json"
        elif "body_size" in beh:
            body = None
        else:
            body = beh.get("body", "").encode()
        total = int(beh["body_size"]) if body is None else len(body)

        chunked = bool(beh.get("chunked")) or bool(beh.get("bad_chunk"))
        head = ["HTTP/1.1 %d %s" % (status, beh.get("reason", "X"))]
        if beh.get("date", None) != "":
            date = beh.get("date")
            if date is None:
                date = email.utils.formatdate(time.time() + float(beh.get("date_offset", 0)),
                                              usegmt=True)
            head.append("Date: " + date)
        head.append("Content-Type: " + content_type)
        if chunked:
            head.append("Transfer-Encoding: chunked")
        elif beh.get("no_length"):
            head.append("Connection: close")
        else:
            head.append("Content-Length: %d" % total)
        for k, v in headers.items():
            head.append("%s: %s" % (k, v))
        try:
            self.send(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
            if beh.get("bad_chunk"):
                self.send(b"zz-not-hex\r\nhello\r\n0\r\n\r\n")
                return False
            limit = int(beh["truncate"]) if "truncate" in beh else total
            stall_after = int(beh.get("stall_after", -1)) if beh.get("stall") else -1
            chunk = max(1, int(beh.get("chunk_size", 65536)))
            sent = 0
            while sent < limit:
                n = min(chunk, limit - sent)
                if 0 <= stall_after and sent < stall_after:
                    n = min(n, stall_after - sent)
                data = (b"x" * n) if body is None else body[sent:sent + n]
                if chunked:
                    self.send(b"%x\r\n" % n + data + b"\r\n")
                else:
                    self.send(data)
                sent += n
                with st.lock:
                    st.body_bytes_sent += n
                if sent == stall_after:
                    time.sleep(float(beh["stall"]))
            if "truncate" in beh:
                return False
            if chunked:
                self.send(b"0\r\n\r\n")
        except OSError:
            with st.lock:
                st.aborted_writes += 1
            return False
        return not beh.get("no_length")


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def handle_error(self, request, client_address):
        # Clients hanging up mid-answer is part of the job; stay quiet.
        pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--script", default="[]")
    ap.add_argument("--default", default='{"status": 200, "body": "ok"}')
    args = ap.parse_args()

    script_text = args.script
    if script_text.startswith("@"):
        with open(script_text[1:], encoding="utf-8") as f:
            script_text = f.read()
    script = [parse_spec(s) for s in json.loads(script_text)]
    default = parse_spec(args.default)

    srv = Server((args.host, args.port), Handler)
    srv.state = State(script, default)
    srv.tls = None
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        srv.tls = ctx
    port = srv.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w", encoding="ascii") as f:
            f.write("%d\n" % port)
        os.rename(tmp, args.port_file)
    sys.stdout.write("listening on %s:%d\n" % (args.host, port))
    sys.stdout.flush()
    try:
        srv.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
