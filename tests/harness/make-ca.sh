#!/bin/sh
# Make a throwaway CA and a server certificate for 127.0.0.1 / localhost in
# DIR, with the openssl CLI: ca.pem, server.pem, server.key, and other-ca.pem
# (a second CA that did not sign anything, for verification failures).
set -eu
dir=$1
cd "$dir"
q() { "$@" >/dev/null 2>&1; }
q openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=plumb test CA" \
    -keyout ca.key -out ca.pem
q openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=plumb other CA" \
    -keyout other-ca.key -out other-ca.pem
q openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server.key -out server.csr
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n' > ext.cnf
q openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
    -extfile ext.cnf -out server.pem
test -s server.pem
