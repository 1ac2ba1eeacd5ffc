#!/usr/bin/env python3
"""A strict fake of IAM's SimulatePrincipalPolicy (python3 stdlib), which moto 5.2 does not implement.

  fake_iam.py --ready-file FILE [--port P] [--key AKID --secret SECRET]
              --principals '["arn:aws:iam::123456789012:role/vigil-actuator", ...]'

Query protocol as the IAM API reference documents it (API version 2010-05-08): POST /,
Content-Type application/x-www-form-urlencoded, form body with Action=SimulatePrincipalPolicy
and Version=2010-05-08, SigV4 Authorization scoped to service "iam" in us-east-1 (IAM is a
global service; verified with --secret). Parameters (shapes of the API's
SimulatePrincipalPolicyRequest):
  PolicySourceArn          required, 20..2048 characters, a user, group or role ARN
  ActionNames.member.N     required (at least one), each 3..128 characters
  ResourceArns.member.N    optional, each 1..2048 characters (absent: "*")
  MaxItems                 optional, 1..1000 (default 100); Marker optional, 1..320 characters
  (the other members of the request shape are accepted and ignored)
What IAM refuses, the fake refuses, with IAM's error XML, counted under "rejected":
  - a missing required parameter or a value outside its length bounds: 400 ValidationError;
  - a wrong Version or an unknown Action: 400 InvalidAction;
  - PolicySourceArn that is not an IAM user, group or role ARN: 400 InvalidInput;
  - a principal that is not in --principals: 404 NoSuchEntity;
  - a bad signature, scope or access key: 403 SignatureDoesNotMatch.
Every action on every resource is "allowed" unless denied through the control endpoint;
results come back one per action and resource, paginated by MaxItems/Marker.

Control endpoints (unsigned, JSON):
  GET  /_fake/state  -> {"calls": n, "requests": [form...], "rejected": [{"code", "message"}], "denied": {...}}
  POST /_fake/deny   {"actions": {"rds:FailoverGlobalCluster": "implicitDeny" | "explicitDeny", ...}}
                     replaces the denied actions ({} allows everything again).
"""
import argparse
import json
import os
import re
import sys
import threading
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_arc import QueryXmlHandler, SigError, check_sigv4, serve  # noqa: E402

NS = "https://iam.amazonaws.com/doc/2010-05-08/"
PRINCIPAL_RE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:(user|group|role)/[\w+=,.@/-]+$")
KNOWN = {"PolicySourceArn", "PolicyInputList", "PermissionsBoundaryPolicyInputList", "PolicyExclusionList",
         "ActionNames", "ResourceArns", "ResourcePolicy", "ResourceOwner", "CallerArn", "ContextEntries",
         "ResourceHandlingOption", "MaxItems", "Marker"}


class State:
    lock = threading.RLock()
    principals = set()
    denied = {}
    calls = 0
    requests = []
    rejected = []
    key = None
    secret = None


class Refused(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def length(name, value, lo, hi):
    if not lo <= len(value) <= hi:
        raise Refused(400, "ValidationError", f"1 validation error detected: Value at '{name}' failed to satisfy "
                                              f"constraint: Member must have length between {lo} and {hi}")


def members(form, name):
    """Name.member.1, Name.member.2, ... in order; stops at the first gap."""
    out = []
    while f"{name}.member.{len(out) + 1}" in form:
        out.append(form[f"{name}.member.{len(out) + 1}"])
    return out


def simulate(form):
    """The evaluation results and the next marker, or raises Refused."""
    src = form.get("PolicySourceArn")
    if src is None:
        raise Refused(400, "ValidationError", "1 validation error detected: Value null at 'policySourceArn' "
                                              "failed to satisfy constraint: Member must not be null")
    length("policySourceArn", src, 20, 2048)
    actions = members(form, "ActionNames")
    if not actions:
        raise Refused(400, "ValidationError", "1 validation error detected: Value null at 'actionNames' "
                                              "failed to satisfy constraint: Member must not be null")
    for a in actions:
        length("actionNames.member", a, 3, 128)
    resources = members(form, "ResourceArns")
    for r in resources:
        length("resourceArns.member", r, 1, 2048)
    max_items = 100
    if "MaxItems" in form:
        if not form["MaxItems"].isdigit() or not 1 <= int(form["MaxItems"]) <= 1000:
            raise Refused(400, "ValidationError", "MaxItems must be an integer in 1..1000")
        max_items = int(form["MaxItems"])
    start = 0
    if "Marker" in form:
        length("marker", form["Marker"], 1, 320)
        if not form["Marker"].isdigit():
            raise Refused(400, "InvalidInput", "the marker is not one this service returned")
        start = int(form["Marker"])
    extra = {k.split(".")[0] for k in form} - KNOWN
    if extra:
        raise Refused(400, "InvalidAction", f"unknown parameters {sorted(extra)}")
    if not PRINCIPAL_RE.match(src):
        raise Refused(400, "InvalidInput", f"PolicySourceArn {src} is not the ARN of an IAM user, group or role")
    if src not in State.principals:
        raise Refused(404, "NoSuchEntity", f"The entity {src} cannot be found.")
    results = [(a, r, State.denied.get(a, "allowed")) for a in actions for r in (resources or ["*"])]
    page = results[start:start + max_items]
    nxt = str(start + max_items) if start + max_items < len(results) else None
    return page, nxt


class Handler(QueryXmlHandler):
    name = "fake_iam"
    request_id = "fake-iam-1"
    ns = NS
    state = State

    def do_GET(self):
        if self.path == "/_fake/state":
            with State.lock:
                doc = {"calls": State.calls, "requests": State.requests, "rejected": State.rejected,
                       "denied": State.denied}
            return self.send(200, json.dumps(doc), "application/json")
        self.error(400, "InvalidAction", "IAM's query API is POST")

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
        if self.path == "/_fake/deny":
            try:
                doc = json.loads(body or b"{}")
                actions = doc["actions"]
                if not isinstance(actions, dict) or any(v not in ("implicitDeny", "explicitDeny")
                                                        for v in actions.values()):
                    raise ValueError("actions: {action: implicitDeny|explicitDeny}")
            except (ValueError, KeyError, TypeError) as e:
                return self.send(400, json.dumps({"error": str(e)}), "application/json")
            with State.lock:
                State.denied = dict(actions)
            return self.send(200, "{}", "application/json")
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip()
        if ctype != "application/x-www-form-urlencoded":
            return self.error(400, "InvalidAction", f"Content-Type must be a form, got {ctype!r}")
        try:
            region = check_sigv4(self, body, "iam", State.key, State.secret)
            if region != "us-east-1":
                raise SigError(f"IAM is signed for us-east-1, not {region}")
        except SigError as e:
            return self.error(403, "SignatureDoesNotMatch", str(e))
        form = dict(parse_qsl(body.decode(), keep_blank_values=True))
        if form.pop("Version", "") != "2010-05-08":
            return self.error(400, "InvalidAction", "Version must be 2010-05-08")
        if form.pop("Action", "") != "SimulatePrincipalPolicy":
            return self.error(400, "InvalidAction", "only SimulatePrincipalPolicy is served")
        with State.lock:
            State.calls += 1
            State.requests.append(form)
            try:
                page, nxt = simulate(form)
            except Refused as r:
                return self.error(r.status, r.code, r.message)
        items = "".join(f"<member><EvalActionName>{escape(a)}</EvalActionName><EvalResourceName>{escape(r)}"
                        f"</EvalResourceName><EvalDecision>{d}</EvalDecision><MatchedStatements/>"
                        "<MissingContextValues/></member>" for a, r, d in page)
        marker = f"<Marker>{nxt}</Marker>" if nxt else ""
        self.send(200, f'<SimulatePrincipalPolicyResponse xmlns="{NS}"><SimulatePrincipalPolicyResult>'
                       f"<IsTruncated>{'true' if nxt else 'false'}</IsTruncated>{marker}"
                       f"<EvaluationResults>{items}</EvaluationResults></SimulatePrincipalPolicyResult>"
                       "<ResponseMetadata><RequestId>fake-iam-1</RequestId></ResponseMetadata>"
                       "</SimulatePrincipalPolicyResponse>")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ready-file", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--key")
    ap.add_argument("--secret")
    ap.add_argument("--principals", default="[]")
    a = ap.parse_args()
    State.principals = set(json.loads(a.principals))
    State.key, State.secret = a.key, a.secret
    serve([a.port], Handler, a.ready_file)


if __name__ == "__main__":
    main()
