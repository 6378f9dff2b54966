"""A test-side JSON Schema of capacity.json, written from the results contract in DESIGN.md.

Kept apart from loadgen/capacity/results.py on purpose: it checks the writer against the contract, not
against itself. Extra fields are allowed (the contract says "add fields freely"); the contract's
names and types are required.
"""

from __future__ import annotations

NUM = {"type": "number"}
NUM_OR_NULL = {"type": ["number", "null"]}
INT_OR_NULL = {"type": ["integer", "null"]}

STEP = {
    "type": "object",
    "required": ["customers", "operators", "duration_s", "requests", "rps", "error_rate", "passed",
                 "latency_ms", "operations", "resources", "valid", "invalid_reason"],
    "properties": {
        "customers": {"type": "integer", "minimum": 0},
        "operators": INT_OR_NULL,
        "duration_s": NUM,
        "requests": {"type": "integer", "minimum": 0},
        "rps": NUM,
        "error_rate": {"type": "number", "minimum": 0, "maximum": 1},
        "passed": {"type": "boolean"},
        "latency_ms": {
            "type": "object",
            "required": ["p50", "p95", "p99", "max"],
            "properties": {k: NUM_OR_NULL for k in ("p50", "p95", "p99", "max")},
        },
        "operations": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["requests", "p95_ms", "errors"],
                "properties": {"requests": {"type": "integer"}, "p95_ms": NUM_OR_NULL, "errors": {"type": "integer"}},
            },
        },
        "resources": {
            "type": "object",
            "required": ["app_cpu_pct", "db_cpu_pct", "loadgen_cpu_pct", "app_rss_mb", "db_rss_mb", "db_bytes"],
            "properties": {k: NUM_OR_NULL for k in ("app_cpu_pct", "db_cpu_pct", "loadgen_cpu_pct", "app_rss_mb", "db_rss_mb", "db_bytes")},
        },
        "valid": {"type": "boolean"},
        "invalid_reason": {"type": ["string", "null"]},
    },
}

PROFILE_ENTRY = {
    "type": "object",
    "required": ["name", "profile", "max_customers", "first_failing_customers", "projected_max_customers",
                 "projection", "limiting_factor", "steps"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "profile": {"type": "object", "required": ["slo", "sweep"]},
        "max_customers": INT_OR_NULL,
        "first_failing_customers": INT_OR_NULL,
        "first_failing_unproven": {"type": ["string", "null"]},
        "projected_max_customers": INT_OR_NULL,
        "projection": {"type": ["object", "null"]},
        "limiting_factor": {
            "type": ["object", "null"],
            "required": ["resource", "operation", "detail"],
            "properties": {"resource": {"type": ["string", "null"]}, "operation": {"type": ["string", "null"]},
                           "detail": {"type": "string"}},
        },
        "steps": {"type": "array", "items": STEP},
    },
}

CAPACITY = {
    "type": "object",
    "required": ["schema", "tool_version", "machine", "created", "profiles"],
    "properties": {
        "schema": {"const": 1},
        "tool_version": {"type": "string"},
        "machine": {
            "type": "object",
            "required": ["host", "cpu_model", "cpu_cores", "memory_bytes", "os", "python", "git_revision", "db_servers"],
            "properties": {"host": {"type": "string"}, "cpu_cores": {"type": "integer"}, "python": {"type": "string"},
                           "db_servers": {"type": "object", "additionalProperties": {"type": "string"}}},
        },
        "created": {"type": "string", "format": "date-time"},
        "partial": {"type": "boolean"},
        "profiles": {"type": "array", "items": PROFILE_ENTRY},
    },
}
