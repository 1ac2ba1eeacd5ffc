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

# The metric names vigil exports (engine and agents), as listed in
# docs/metrics.md. Histograms also expose _bucket, _sum and _count series.
GAUGES_AND_COUNTERS = {
    "vigil_region_classification", "vigil_check_state", "vigil_vantage_state",
    "vigil_batches_received_total", "vigil_batches_rejected_total", "vigil_observations_total",
    "vigil_recommendation_state", "vigil_recommendation_age_seconds", "vigil_gate_ok",
    "vigil_leader", "vigil_coordination_healthy",
    "vigil_replication_lag_seconds", "vigil_replication_lag_sample_age_seconds",
    "vigil_plan_runs_total", "vigil_approvals_total", "vigil_pages_total", "vigil_outbox_pending",
    "vigil_probe_success", "vigil_probe_outcomes_total",
    "vigil_agent_batches_total", "vigil_agent_observations_dropped_total", "vigil_agent_batches_pending",
    "vigil_aws_errors_total",
}
HISTOGRAMS = {
    "vigil_tick_duration_seconds", "vigil_plan_step_duration_seconds",
    "vigil_probe_duration_seconds", "vigil_scheduler_lag_seconds",
}
ALLOWED_SERIES = (GAUGES_AND_COUNTERS | HISTOGRAMS | {"up"}
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
