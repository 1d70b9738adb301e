#!/usr/bin/env python3
"""Sign one request with botocore and print the result (test oracle).

Used by tests/test-sigv4.c for what the public SigV4 suites do not cover
(S3 path rules, encoded paths, presigned S3 URLs).  No network.

Usage:
  sigv4_oracle.py CASE [-- CASE]...
  CASE is MODE PLACEMENT SERVICE REGION AMZDATE AKID SECRET TOKEN
          METHOD HOST PATH QUERY BODY EXPIRES
    MODE       v4 (SigV4Auth) or s3 (S3SigV4Auth / S3SigV4QueryAuth)
    PLACEMENT  header (prints the Authorization header value) or
               query (prints the presigned URL)
    AMZDATE    signing time as 20150830T123600Z
    TOKEN      session token ("" for none)
    PATH       wire path (already percent-encoded), QUERY without '?'

One line is printed per case.  Header signing also sends "X-Custom: '  two   spaces '" so blank folding is
exercised; the C test sends the same header.
"""
import datetime
import sys
from unittest import mock

import botocore.auth as auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def sign(mode, placement, service, region, amzdate, akid, secret, token, method, host,
         path, query, body, expires):
    when = datetime.datetime.strptime(amzdate, '%Y%m%dT%H%M%SZ')
    creds = Credentials(akid, secret, token or None)
    url = 'https://' + host + path + ('?' + query if query else '')
    headers = {'Host': host}
    if placement == 'header':
        headers['X-Custom'] = '  two   spaces '
    req = AWSRequest(method=method, url=url, headers=headers, data=body.encode())
    if placement == 'header':
        signer = (auth.S3SigV4Auth if mode == 's3' else auth.SigV4Auth)(creds, service, region)
    else:
        cls = auth.S3SigV4QueryAuth if mode == 's3' else auth.SigV4QueryAuth
        signer = cls(creds, service, region, expires=int(expires))
    with mock.patch('botocore.auth.get_current_datetime', return_value=when):
        signer.add_auth(req)
    if placement == 'header':
        return req.headers['Authorization']
    return req.url


def main():
    args = sys.argv[1:]
    while args:
        end = args.index('--') if '--' in args else len(args)
        print(sign(*args[:end]))
        args = args[end + 1:]


if __name__ == '__main__':
    main()
