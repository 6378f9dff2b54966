"""The maintenance window: an engine-native backup of a database and its restore, timed and sized.

* PostgreSQL: ``pg_dump --format=custom`` to a file, ``pg_restore`` into a scratch database.
* MariaDB/MySQL: ``mariadb-dump --single-transaction`` (or ``mysqldump``) to a file, the ``mariadb``
  (``mysql``) client into a scratch database.
* SQLite: the online backup API (``sqlite3.Connection.backup``) to a file, and back into a scratch file.

The scratch copy is the snapshot named :data:`SCRATCH` (``<db>__snap_bk``, ``<file>.snap-bk``), so
:func:`loadgen.seed.drop_snapshot` removes it, and so does the run registry when the process was
killed (the caller claims it first: ``loadgen.sut.registry.claim_snapshot(url, SCRATCH)``). The
database itself is only read. The restored copy is counted (customers) so that a backup that does
not restore is seen, not timed.
"""

from __future__ import annotations

import glob
import os
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from loadgen.errors import JxcError
from loadgen.seed.goback import _admin, _sqlite_paths, drop_snapshot
from reference_app.db import backend_of, normalise_url

SCRATCH = "bk"
TIMEOUT_S = 6 * 3600


def _tool(*names: str) -> str:
    """The first of ``names`` on PATH (for PostgreSQL also the newest /usr/lib/postgresql/*/bin)."""
    for name in names:
        found = shutil.which(name)
        if found:
            return found
        for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
            if os.path.exists(f"{d}/{name}"):
                return f"{d}/{name}"
    raise JxcError(f"backup: {' or '.join(names)} is not installed", exit_code=1)


def _run(argv: list[str], *, env: dict[str, str], what: str, stdin=None, stdout=None) -> None:
    res = subprocess.run(argv, env=env, stdin=stdin, stdout=stdout if stdout is not None else subprocess.PIPE,
                         stderr=subprocess.PIPE, text=False, timeout=TIMEOUT_S)
    if res.returncode != 0:
        tail = res.stderr.decode(errors="replace").strip().splitlines()[-3:]
        raise JxcError(f"backup: {what} failed (exit {res.returncode}): {' | '.join(tail)}", exit_code=1)


def _count_customers(url) -> int:
    eng = create_engine(url)
    try:
        with eng.connect() as conn:
            return int(conn.execute(text("SELECT COUNT(*) FROM customers")).scalar() or 0)
    finally:
        eng.dispose()


def _sqlite_copy(src_path: str | Path, dst_path: str | Path) -> None:
    src, dst = sqlite3.connect(src_path), sqlite3.connect(dst_path)
    try:
        src.backup(dst)
    finally:  # closed, not only committed: the last close of a WAL database removes its -wal / -shm
        dst.close()
        src.close()


def measure_backup(url: str, workdir: Path) -> dict[str, Any]:
    """Back ``url`` up into ``workdir`` and restore it into the scratch copy; the scratch copy and
    the backup file are removed afterwards. ``{"engine", "tool", "backup_s", "restore_s", "bytes",
    "customers_restored"}``."""
    u = normalise_url(url)
    kind = backend_of(u)
    workdir.mkdir(parents=True, exist_ok=True)
    out = workdir / f"backup.{ {'postgresql': 'dump', 'mysql': 'sql', 'sqlite': 'sqlite'}[kind] }"
    env = {**os.environ}
    try:
        if kind == "sqlite":
            tool = "sqlite3 online backup API"
            src_path, scratch = _sqlite_paths(u, SCRATCH)
            t0 = time.perf_counter()
            _sqlite_copy(src_path, out)
            backup_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            _sqlite_copy(out, scratch)
            restore_s = time.perf_counter() - t0
            scratch_url = u.set(database=scratch)
        else:
            admin, db = _admin(u)
            scratch_db = f"{db}__snap_{SCRATCH}"
            host, port, user = u.host or "127.0.0.1", str(u.port or (5432 if kind == "postgresql" else 3306)), u.username
            if kind == "postgresql":
                tool = "pg_dump --format=custom / pg_restore"
                if u.password:
                    env["PGPASSWORD"] = u.password
                conn_args = ["-h", host, "-p", port] + (["-U", user] if user else [])
                t0 = time.perf_counter()
                _run([_tool("pg_dump"), *conn_args, "--format=custom", "--no-owner", "-f", str(out), db],
                     env=env, what="pg_dump")
                backup_s = time.perf_counter() - t0
                drop_snapshot(url, SCRATCH)
                with admin.connect() as conn:
                    conn.execute(text(f'CREATE DATABASE "{scratch_db}" TEMPLATE template0'))
                t0 = time.perf_counter()
                _run([_tool("pg_restore"), *conn_args, "--no-owner", "-d", scratch_db, str(out)],
                     env=env, what="pg_restore")
                restore_s = time.perf_counter() - t0
            else:
                dump, client = _tool("mariadb-dump", "mysqldump"), _tool("mariadb", "mysql")
                tool = f"{Path(dump).name} --single-transaction / {Path(client).name}"
                if u.password:
                    env["MYSQL_PWD"] = u.password
                conn_args = ["-h", host, "-P", port, "--protocol=TCP"] + ([f"-u{user}"] if user else [])
                t0 = time.perf_counter()
                with open(out, "wb") as fh:
                    _run([dump, *conn_args, "--single-transaction", "--quick", "--skip-lock-tables", db],
                         env=env, what=Path(dump).name, stdout=fh)
                backup_s = time.perf_counter() - t0
                drop_snapshot(url, SCRATCH)
                with admin.connect() as conn:
                    conn.execute(text(f"CREATE DATABASE `{scratch_db}` CHARACTER SET utf8mb4 "
                                      "COLLATE utf8mb4_unicode_ci"))
                t0 = time.perf_counter()
                with open(out, "rb") as fh:
                    _run([client, *conn_args, scratch_db], env=env, what=Path(client).name, stdin=fh)
                restore_s = time.perf_counter() - t0
            admin.dispose()
            scratch_url = u.set(database=scratch_db)
        size = out.stat().st_size
        restored = _count_customers(scratch_url)
    finally:
        for leftover in (out, Path(f"{out}-wal"), Path(f"{out}-shm")):
            leftover.unlink(missing_ok=True)
        drop_snapshot(url, SCRATCH)
    return {"engine": kind, "tool": tool, "backup_s": round(backup_s, 3), "restore_s": round(restore_s, 3),
            "bytes": size, "customers_restored": restored}


__all__ = ["SCRATCH", "measure_backup"]
