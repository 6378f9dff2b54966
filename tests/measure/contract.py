"""A test-side check of step.json against the results contract (field names and types)."""

from __future__ import annotations

NUM = (int, float)

CONTRACT = {
    "schema": int, "customers": int, "operators": int, "duration_s": NUM, "requests": int, "rps": NUM,
    "error_rate": NUM, "passed": bool, "latency_ms": dict, "operations": dict, "resources": dict,
    "valid": bool, "invalid_reason": (str, type(None)),
}
LATENCY = ("p50", "p95", "p99", "max")
OPERATION = {"requests": int, "p95_ms": NUM, "errors": int}
RESOURCES = ("app_cpu_pct", "db_cpu_pct", "loadgen_cpu_pct", "app_rss_mb", "db_rss_mb", "db_bytes")


def check_step(step: dict) -> None:
    for key, typ in CONTRACT.items():
        assert key in step, f"step.json lacks {key!r}"
        assert isinstance(step[key], typ) and not (typ is int and isinstance(step[key], bool)), \
            f"step.json {key!r} is {type(step[key]).__name__}: {step[key]!r}"
    assert step["schema"] == 1
    for k in LATENCY:
        assert isinstance(step["latency_ms"][k], NUM), f"latency_ms.{k} = {step['latency_ms'].get(k)!r}"
    assert step["latency_ms"]["p50"] <= step["latency_ms"]["p95"] <= step["latency_ms"]["p99"] <= step["latency_ms"]["max"]
    for name, op in step["operations"].items():
        for key, typ in OPERATION.items():
            assert isinstance(op.get(key), typ), f"operations.{name}.{key} = {op.get(key)!r}"
    for k in RESOURCES:
        assert k in step["resources"], f"resources lacks {k!r}"
        v = step["resources"][k]
        assert v is None or isinstance(v, NUM), f"resources.{k} = {v!r}"
    assert step["valid"] == (step["invalid_reason"] is None)
    if not step["valid"]:
        assert step["passed"] is False
    # confidence-bound verdicts (issue 12): present on every step written since
    assert step["verdict"] in ("pass", "fail", "inconclusive")
    assert step["passed"] == (step["valid"] and step["verdict"] == "pass")
    for name, op in step["operations"].items():
        assert op["verdict"] in ("pass", "fail", "inconclusive"), f"operations.{name}.verdict"
        for k in ("p95_ci_ms", "p99_ci_ms"):
            low, high = op[k]
            assert low is None or high is None or low <= op[k[:3] + "_ms"] <= high, f"operations.{name}.{k} = {op[k]}"
    assert isinstance(step["unjudged_operations"], dict)
    assert isinstance(step["login_failures"], int) and isinstance(step["operators_active"], int)
    if step.get("model") == "closed" and step["valid"] and step["requests"]:
        assert step["operators_active"] == step["operators"]
        law = step["littles_law"]
        assert law is None or law["ratio"] is None or law["ratio"] > 0
