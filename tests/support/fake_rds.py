#!/usr/bin/env python3
"""A strict fake of the RDS Aurora global database calls moto 5.2 cannot do.

  fake_rds.py --ready-file FILE [--port P] [--key AKID --secret SECRET]
              --state '{"global": "g", "members": [{"arn": ..., "writer": true}, ...]}'
              [--settle N]

A member is {"arn", "writer": bool, "status": "available" (default) or anything
else (the cluster or its region is down), "instances": N (DB instances, default
1; 0 = a "headless" secondary with no instance that could become the writer)}.

Query protocol as AWS documents it: POST, Content-Type
application/x-www-form-urlencoded, form body with Action and Version=2014-10-31,
SigV4 Authorization scoped to service "rds" (verified with --secret).
Actions:
  FailoverGlobalCluster    GlobalClusterIdentifier, TargetDbClusterIdentifier (both required),
                           AllowDataLoss / Switchover only as "true" (an SDK sends them only when
                           set) and never both. Without AllowDataLoss it is a switchover.
  SwitchoverGlobalCluster  GlobalClusterIdentifier, TargetDbClusterIdentifier
  RemoveFromGlobalCluster  GlobalClusterIdentifier, DbClusterIdentifier
  DescribeGlobalClusters   [GlobalClusterIdentifier]   (reflects failovers)
  DescribeDBClusters       [DBClusterIdentifier]       (the promoted cluster is "failing-over"
                           for --settle describes, then "available" with a writer instance;
                           a headless cluster lists no DBClusterMembers)
Any other parameter, a missing one or a wrong Version is a 400 with AWS's
error XML and counted under "rejected".

What AWS refuses, the fake refuses (400, counted under "rejected", nothing changes):
  - the global cluster is not "available" (a failover or switchover in progress):
    InvalidGlobalClusterStateFault;
  - the target is not a member: DBClusterNotFoundFault; it is the writer already:
    InvalidGlobalClusterStateFault; it is not available or has no DB instance:
    InvalidDBClusterStateFault;
  - a switchover (SwitchoverGlobalCluster, or FailoverGlobalCluster without
    AllowDataLoss) while the primary (writer) cluster is not available: a switchover
    needs both regions, so InvalidDBClusterStateFault.
Outcome of an accepted promotion: the target becomes the writer. After a switchover,
or a failover with AllowDataLoss while the old primary is up, the old primary stays
as a secondary. After a failover with AllowDataLoss while the old primary is down it
is left out of the global cluster ("removed" in the state) until POST /_fake/recover.

Control endpoints (unsigned, JSON; for tests and game days):
  GET  /_fake/state    -> {"calls": {action: n}, "requests": [{"action", "params"}],
                           "rejected": [{"code", "message"}], "members": [...],
                           "removed": [...], "global_status": "available"}
  POST /_fake/state    {"members": [...]} replaces the members (and empties "removed");
                       {"global_status": "failing-over"} sets the global cluster's status.
                       Either key may be given alone.
  POST /_fake/member   {"arn": ARN or identifier, "status": "...", "instances": N}:
                       marks one member (or removed cluster) down/up, or headless.
  POST /_fake/region   {"region": "us-east-1", "status": "unavailable"}: every cluster
                       whose ARN names that region gets that status (a regional outage).
  POST /_fake/recover  {"arn": ARN or identifier}: the old primary comes back: status
                       available, re-added to the global cluster as a secondary.
Each control answers 200 {"members": [...], "removed": [...]} or 400 {"error": why}.
"""
import argparse
import json
import sys
import threading
from urllib.parse import parse_qsl

from fake_arc import QueryXmlHandler, SigError, check_sigv4, serve

NS = "http://rds.amazonaws.com/doc/2014-10-31/"


class State:
    lock = threading.RLock()
    glob = "global"
    global_status = "available"
    members = []  # {"arn", "writer", "status", "instances", "pending_describes"}
    removed = []  # old primaries left out by a failover with AllowDataLoss
    calls = {}
    requests = []
    rejected = []
    key = None
    secret = None
    settle = 1


class Refused(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


def ident(arn):
    return arn.rsplit(":", 1)[-1]


def names(m, name):
    return m["arn"] == name or ident(m["arn"]) == name


def find_member(name):
    for m in State.members:
        if names(m, name):
            return m
    return None


def up(m):
    return m.get("status", "available") == "available"


def normalise(members):
    for m in members:
        if not isinstance(m, dict) or not isinstance(m.get("arn"), str):
            raise ValueError("each member needs an arn")
        m["writer"] = bool(m.get("writer", False))
        m.setdefault("status", "available")
        m.setdefault("instances", 1)
    return members


def global_xml():
    members = ""
    for m in State.members:
        readers = "".join(f"<member>{o['arn']}</member>" for o in State.members if o is not m) if m["writer"] else ""
        sync = "connected" if up(m) else "pending-resync"
        members += (f"<GlobalClusterMember><DBClusterArn>{m['arn']}</DBClusterArn><Readers>{readers}</Readers>"
                    f"<IsWriter>{'true' if m['writer'] else 'false'}</IsWriter>"
                    f"<SynchronizationStatus>{sync}</SynchronizationStatus></GlobalClusterMember>")
    return (f"<GlobalClusterIdentifier>{State.glob}</GlobalClusterIdentifier>"
            f"<GlobalClusterArn>arn:aws:rds::123456789012:global-cluster:{State.glob}</GlobalClusterArn>"
            f"<Status>{State.global_status}</Status><Engine>aurora-postgresql</Engine>"
            f"<EngineVersion>15.4</EngineVersion><GlobalClusterMembers>{members}</GlobalClusterMembers>")


def db_cluster_xml(m):
    pending = m.get("pending_describes", 0)
    status = m["status"] if not up(m) else ("failing-over" if pending > 0 else "available")
    if pending > 0:
        m["pending_describes"] = pending - 1
    instances = ""
    for i in range(int(m.get("instances", 1))):
        writer = "true" if i == 0 and m["writer"] and pending == 0 else "false"
        instances += (f"<DBClusterMember><DBInstanceIdentifier>{ident(m['arn'])}-{i + 1}</DBInstanceIdentifier>"
                      f"<IsClusterWriter>{writer}</IsClusterWriter></DBClusterMember>")
    return (f"<DBCluster><DBClusterIdentifier>{ident(m['arn'])}</DBClusterIdentifier>"
            f"<DBClusterArn>{m['arn']}</DBClusterArn><Status>{status}</Status>"
            f"<Engine>aurora-postgresql</Engine><DBClusterMembers>{instances}</DBClusterMembers></DBCluster>")


def promote(action, form):
    """Checks a failover/switchover as AWS does; raises Refused or changes the members."""
    loss = form.get("AllowDataLoss") == "true"
    switchover = action == "SwitchoverGlobalCluster" or not loss
    if State.global_status != "available":
        raise Refused("InvalidGlobalClusterStateFault",
                      f"global cluster {State.glob} is {State.global_status}, not available")
    target = find_member(form["TargetDbClusterIdentifier"])
    if target is None:
        raise Refused("DBClusterNotFoundFault",
                      f"{form['TargetDbClusterIdentifier']} is not a secondary cluster of {State.glob}")
    if target["writer"]:
        raise Refused("InvalidGlobalClusterStateFault", f"{target['arn']} is already the primary cluster")
    if not up(target):
        raise Refused("InvalidDBClusterStateFault", f"{target['arn']} is {target['status']}, not available")
    if int(target.get("instances", 1)) == 0:
        raise Refused("InvalidDBClusterStateFault", f"{target['arn']} has no DB instance to promote")
    primary = next((m for m in State.members if m["writer"]), None)
    if switchover and (primary is None or not up(primary)):
        what = primary["arn"] + " is " + primary["status"] if primary else "there is no primary cluster"
        raise Refused("InvalidDBClusterStateFault",
                      f"a switchover needs the primary cluster available: {what}; fail over with AllowDataLoss")
    for m in State.members:
        m["writer"] = m is target
    target["pending_describes"] = State.settle
    if loss and primary is not None and not up(primary):
        State.members.remove(primary)
        State.removed.append(primary)


class Handler(QueryXmlHandler):
    name = "fake_rds"
    request_id = "fake-rds-1"
    ns = NS
    state = State

    def ok(self, action, inner):
        self.send(200, f"<{action}Response xmlns=\"{NS}\"><{action}Result>{inner}</{action}Result>"
                       f"<ResponseMetadata><RequestId>fake-rds-1</RequestId></ResponseMetadata></{action}Response>")

    def send_json(self, status, doc):
        self.send(status, json.dumps(doc), "application/json")

    def do_GET(self):
        if self.path == "/_fake/state":
            with State.lock:
                self.send_json(200, {"calls": State.calls, "requests": State.requests, "rejected": State.rejected,
                                     "members": State.members, "removed": State.removed,
                                     "global_status": State.global_status})
            return
        self.error(400, "InvalidAction", "GET is not used by vigil")

    def control(self, path, doc):
        """The /_fake/* endpoints; raises ValueError(why) on a bad request."""
        if path == "/_fake/state":
            if "members" in doc:
                State.members = normalise(doc["members"])
                State.removed = []
            if "global_status" in doc:
                State.global_status = str(doc["global_status"])
            return
        if path == "/_fake/member":
            m = next((x for x in State.members + State.removed if names(x, doc.get("arn", ""))), None)
            if m is None:
                raise ValueError(f"no cluster {doc.get('arn')!r}")
            if "status" in doc:
                m["status"] = str(doc["status"])
            if "instances" in doc:
                m["instances"] = int(doc["instances"])
            return
        if path == "/_fake/region":
            region = doc.get("region", "")
            hit = [m for m in State.members + State.removed if f":{region}:" in m["arn"]]
            if not region or not hit:
                raise ValueError(f"no cluster in region {region!r}")
            for m in hit:
                m["status"] = str(doc.get("status", "unavailable"))
            return
        if path == "/_fake/recover":
            m = next((x for x in State.members + State.removed if names(x, doc.get("arn", ""))), None)
            if m is None:
                raise ValueError(f"no cluster {doc.get('arn')!r}")
            m["status"] = "available"
            if m in State.removed:
                State.removed.remove(m)
                m["writer"] = False
                State.members.append(m)
            return
        raise ValueError(f"unknown control {path}")

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
        if self.path.startswith("/_fake/"):
            with State.lock:
                try:
                    doc = json.loads(body or b"{}")
                    if not isinstance(doc, dict):
                        raise ValueError("expected a JSON object")
                    self.control(self.path, doc)
                except (ValueError, TypeError) as e:
                    return self.send_json(400, {"error": str(e)})
                return self.send_json(200, {"members": State.members, "removed": State.removed})
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
        if "AllowDataLoss" in form and "Switchover" in form:
            return self.error(400, "InvalidParameterCombination", "AllowDataLoss and Switchover exclude each other")
        with State.lock:
            State.calls[action] = State.calls.get(action, 0) + 1
            State.requests.append({"action": action, "params": form})
            gid = form.get("GlobalClusterIdentifier")
            if gid is not None and gid != State.glob:
                return self.error(404, "GlobalClusterNotFoundFault", f"global cluster {gid} not found")
            if action in ("FailoverGlobalCluster", "SwitchoverGlobalCluster"):
                try:
                    promote(action, form)
                except Refused as r:
                    return self.error(400, r.code, r.message)
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
            out = "".join(db_cluster_xml(m) for m in State.members + State.removed if not want or names(m, want))
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
    State.members = normalise(st["members"])
    State.global_status = st.get("global_status", "available")
    State.key, State.secret, State.settle = a.key, a.secret, a.settle
    serve([a.port], Handler, a.ready_file)


if __name__ == "__main__":
    main()
