"""Settle a database before it is measured: checkpoint, analyse, and wait until its I/O is quiet.

Right after a restore or a grow the database still has work of its own to do — a WAL to fold back,
dirty pages to write, statistics that describe the previous size — and left alone it does that work
inside the next measured window. :func:`settle` does it first, and bounded:

1. **analyse** (fresh planner statistics): SQLite ``ANALYZE``, PostgreSQL ``ANALYZE``, MariaDB
   ``ANALYZE TABLE`` of every table;
2. **checkpoint**: SQLite ``wal_checkpoint(TRUNCATE)`` and an fsync of the database file,
   PostgreSQL ``CHECKPOINT``, MariaDB ``FLUSH TABLES``;
3. **wait for quiet I/O**: the bytes the database server's processes read and write (psutil, every
   ``interval_s``) until they stay under ``quiet_bytes_per_s`` for ``quiet_for_s``, at most
   ``max_s``. SQLite has no server: once its file is checkpointed and fsynced nothing of it is left
   to write, so it is quiet at once.

A step that could not be settled (a statement refused — e.g. ``CHECKPOINT`` needs a superuser on an
external server —, or I/O still busy at ``max_s``) is measured anyway; the result says so.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import create_engine, text

from reference_app.db import backend_of, normalise_url

MAX_S = 30.0
QUIET_BYTES_PER_S = 1 << 20   # 1 MiB/s
QUIET_FOR_S = 2.0


def _statements(conn, backend: str) -> tuple[list[str], list[str]]:
    if backend == "sqlite":
        return ["ANALYZE"], ["PRAGMA wal_checkpoint(TRUNCATE)"]
    if backend == "postgresql":
        return ["ANALYZE"], ["CHECKPOINT"]
    tables = [r[0] for r in conn.execute(text("SHOW FULL TABLES WHERE Table_type = 'BASE TABLE'"))]
    analyse = [f"ANALYZE TABLE {', '.join(f'`{t}`' for t in tables)}"] if tables else []
    return analyse, ["FLUSH TABLES"]


def _run(url: str, backend: str) -> tuple[list[str], list[str]]:
    """Analyse, then checkpoint; returns (done, failed) statement texts."""
    done, failed = [], []
    eng = create_engine(normalise_url(url), isolation_level="AUTOCOMMIT")
    try:
        with eng.connect() as conn:
            analyse, checkpoint = _statements(conn, backend)
            for sql in analyse + checkpoint:
                try:
                    res = conn.execute(text(sql))
                    if res.returns_rows:
                        res.fetchall()
                    done.append(sql.split(" `")[0])
                except Exception as exc:  # noqa: BLE001 - recorded; settling is best effort
                    failed.append(f"{sql.split(' `')[0]}: {str(exc).strip().splitlines()[0][:200]}")
    finally:
        eng.dispose()
    if backend == "sqlite":
        path = normalise_url(url).database
        if path and os.path.exists(path):
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    return done, failed


def _io_bytes(pids: Iterable[int]) -> int:
    import psutil

    total = 0
    for pid in pids:
        try:
            io = psutil.Process(pid).io_counters()
            total += io.read_bytes + io.write_bytes
        except (psutil.Error, AttributeError):
            continue
    return total


def settle(url: str, *, io_pids: Callable[[], Iterable[int]] | None = None, max_s: float = MAX_S,
           quiet_bytes_per_s: float = QUIET_BYTES_PER_S, quiet_for_s: float = QUIET_FOR_S,
           interval_s: float = 0.5) -> dict[str, Any]:
    """Settle the database at ``url`` (see the module docstring). ``io_pids``: the database server's
    processes (its root and children, re-read each time), None/empty for SQLite or an external server
    whose processes we cannot see. Returns what step.json records as ``settle``."""
    t0 = time.monotonic()
    backend = backend_of(url)
    done, failed = _run(url, backend)
    out: dict[str, Any] = {"statements": done, "failed": failed, "max_s": max_s,
                           "quiet_bytes_per_s": quiet_bytes_per_s}
    pids_now = (lambda: list(io_pids())) if io_pids else list
    if not pids_now():
        out.update(quiet=True, io="no server processes to watch" if backend != "sqlite"
                   else "SQLite: file checkpointed and fsynced", io_bytes_per_s=None)
        out["settle_s"] = round(time.monotonic() - t0, 3)
        return out
    deadline = t0 + max_s
    last, t_last = _io_bytes(pids_now()), time.monotonic()
    quiet_since: float | None = None
    rate = None
    while True:
        time.sleep(interval_s)
        now_b, now = _io_bytes(pids_now()), time.monotonic()
        rate = max(0, now_b - last) / max(1e-6, now - t_last)
        last, t_last = now_b, now
        if rate <= quiet_bytes_per_s:
            quiet_since = quiet_since or now
            if now - quiet_since >= quiet_for_s:
                out["quiet"] = True
                break
        else:
            quiet_since = None
        if now >= deadline:
            out["quiet"] = False
            break
    out.update(io="database server processes (psutil)", io_bytes_per_s=round(rate or 0.0))
    out["settle_s"] = round(time.monotonic() - t0, 3)
    return out


__all__ = ["MAX_S", "settle"]
