#!/usr/bin/env python3
"""Fake ECS container-credentials and EC2 IMDSv2 endpoints for vigil's tests.

  aws_fake_metadata.py PORT ACCESS_KEY SECRET_KEY [AUTH_TOKEN]

Serves on 127.0.0.1:PORT:
  GET  /creds                                        container endpoint; requires
                                                     Authorization == AUTH_TOKEN when given
  PUT  /latest/api/token                             IMDSv2 token (needs the TTL header)
  GET  /latest/meta-data/iam/security-credentials/   role name (needs the token)
  GET  /latest/meta-data/iam/security-credentials/vigil-role
"""
import datetime
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, KEY, SECRET = int(sys.argv[1]), sys.argv[2], sys.argv[3]
AUTH = sys.argv[4] if len(sys.argv) > 4 else None
TOKEN = "imds-token-123"


def creds():
    exp = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=6)
    return json.dumps({"Code": "Success", "AccessKeyId": KEY, "SecretAccessKey": SECRET, "Token": "",
                       "Expiration": exp.strftime("%Y-%m-%dT%H:%M:%SZ")})


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body=""):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_PUT(self):
        if self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            return self.answer(200, TOKEN)
        self.answer(400)

    def do_GET(self):
        if self.path == "/creds":
            if AUTH and self.headers.get("Authorization") != AUTH:
                return self.answer(401, "bad token")
            return self.answer(200, creds())
        if self.headers.get("X-aws-ec2-metadata-token") != TOKEN:
            return self.answer(401)
        if self.path == "/latest/meta-data/iam/security-credentials/":
            return self.answer(200, "vigil-role")
        if self.path == "/latest/meta-data/iam/security-credentials/vigil-role":
            return self.answer(200, creds())
        self.answer(404)


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
