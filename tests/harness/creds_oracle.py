#!/usr/bin/env python3
"""Ask botocore which credential provider wins (test oracle, no network).

Used by tests/test-creds.c to check the chain's precedence against the
reference implementation.  Roles and web identity are resolved lazily by
botocore (DeferredRefreshableCredentials), so no STS call is made;
instance metadata must be disabled by the scenario.

Usage: creds_oracle.py SCENARIO [-- SCENARIO]...
  SCENARIO is PROFILE NAME=VALUE...
  PROFILE  an explicit profile (Session(profile=...)), or "-" for none
  NAME=VALUE  the complete AWS_* environment of the scenario; every other
              AWS_* variable is removed first.

Prints one line per scenario: "<method> <access key id or ->" (method as
botocore names it: env, assume-role, assume-role-with-web-identity,
shared-credentials-file, config-file, ...), "none" when no provider
answers, or "error <class>".
"""
import os
import sys

import botocore.session


def scenario(profile, assignments):
    for name in [n for n in os.environ if n.startswith('AWS_')]:
        del os.environ[name]
    for item in assignments:
        name, _, value = item.partition('=')
        os.environ[name] = value
    try:
        session = botocore.session.Session(profile=None if profile == '-' else profile)
        creds = session.get_credentials()
    except Exception as e:  # the class name is the answer
        return 'error ' + type(e).__name__
    if creds is None:
        return 'none'
    key = '-'
    if creds.method in ('env', 'shared-credentials-file', 'config-file'):
        key = creds.access_key
    return f'{creds.method} {key}'


def main():
    args = sys.argv[1:]
    while args:
        end = args.index('--') if '--' in args else len(args)
        print(scenario(args[0], args[1:end]))
        args = args[end + 1:]


if __name__ == '__main__':
    main()
