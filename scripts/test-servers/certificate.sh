#!/usr/bin/env bash
# A certificate authority of the test run's own, and a server certificate for 127.0.0.1
# that it signs: `certificate.sh DIR KEY CERT` writes DIR/ca.pem (what the client trusts),
# DIR/ca.key, and the server's KEY and CERT. Valid two days; for the test servers only.
set -euo pipefail
dir=${1:?the CA folder}
key=${2:?the server key file}
cert=${3:?the server certificate file}
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=retrain test CA" \
    -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$key" -out "$dir/server.csr" 2>/dev/null
openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 2 -extfile <(printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n') \
    -out "$cert" 2>/dev/null
