#!/usr/bin/env bash
# Makes the TLS fixtures of the cluster tests: a certificate authority and one certificate it
# signed for the loopback names (127.0.0.1, localhost) that every test service uses. Valid for
# a century; test-only keys, never to be trusted outside these tests.
set -euo pipefail
cd "$(dirname "$0")"
days=36500
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days "$days" \
  -subj "/CN=Lode test CA" -keyout ca.key -out ca.pem \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -subj "/CN=lode-test-service" -keyout service.key -out service.csr
openssl x509 -req -in service.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days "$days" \
  -out service.pem -extfile <(printf '%s\n' \
    "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=serverAuth,clientAuth" \
    "subjectAltName=IP:127.0.0.1,DNS:localhost")
# A second authority, which signed nothing here: trusting it must not let a client in.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days "$days" \
  -subj "/CN=Lode other CA" -keyout other-ca.key -out other-ca.pem \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
rm -f service.csr ca.srl ca.key other-ca.key
