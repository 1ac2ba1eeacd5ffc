"""Shared helpers for the deploy/ tests (python3 stdlib + PyYAML only).

The tests run from this directory (ctest sets WORKING_DIRECTORY) and find the
repository through VIGIL_SOURCE_DIR (set by tests/deploy/CMakeLists.txt), or
relative to this file when run by hand:
    cd tests/deploy && python3 -m unittest -v test_prometheus_rules
"""
import os
import pathlib
import re
import shutil
import subprocess

import yaml

SOURCE_DIR = pathlib.Path(os.environ.get("VIGIL_SOURCE_DIR") or pathlib.Path(__file__).resolve().parents[2])
DEPLOY = SOURCE_DIR / "deploy"

def documented_metrics() -> dict[str, str]:
    """{name: type} of every metric row in docs/metrics.md. That document is
    checked against the real engine and agent expositions by
    tests/integration/docs_check, and deploy.rules_exported checks the rules'
    label values against a real exposition too."""
    out = {}
    text = (SOURCE_DIR / "docs" / "metrics.md").read_text(encoding="utf-8")
    for m in re.finditer(r"^\|\s*`((?:vigil|process)_[a-z0-9_]+)`\s*\|\s*([a-z]+)\s*\|", text, re.M):
        out[m.group(1)] = m.group(2)
    return out


_DOCUMENTED = documented_metrics()
HISTOGRAMS = {n for n, kind in _DOCUMENTED.items() if kind == "histogram"}
# Histograms also expose _bucket, _sum and _count series; `up` is Prometheus's.
ALLOWED_SERIES = (set(_DOCUMENTED) | {"up"}
                  | {h + s for h in HISTOGRAMS for s in ("_bucket", "_sum", "_count")})

_PROMQL_WORDS = {
    # functions
    "abs", "absent", "absent_over_time", "avg_over_time", "ceil", "changes", "clamp", "clamp_max",
    "clamp_min", "count_over_time", "day_of_month", "day_of_week", "delta", "deriv", "exp", "floor",
    "histogram_quantile", "holt_winters", "hour", "idelta", "increase", "irate", "label_join",
    "label_replace", "last_over_time", "ln", "log2", "log10", "max_over_time", "min_over_time",
    "minute", "month", "predict_linear", "present_over_time", "quantile_over_time", "rate", "resets",
    "round", "scalar", "sgn", "sort", "sort_desc", "sqrt", "stddev_over_time", "stdvar_over_time",
    "sum_over_time", "time", "timestamp", "vector", "year",
    # aggregations and keywords
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk",
    "topk", "quantile", "by", "without", "on", "ignoring", "group_left", "group_right", "offset",
    "bool", "and", "or", "unless", "inf", "nan",
}


def promql_series_names(expr: str) -> set[str]:
    """The metric names an expression selects (identifiers that are not
    functions, keywords, label names or label values)."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)  # string literals
    e = re.sub(r"\{[^}]*\}", "", e)                                            # label matchers
    e = re.sub(r"\[[^\]]*\]", "", e)                                           # ranges, subqueries
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", e)
    e = re.sub(r"\$\{?\w+\}?", "", e)                                          # Grafana variables
    names = set()
    for m in re.finditer(r"(?<![\w.])([A-Za-z_:][A-Za-z0-9_:]*)", e):
        word = m.group(1)
        if word.lower() in _PROMQL_WORDS:
            continue
        if re.fullmatch(r"\d+(ms|s|m|h|d|w|y)", word):
            continue
        names.add(word)
    return names


def load_yaml_docs(path: pathlib.Path) -> list:
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=kw.pop("timeout", 120), **kw)


def tool(testcase, name: str, required: bool = True):
    """Path of an external tool. A required tool that is missing fails the
    test (scripts/install-deps.sh installs it); an optional one returns None
    after printing a note."""
    path = shutil.which(name)
    if path is None:
        if required:
            testcase.fail(f"{name} not found on PATH: run scripts/install-deps.sh")
        print(f"note: {name} not found; that sub-check is not run")
    return path
