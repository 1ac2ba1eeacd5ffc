#!/usr/bin/env python3
"""Render vigil's parameterised IAM policies into concrete policy documents.

Usage:
  render.py POLICY.json --values values.json [--set Name=Value ...] [-o OUT]

Substitutes every ${Name} in POLICY.json from the values file and --set
options (--set wins); values the policy does not use are ignored, so one
values file serves both policies. Fails (exit 2) when a placeholder has no
value or when a value could break out of its ARN or widen it (quotes,
backslashes, wildcards, whitespace); exit 0 prints the rendered policy
(pretty JSON) to stdout or OUT.
"""
import argparse
import json
import re
import sys

PLACEHOLDER = re.compile(r"\$\{([A-Za-z][A-Za-z0-9]*)\}")
# Values end up inside ARNs: keep them to the characters ARNs use.
SAFE_VALUE = re.compile(r"^[A-Za-z0-9._:/+=@-]+$")


def render(text: str, values: dict[str, str]) -> str:
    wanted = set(PLACEHOLDER.findall(text))
    missing = sorted(wanted - values.keys())
    if missing:
        raise ValueError("no value for " + ", ".join("${%s}" % m for m in missing))
    # One values file serves every policy: values a policy does not use are ignored.
    values = {k: v for k, v in values.items() if k in wanted}
    for name, value in values.items():
        if not isinstance(value, str) or not SAFE_VALUE.match(value):
            raise ValueError(f"value of {name} must be a non-empty string of [A-Za-z0-9._:/+=@-], got {value!r}")
    out = PLACEHOLDER.sub(lambda m: values[m.group(1)], text)
    doc = json.loads(out)  # still valid JSON after substitution
    return json.dumps(doc, indent=2) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("policy")
    ap.add_argument("--values", help="JSON object of Name -> value")
    ap.add_argument("--set", action="append", default=[], metavar="Name=Value")
    ap.add_argument("-o", "--output")
    args = ap.parse_args(argv)
    try:
        with open(args.policy, encoding="utf-8") as f:
            text = f.read()
        values: dict[str, str] = {}
        if args.values:
            with open(args.values, encoding="utf-8") as f:
                values.update(json.load(f))
        for item in args.set:
            name, sep, value = item.partition("=")
            if not sep:
                raise ValueError(f"--set {item!r}: expected Name=Value")
            values[name] = value
        out = render(text, values)
    except (OSError, ValueError) as e:
        print(f"render.py: {args.policy}: {e}", file=sys.stderr)
        return 2
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(out)
    else:
        sys.stdout.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
