#!/usr/bin/env python3
"""A gRPC server implementing grpc.health.v1.Health/Check, for vigil's grpc check tests.

Uses grpcio (Debian's python3-grpcio) with a generic handler on raw bytes, so
no generated protobuf code is needed: HealthCheckRequest is one string field
(1: service) and HealthCheckResponse one enum field (1: status).

Binds 127.0.0.1 on a port chosen by the kernel and prints {"port": N} on
stdout (with --tls-dir DIR, also a TLS port serving DIR/good.pem and
DIR/good.key, as made by fault_server.py --certs: {"port": N, "tls_port": M}),
then serves until stdin closes. Lines on stdin set a service's status:
"<service> <SERVING|NOT_SERVING|UNKNOWN>" ("-" is the server as a whole, the
empty service name). Services never set answer NOT_FOUND, as the reference
implementation does. Answers "ok" on stdout to each line.
"""

import argparse
import json
import os
import sys
from concurrent import futures

import grpc

STATUS = {"UNKNOWN": 0, "SERVING": 1, "NOT_SERVING": 2}
services = {"": 1}


def parse_service(request):
    if len(request) < 2 or request[0] != 0x0A:
        return ""
    length, shift, i = 0, 0, 1
    while True:
        b = request[i]
        length |= (b & 0x7F) << shift
        i += 1
        shift += 7
        if b < 0x80:
            break
    return request[i:i + length].decode()


def check(request, context):
    service = parse_service(request)
    if service not in services:
        context.abort(grpc.StatusCode.NOT_FOUND, "unknown service " + service)
    status = services[service]
    return b"" if status == 0 else bytes([0x08, status])


def main():
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    handler = grpc.method_handlers_generic_handler(
        "grpc.health.v1.Health",
        {"Check": grpc.unary_unary_rpc_method_handler(check)})  # no (de)serializers: raw bytes
    server.add_generic_rpc_handlers((handler,))
    parser = argparse.ArgumentParser()
    parser.add_argument("--tls-dir", help="directory with good.pem and good.key (enables a TLS port)")
    args = parser.parse_args()
    ports = {"port": server.add_insecure_port("127.0.0.1:0")}
    if args.tls_dir:
        with open(os.path.join(args.tls_dir, "good.key"), "rb") as k, \
                open(os.path.join(args.tls_dir, "good.pem"), "rb") as c:
            creds = grpc.ssl_server_credentials([(k.read(), c.read())])
        ports["tls_port"] = server.add_secure_port("127.0.0.1:0", creds)
    server.start()
    print(json.dumps(ports), flush=True)
    for line in sys.stdin:
        name, status = line.split()
        services["" if name == "-" else name] = STATUS[status]
        print("ok", flush=True)
    server.stop(0)


if __name__ == "__main__":
    main()
