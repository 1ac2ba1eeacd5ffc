#!/usr/bin/env python3
"""A strict fake of the RDS Aurora global database calls moto 5.2 cannot do.

  fake_rds.py --ready-file FILE [--port P] [--key AKID --secret SECRET]
              --state '{"global": "g", "members": [{"arn": ..., "writer": true}, ...]}'
              [--settle N]

Query protocol as AWS documents it: POST, Content-Type
application/x-www-form-urlencoded, form body with Action and Version=2014-10-31,
SigV4 Authorization scoped to service "rds" (verified with --secret).
Actions:
  FailoverGlobalCluster    GlobalClusterIdentifier, TargetDbClusterIdentifier (both required),
                           AllowDataLoss / Switchover only as "true" (an SDK sends them only when set)
  SwitchoverGlobalCluster  GlobalClusterIdentifier, TargetDbClusterIdentifier
  RemoveFromGlobalCluster  GlobalClusterIdentifier, DbClusterIdentifier
  DescribeGlobalClusters   [GlobalClusterIdentifier]   (reflects failovers)
  DescribeDBClusters       [DBClusterIdentifier]       (the promoted cluster is "failing-over"
                           for --settle describes, then "available" with a writer instance)
Any other parameter, a missing one or a wrong Version is a 400 with AWS's
error XML and counted under "rejected".

Control (unsigned): GET /_fake/state -> {"calls": {action: n}, "requests": [...],
  "rejected": [...], "members": [...]}; POST /_fake/state replaces the members.
"""
import argparse
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qsl

from fake_arc import SigError, check_sigv4, serve

NS = "http://rds.amazonaws.com/doc/2014-10-31/"


class State:
    lock = threading.RLock()
    glob = "global"
    members = []  # {"arn", "writer", "status", "pending_describes"}
    calls = {}
    requests = []
    rejected = []
    key = None
    secret = None
    settle = 1


def ident(arn):
    return arn.rsplit(":", 1)[-1]


def find_member(name):
    for m in State.members:
        if m["arn"] == name or ident(m["arn"]) == name:
            return m
    return None


def global_xml():
    members = ""
    for m in State.members:
        readers = "".join(f"<member>{o['arn']}</member>" for o in State.members if o is not m) if m["writer"] else ""
        members += (f"<GlobalClusterMember><DBClusterArn>{m['arn']}</DBClusterArn><Readers>{readers}</Readers>"
                    f"<IsWriter>{'true' if m['writer'] else 'false'}</IsWriter>"
                    f"<SynchronizationStatus>connected</SynchronizationStatus></GlobalClusterMember>")
    return (f"<GlobalClusterIdentifier>{State.glob}</GlobalClusterIdentifier>"
            f"<GlobalClusterArn>arn:aws:rds::123456789012:global-cluster:{State.glob}</GlobalClusterArn>"
            f"<Status>available</Status><Engine>aurora-postgresql</Engine><EngineVersion>15.4</EngineVersion>"
            f"<GlobalClusterMembers>{members}</GlobalClusterMembers>")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("fake_rds: " + (fmt % args) + "\n")

    def send(self, status, body, ctype="text/xml"):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def error(self, status, code, message):
        with State.lock:
            State.rejected.append({"code": code, "message": message})
        self.send(status, f"<ErrorResponse xmlns=\"{NS}\"><Error><Type>Sender</Type><Code>{code}</Code>"
                          f"<Message>{message}</Message></Error><RequestId>fake-rds-1</RequestId></ErrorResponse>")

    def ok(self, action, inner):
        self.send(200, f"<{action}Response xmlns=\"{NS}\"><{action}Result>{inner}</{action}Result>"
                       f"<ResponseMetadata><RequestId>fake-rds-1</RequestId></ResponseMetadata></{action}Response>")

    def do_GET(self):
        if self.path == "/_fake/state":
            with State.lock:
                self.send(200, json.dumps({"calls": State.calls, "requests": State.requests,
                                           "rejected": State.rejected, "members": State.members}),
                          "application/json")
            return
        self.error(400, "InvalidAction", "GET is not used by vigil")

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
        if self.path == "/_fake/state":
            with State.lock:
                State.members = json.loads(body)["members"]
            self.send(200, "{}", "application/json")
            return
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip()
        if ctype != "application/x-www-form-urlencoded":
            return self.error(400, "InvalidParameterValue", f"Content-Type must be a form, got {ctype!r}")
        try:
            check_sigv4(self, body, "rds", State.key, State.secret)
        except SigError as e:
            return self.error(403, "SignatureDoesNotMatch", str(e))
        form = dict(parse_qsl(body.decode(), keep_blank_values=True))
        action = form.pop("Action", "")
        if form.pop("Version", "") != "2014-10-31":
            return self.error(400, "InvalidParameterValue", "Version must be 2014-10-31")
        spec = {
            "FailoverGlobalCluster": ({"GlobalClusterIdentifier", "TargetDbClusterIdentifier"},
                                      {"AllowDataLoss", "Switchover"}),
            "SwitchoverGlobalCluster": ({"GlobalClusterIdentifier", "TargetDbClusterIdentifier"}, set()),
            "RemoveFromGlobalCluster": ({"GlobalClusterIdentifier", "DbClusterIdentifier"}, set()),
            "DescribeGlobalClusters": (set(), {"GlobalClusterIdentifier", "Marker", "MaxRecords"}),
            "DescribeDBClusters": (set(), {"DBClusterIdentifier", "Marker", "MaxRecords"}),
        }
        if action not in spec:
            return self.error(400, "InvalidAction", f"unknown Action {action!r}")
        required, optional = spec[action]
        missing = required - set(form)
        if missing:
            return self.error(400, "MissingParameter", f"missing {sorted(missing)}")
        extra = set(form) - required - optional
        if extra:
            return self.error(400, "InvalidParameterCombination", f"unknown parameters {sorted(extra)}")
        for flag in ("AllowDataLoss", "Switchover"):
            if flag in form and form[flag] != "true":
                return self.error(400, "InvalidParameterValue", f"{flag} is sent only as true, got {form[flag]!r}")
        with State.lock:
            State.calls[action] = State.calls.get(action, 0) + 1
            State.requests.append({"action": action, "params": form})
            gid = form.get("GlobalClusterIdentifier")
            if gid is not None and gid != State.glob:
                return self.error(404, "GlobalClusterNotFoundFault", f"global cluster {gid} not found")
            if action in ("FailoverGlobalCluster", "SwitchoverGlobalCluster"):
                target = find_member(form["TargetDbClusterIdentifier"])
                if target is None:
                    return self.error(400, "DBClusterNotFoundFault", "the target is not a member")
                if target["writer"]:
                    return self.error(400, "InvalidGlobalClusterStateFault", "the target is already the writer")
                for m in State.members:
                    m["writer"] = m is target
                target["pending_describes"] = State.settle
                return self.ok(action, "<GlobalCluster>" + global_xml() + "</GlobalCluster>")
            if action == "RemoveFromGlobalCluster":
                m = find_member(form["DbClusterIdentifier"])
                if m is None:
                    return self.error(400, "DBClusterNotFoundFault", "not a member")
                State.members.remove(m)
                return self.ok(action, "<GlobalCluster>" + global_xml() + "</GlobalCluster>")
            if action == "DescribeGlobalClusters":
                return self.ok(action, "<GlobalClusters><GlobalClusterMember>" + global_xml() +
                               "</GlobalClusterMember></GlobalClusters>")
            want = form.get("DBClusterIdentifier")
            out = ""
            for m in State.members:
                if want and want not in (m["arn"], ident(m["arn"])):
                    continue
                pending = m.get("pending_describes", 0)
                status = "failing-over" if pending > 0 else "available"
                if pending > 0:
                    m["pending_describes"] = pending - 1
                writer = "true" if m["writer"] and pending == 0 else "false"
                out += (f"<DBCluster><DBClusterIdentifier>{ident(m['arn'])}</DBClusterIdentifier>"
                        f"<DBClusterArn>{m['arn']}</DBClusterArn><Status>{status}</Status>"
                        f"<Engine>aurora-postgresql</Engine><DBClusterMembers><DBClusterMember>"
                        f"<DBInstanceIdentifier>{ident(m['arn'])}-1</DBInstanceIdentifier>"
                        f"<IsClusterWriter>{writer}</IsClusterWriter></DBClusterMember></DBClusterMembers>"
                        f"</DBCluster>")
            if want and not out:
                return self.error(404, "DBClusterNotFoundFault", f"DBCluster {want} not found")
            return self.ok(action, "<DBClusters>" + out + "</DBClusters>")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ready-file", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--key")
    ap.add_argument("--secret")
    ap.add_argument("--state", required=True)
    ap.add_argument("--settle", type=int, default=1)
    a = ap.parse_args()
    st = json.loads(a.state)
    State.glob = st["global"]
    State.members = st["members"]
    State.key, State.secret, State.settle = a.key, a.secret, a.settle
    serve([a.port], Handler, a.ready_file)


if __name__ == "__main__":
    main()
