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
