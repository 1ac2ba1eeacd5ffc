#!/usr/bin/env python3
"""botocore's SigV4 signer as a reference for vigil's differential test.

Reads one JSON request per line on stdin and prints one JSON line per request
with botocore's canonical request, string to sign, signature and
Authorization header. Each request:
  {"method", "scheme", "host", "path", "query": [[name, value], ...] (raw),
   "headers": [[name, value], ...], "body", "service", "region",
   "amz_date": "20150830T123600Z", "access_key", "secret_key", "token"}
The signing time is fixed by the request, not botocore's clock.
With --bench N it instead signs the first request N times and prints the
mean seconds per signature.
"""
import json
import sys
import time

from botocore.auth import SigV4Auth, S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def build(req):
    url = f"{req['scheme']}://{req['host']}{req['path']}"
    aws_req = AWSRequest(method=req["method"], url=url, data=req.get("body", "").encode("utf-8"),
                         params=[tuple(p) for p in req.get("query", [])])
    for name, value in req.get("headers", []):
        aws_req.headers[name] = value  # HTTPHeaders keeps repeated names in order
    creds = Credentials(req["access_key"], req["secret_key"], req.get("token") or None)
    cls = S3SigV4Auth if req.get("s3") else SigV4Auth
    return aws_req, cls(creds, req["service"], req["region"])


def sign(req):
    aws_req, auth = build(req)
    aws_req.context["timestamp"] = req["amz_date"]
    auth._modify_request_before_signing(aws_req)
    creq = auth.canonical_request(aws_req)
    sts = auth.string_to_sign(aws_req, creq)
    sig = auth.signature(sts, aws_req)
    auth._inject_signature_to_request(aws_req, sig)
    return {"canonical_request": creq, "string_to_sign": sts, "signature": sig,
            "authorization": aws_req.headers["Authorization"]}


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--bench":
        n = int(sys.argv[2])
        req = json.loads(sys.stdin.readline())
        start = time.perf_counter()
        for _ in range(n):
            aws_req, auth = build(req)
            aws_req.context["timestamp"] = req["amz_date"]
            auth._modify_request_before_signing(aws_req)
            creq = auth.canonical_request(aws_req)
            sts = auth.string_to_sign(aws_req, creq)
            auth._inject_signature_to_request(aws_req, auth.signature(sts, aws_req))
        print(json.dumps({"seconds_per_signature": (time.perf_counter() - start) / n}))
        return
    for line in sys.stdin:
        if line.strip():
            print(json.dumps(sign(json.loads(line))), flush=True)


if __name__ == "__main__":
    main()
