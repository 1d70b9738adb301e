#!/usr/bin/env python3
"""Parse a mail with Python's email package and print what it sees as JSON.

Used by tests/test-mime.c and tests/test-smtp.c as an independent decoder:
    mime_parse.py MESSAGE-FILE...
prints, for one file (a list of them for several), {"defects", "headers", "addresses", "date", "content_type",
"parts", "lines", "rfc2047"} where parts hold the decoded text of every
leaf part and rfc2047 every header unfolded and decoded with the strict
RFC 2047 decoder (email.header), which drops the space between adjacent
encoded-words in display names as the RFC says (policy.default keeps it).
"""
import email
import email.policy
import json
import sys
from email.header import decode_header, make_header


def addresses(msg, name):
    header = msg[name]
    if header is None:
        return None
    return [{"name": a.display_name, "addr": a.addr_spec} for a in header.addresses]


def parse(path):
    with open(path, "rb") as f:
        raw = f.read()
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    defects = [repr(d) for d in msg.defects]
    headers = {}
    for name, value in msg.items():
        headers.setdefault(name.lower(), []).append(str(value))
    parts = []
    for part in msg.walk():
        defects += [repr(d) for d in part.defects]
        if part.is_multipart():
            continue
        parts.append({
            "content_type": part.get_content_type(),
            "charset": part.get_content_charset(),
            "cte": part.get("content-transfer-encoding"),
            "content": part.get_content(),
        })
    rfc2047 = {}
    raw_msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    for name, value in raw_msg.items():
        unfolded = value.replace("\r\n", "")
        rfc2047.setdefault(name.lower(), []).append(str(make_header(decode_header(unfolded))))
    date = msg["date"]
    lines = raw.split(b"\r\n")
    info = {
        "defects": defects,
        "headers": headers,
        "addresses": {n: addresses(msg, n) for n in ("from", "to", "reply-to")},
        "date": None if date is None else {
            "timestamp": date.datetime.timestamp(),
            "utcoffset": date.datetime.utcoffset().total_seconds(),
        },
        "content_type": msg.get_content_type(),
        "boundary": msg.get_boundary(),
        "parts": parts,
        "rfc2047": rfc2047,
        "lines": {
            "max": max(len(l) for l in lines),
            "bare_lf": b"\n" in raw.replace(b"\r\n", b""),
            "bare_cr": b"\r" in raw.replace(b"\r\n", b""),
            "non_ascii": any(b > 127 for b in raw),
        },
    }
    return info


def main():
    infos = [parse(path) for path in sys.argv[1:]]
    json.dump(infos[0] if len(infos) == 1 else infos, sys.stdout)


if __name__ == "__main__":
    main()
