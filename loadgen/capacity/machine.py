"""Where figures were measured: the machine, the tool's version and revision, the database servers.

``machine_info`` goes into every ``step.json``, ``machine_metadata`` into ``capacity.json`` (where
comparisons read it); both are gathered here so that they describe the machine the same way.
"""

from __future__ import annotations

import os
import platform
import shutil
import socket
import sqlite3
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

_REPO = Path(__file__).resolve().parents[2]  # the checkout: loadgen/capacity/machine.py -> ../../..


def tool_version() -> str:
    try:
        from importlib.metadata import version

        return version("jxcbench")
    except Exception:  # noqa: BLE001 - not installed (running from a checkout): say so
        return "unknown (not installed)"


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


def machine_info() -> dict[str, Any]:
    import psutil

    from importlib.metadata import PackageNotFoundError, version

    try:  # never ``import locust`` here: it monkey-patches the whole process for gevent
        locust_version = version("locust")
    except PackageNotFoundError:
        locust_version = None
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             cwd=_REPO, timeout=5).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        rev = None
    return {"hostname": platform.node(), "platform": platform.platform(), "python": platform.python_version(),
            "cpus": os.cpu_count(), "memory_bytes": psutil.virtual_memory().total, "processor": platform.processor(),
            "locust": locust_version, "git_revision": rev}


__all__ = ["db_server_versions", "git_revision", "machine_info", "machine_metadata", "tool_version"]
