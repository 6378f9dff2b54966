"""The sweep's results files: ``capacity.json`` (the public contract, schema 1) and ``steps.csv``.

Field names follow /work/shared/DESIGN.md "Results contract"; fields may be added, none renamed
without bumping ``SCHEMA``. Files are written atomically (temp file + rename) so a sweep killed while
writing leaves the previous complete file, never a torn one. Reading a file of another schema version
fails with a message saying which version this jxcbench reads.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from loadgen.capacity.machine import machine_metadata, tool_version
from loadgen.errors import JxcError

SCHEMA = 1
CAPACITY_FILE = "capacity.json"
STEPS_CSV = "steps.csv"


class ResultsError(JxcError):
    """A results file that cannot be read: missing, not JSON, or of an unknown schema version."""


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# --- capacity.json and steps.csv ------------------------------------------------------------------


def capacity_document(profiles: Sequence[Mapping], *, machine: Mapping, partial: bool, created: str | None = None) -> dict:
    """The ``capacity.json`` object around per-profile entries (see :func:`loadgen.capacity.sweep`)."""
    return {
        "schema": SCHEMA,
        "tool_version": tool_version(),
        "machine": dict(machine),
        "created": created or now_iso(),
        "updated": now_iso(),
        "partial": partial,
        "profiles": list(profiles),
    }


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_capacity(out: Path, doc: Mapping) -> Path:
    path = Path(out) / CAPACITY_FILE
    _atomic_write(path, json.dumps(doc, indent=2, sort_keys=False) + "\n")
    return path


STEP_COLUMNS = [
    "profile", "search", "phase", "customers", "operators", "repeat", "valid", "passed", "early_stopped",
    "invalid_reason", "duration_s", "requests", "rps", "error_rate",
    "p50_ms", "p95_ms", "p99_ms", "max_ms",
    "app_cpu_pct", "db_cpu_pct", "loadgen_cpu_pct", "app_rss_mb", "db_rss_mb", "db_bytes", "dir",
    # added after the columns above (whose order readers may rely on): the real window, which is
    # duration_s unless the step was stopped early, and why it was stopped
    "measured_s", "stopped_early_reason",
    # added with confidence-bound verdicts: pass / fail / inconclusive, the extension the window
    # took, the operations too rare to judge, the closed loop as measured (Little's law)
    "verdict", "extension_s", "unjudged_operations", "inconclusive_reason",
    "operators_active", "login_failures", "timed_out_at_end", "littles_law_ratio",
]


def steps_rows(doc: Mapping) -> list[dict]:
    rows = []
    for entry in doc.get("profiles", []):
        for step in entry.get("steps", []):
            latency = step.get("latency_ms") or {}
            resources = step.get("resources") or {}
            row = {k: step.get(k) for k in STEP_COLUMNS}
            row["profile"] = entry.get("name")
            row.update({f"{k}_ms": latency.get(k) for k in ("p50", "p95", "p99", "max")})
            row.update({k: resources.get(k) for k in ("app_cpu_pct", "db_cpu_pct", "loadgen_cpu_pct", "app_rss_mb", "db_rss_mb", "db_bytes")})
            # steps written before early stop existed ran their whole window
            row["measured_s"] = step.get("measured_s", step.get("duration_s"))
            row["stopped_early_reason"] = (step.get("stopped_early") or {}).get("reason")
            row["unjudged_operations"] = " ".join(
                f"{op}:{'/'.join(u.get('percentiles', []))}" for op, u in (step.get("unjudged_operations") or {}).items()) or None
            row["littles_law_ratio"] = (step.get("littles_law") or {}).get("ratio")
            rows.append(row)
    return rows


def write_steps_csv(out: Path, doc: Mapping) -> Path:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=STEP_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(steps_rows(doc))
    path = Path(out) / STEPS_CSV
    _atomic_write(path, buf.getvalue())
    return path


def load_capacity(path: Path) -> dict:
    """Read ``capacity.json`` (a file, or a directory holding one); refuse unknown schema versions."""
    path = Path(path)
    if path.is_dir():
        path = path / CAPACITY_FILE
    if not path.is_file():
        raise ResultsError(f"{path}: no such results file (a sweep writes {CAPACITY_FILE} into its --out directory)")
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ResultsError(f"{path}: not readable JSON: {exc}") from None
    schema = doc.get("schema") if isinstance(doc, dict) else None
    if schema != SCHEMA:
        raise ResultsError(
            f"{path}: schema {schema!r} is not supported; this jxcbench ({tool_version()}) reads schema {SCHEMA}"
        )
    return doc


__all__ = [
    "CAPACITY_FILE",
    "SCHEMA",
    "STEPS_CSV",
    "ResultsError",
    "capacity_document",
    "load_capacity",
    "machine_metadata",
    "steps_rows",
    "write_capacity",
    "write_steps_csv",
]
