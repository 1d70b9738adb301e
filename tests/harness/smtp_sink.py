#!/usr/bin/python3
"""A loopback SMTP sink for the tests, built on aiosmtpd.

Run with Debian's /usr/bin/python3 (aiosmtpd is installed there, not in the
pyenv interpreter):

    smtp_sink.py --port PORT --dir DIR --ready FILE [options]

Every accepted message is saved as DIR/N.eml (the data as received, after
SMTP dot-unstuffing) with DIR/N.json holding the envelope
{"mail_from", "rcpt_tos", "login", "tls"}.  FILE is written once the server
listens.  The process runs until SIGTERM.

Options:
    --auth USER:PASS      require AUTH (PLAIN or LOGIN) with these credentials
    --echo-auth           a failed AUTH replies with the credentials it got
                          (a hostile server, to test that clients hide them)
    --reject ADDR         answer RCPT TO:<ADDR> with 550 (repeatable)
    --defer ADDR          answer RCPT TO:<ADDR> with 451 (repeatable)
    --close-at STAGE      drop the connection at MAIL, RCPT or DATA
    --cert PEM --key PEM  the server certificate, with:
    --starttls            offer STARTTLS (and require it before MAIL)
    --implicit            TLS from the first byte (smtps)
"""
import argparse
import json
import os
import signal
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Handler:
    def __init__(self, args):
        self.args = args
        self.count = 0
        self.lock = threading.Lock()

    def _close(self, server):
        server.transport.close()
        return "421 4.3.0 closing the connection"

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.args.close_at == "mail":
            return self._close(server)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.args.close_at == "rcpt":
            return self._close(server)
        if address in (self.args.reject or []):
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        if address in (self.args.defer or []):
            return "451 4.7.1 <%s>: Greylisted, try again later" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.args.close_at == "data":
            return self._close(server)
        with self.lock:
            self.count += 1
            n = self.count
        base = os.path.join(self.args.dir, str(n))
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content)
        with open(base + ".json.tmp", "w") as f:
            json.dump({
                "mail_from": envelope.mail_from,
                "rcpt_tos": envelope.rcpt_tos,
                "login": session.login_data.decode() if session.login_data else None,
                # STARTTLS sets session.ssl; implicit TLS shows on the transport.
                "tls": (session.ssl is not None or
                        server.transport.get_extra_info("ssl_object") is not None),
            }, f)
        os.rename(base + ".eml.tmp", base + ".eml")
        os.rename(base + ".json.tmp", base + ".json")
        return "250 2.0.0 Ok: queued as %d" % n


def make_authenticator(args):
    user, _, password = args.auth.partition(":")

    def authenticator(server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        if auth_data.login.decode() == user and auth_data.password.decode() == password:
            return AuthResult(success=True, auth_data=auth_data)
        if args.echo_auth:
            return AuthResult(success=False, handled=False,
                              message="535 5.7.8 Authentication failed for %s:%s" %
                              (auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=False, handled=False)

    return authenticator


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--ready", required=True)
    p.add_argument("--auth")
    p.add_argument("--echo-auth", action="store_true")
    p.add_argument("--reject", action="append")
    p.add_argument("--defer", action="append")
    p.add_argument("--close-at", choices=["mail", "rcpt", "data"])
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--starttls", action="store_true")
    p.add_argument("--implicit", action="store_true")
    args = p.parse_args()

    kwargs = {"hostname": "127.0.0.1", "port": args.port}
    if args.cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(args.cert, args.key)
        if args.implicit:
            kwargs["ssl_context"] = ctx
        if args.starttls:
            kwargs["tls_context"] = ctx
            kwargs["require_starttls"] = True
    if args.auth:
        kwargs["authenticator"] = make_authenticator(args)
        kwargs["auth_required"] = True
        # Loopback only: the tests also check AUTH without TLS.
        kwargs["auth_require_tls"] = False

    controller = Controller(Handler(args), **kwargs)
    controller.start()
    with open(args.ready + ".tmp", "w") as f:
        f.write("ready\n")
    os.rename(args.ready + ".tmp", args.ready)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()
    sys.exit(0)


if __name__ == "__main__":
    main()
