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
import platform
import shutil
import socket
import sqlite3
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from loadgen.errors import JxcError

SCHEMA = 1
CAPACITY_FILE = "capacity.json"
STEPS_CSV = "steps.csv"
_REPO = Path(__file__).resolve().parents[2]  # the checkout: loadgen/capacity/results.py -> ../../..


class ResultsError(JxcError):
    """A results file that cannot be read: missing, not JSON, or of an unknown schema version."""


def tool_version() -> str:
    try:
        from importlib.metadata import version

        return version("jxcbench")
    except Exception:  # noqa: BLE001 - not installed (running from a checkout): say so
        return "unknown (not installed)"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# --- machine metadata ----------------------------------------------------------------------------


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _run(cmd: Sequence[str]) -> str | None:
    try:
        done = subprocess.run(list(cmd), capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    text = (done.stdout or done.stderr).strip()
    return text.splitlines()[0] if done.returncode == 0 and text else None


def git_revision() -> str | None:
    """HEAD of the jxcbench checkout, with ``-dirty`` when tracked files differ from it."""
    if not (_REPO / ".git").exists():
        return None
    rev = _run(["git", "-C", str(_REPO), "rev-parse", "HEAD"])
    if rev is None:
        return None
    dirty = _run(["git", "-C", str(_REPO), "status", "--porcelain", "--untracked-files=no"])
    return rev + ("-dirty" if dirty else "")


def db_server_versions(engines: Iterable[str], steps: Iterable[Mapping] = ()) -> dict[str, str]:
    """Database server versions, where known.

    A step may report the version of the server it measured (``db_version`` / ``db_server_version``,
    at the top level or under ``system``/``sut``); that wins. Otherwise: SQLite is the library this
    Python links (what the app uses), PostgreSQL/MariaDB the binaries found on this machine, labelled
    as such because an external server (a URL) may run another version.
    """
    found: dict[str, str] = {}
    for step in steps:
        for holder in (step, step.get("system") or {}, step.get("sut") or {}):
            if not isinstance(holder, Mapping):
                continue
            version = holder.get("db_version") or holder.get("db_server_version")
            engine = holder.get("db_engine") or holder.get("engine")
            if version and engine:
                found.setdefault(str(engine), str(version))
    for engine in set(engines) - set(found):
        if engine == "sqlite":
            found[engine] = f"SQLite {sqlite3.sqlite_version} (library linked by Python)"
        elif engine == "postgresql":
            v = _run(["pg_config", "--version"]) if shutil.which("pg_config") else None
            if v:
                found[engine] = f"{v} (pg_config on this machine)"
        elif engine == "mysql":
            for binary in ("mariadbd", "mysqld", "/usr/sbin/mariadbd", "/usr/sbin/mysqld"):
                if shutil.which(binary):
                    v = _run([shutil.which(binary), "--version"])
                    if v:
                        found[engine] = f"{v} (binary on this machine)"
                        break
    return found


def machine_metadata(engines: Iterable[str] = (), steps: Iterable[Mapping] = ()) -> dict:
    """Where the figures were measured: host, CPU, memory, OS, Python, git revision, DB versions."""
    try:
        import psutil

        memory = psutil.virtual_memory().total
        physical = psutil.cpu_count(logical=False)
    except Exception:  # noqa: BLE001 - psutil missing or unsupported platform
        memory, physical = None, None
    return {
        "host": socket.gethostname(),
        "cpu_model": _cpu_model(),
        "cpu_cores": os.cpu_count(),
        "cpu_physical_cores": physical,
        "memory_bytes": memory,
        "os": platform.platform(),
        "python": platform.python_version(),
        "git_revision": git_revision(),
        "db_servers": db_server_versions(engines, steps),
    }


# --- limiting factor -----------------------------------------------------------------------------

_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1024, "m": 1000**2, "mb": 1000**2, "mib": 1024**2,
          "g": 1000**3, "gb": 1000**3, "gib": 1024**3, "t": 1000**4, "tb": 1000**4, "tib": 1024**4}


def _bytes(value: object) -> float | None:
    """A memory size as bytes from an int (bytes) or a string with units (``2GiB``, ``512MB``)."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip().lower().replace(" ", "")
    number = text.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = text[len(number):]
    try:
        return float(number) * _UNITS[unit]
    except (ValueError, KeyError):
        return None


def _threshold(slo: Mapping, operation: str, key: str) -> float | None:
    override = (slo.get("operations") or {}).get(operation) or {}
    value = override.get(key) if isinstance(override, Mapping) else None
    return value if value is not None else slo.get(key)


def limiting_factor(step: Mapping, profile: Mapping, machine_cores: int | None = None) -> dict | None:
    """What broke first at a failing step: the operation furthest over its SLO and the busiest resource.

    A step records no timeline, so "first" is read as "furthest over": the operation with the largest
    latency / threshold ratio (p95, and p99 where the step reports it), or the error rate when no
    latency crossed. Resources are compared as a fraction of what the profile grants: CPU percent
    (100 = one core) over the CPU quota (or this machine's cores when unconstrained), memory (RSS of
    app + database) over the memory limit.
    """
    if not step or step.get("passed") or not step.get("valid", True):
        return None
    slo = profile.get("slo") or {}
    worst: tuple[float, str, str] | None = None
    for name, op in (step.get("operations") or {}).items():
        for key, field in (("p95_ms", "p95_ms"), ("p99_ms", "p99_ms")):
            value, threshold = op.get(field), _threshold(slo, name, key)
            if value is None or not threshold:
                continue
            ratio = value / threshold
            if ratio > 1 and (worst is None or ratio > worst[0]):
                worst = (ratio, name, f"{name} {key[:3]} {value:.0f} ms > {threshold:g} ms")
    if worst is None:
        latency = step.get("latency_ms") or {}
        for key in ("p95_ms", "p99_ms"):
            value, threshold = latency.get(key[:3]), slo.get(key)
            if value is not None and threshold and value > threshold:
                ratio = value / threshold
                if worst is None or ratio > worst[0]:
                    worst = (ratio, "all", f"overall {key[:3]} {value:.0f} ms > {threshold:g} ms")
    error_budget = slo.get("error_rate")
    if worst is None and error_budget is not None and (step.get("error_rate") or 0) > error_budget:
        ops = step.get("operations") or {}
        name = max(ops, key=lambda n: ops[n].get("errors") or 0) if ops else "all"
        worst = (0.0, name, f"error rate {step['error_rate']:.1%} > {error_budget:.1%} (most errors: {name})")

    resources = step.get("resources") or {}
    hardware = profile.get("hardware") or {}
    cpus = hardware.get("cpus") or machine_cores or os.cpu_count() or 1
    memory_limit = _bytes(hardware.get("memory"))
    usage: dict[str, float] = {}
    for name, key in (("app_cpu", "app_cpu_pct"), ("db_cpu", "db_cpu_pct")):
        if resources.get(key) is not None:
            usage[name] = resources[key] / (100.0 * cpus)
    rss = [resources.get(k) for k in ("app_rss_mb", "db_rss_mb") if resources.get(k) is not None]
    if rss and memory_limit:
        usage["memory"] = sum(rss) * 1024 * 1024 / memory_limit
    resource = max(usage, key=usage.get) if usage else None
    parts = [worst[2]] if worst else ["the SLO failed (no operation over its threshold recorded)"]
    if usage:
        parts.append(", ".join(f"{k} {v:.0%}" for k, v in sorted(usage.items(), key=lambda kv: -kv[1])) + " of the profile's allowance")
    return {
        "resource": resource,
        "operation": worst[1] if worst else None,
        "detail": f"at {step.get('customers')} customers: " + "; ".join(parts),
    }


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
    "limiting_factor",
    "load_capacity",
    "machine_metadata",
    "steps_rows",
    "write_capacity",
    "write_steps_csv",
]
