"""Going back from a larger dataset to a smaller one: snapshots, the cheapest way per engine.

* PostgreSQL: ``CREATE DATABASE <db>__snap_<name> TEMPLATE <db>`` — a file-level copy inside the
  server, no SQL replay; restore drops ``<db>`` and recreates it from the snapshot the same way.
  A template must have no sessions, so both steps end the other sessions on the source first
  (the app must be stopped anyway while its database is swapped).
* SQLite: checkpoint the WAL into the main file, then copy the file (``<file>.snap-<name>``);
  restore copies it back and removes stale ``-wal``/``-shm`` files.
* MariaDB/MySQL: no server-side database copy exists, so every table is copied with
  ``INSERT ... SELECT`` into a sibling database ``<db>__snap_<name>`` (DDL from ``SHOW CREATE
  TABLE``, so foreign keys and AUTO_INCREMENT come along) and back on restore. Cost grows with the
  data (measured in bench/seed.py), still far below re-seeding.

Taking a snapshot under an existing name replaces it. Every function returns the seconds it took.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import time

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL

from loadgen.errors import JxcError
from reference_app.db import backend_of, normalise_url

_NAME = re.compile(r"^[a-z0-9_]{1,20}$")


def _check_name(name: str) -> None:
    if not _NAME.match(name or ""):
        raise JxcError(f"snapshot name {name!r}: use 1-20 characters a-z, 0-9, _")


def _sqlite_paths(u: URL, name: str) -> tuple[str, str]:
    path = u.database
    if not path or path == ":memory:":
        raise JxcError("--db: snapshots need a SQLite file, not an in-memory database")
    return path, f"{path}.snap-{name}"


def _admin(u: URL):
    db = u.database
    if backend_of(u) == "postgresql":
        return create_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT"), db
    return create_engine(u.set(database=None), isolation_level="AUTOCOMMIT"), db


def _pg_kick(conn, db: str) -> None:
    conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE datname = :d AND pid <> pg_backend_pid()"), {"d": db})


def _pg_exists(conn, db: str) -> bool:
    return conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": db}).first() is not None


def _my_exists(conn, db: str) -> bool:
    return conn.execute(text("SELECT 1 FROM information_schema.schemata WHERE schema_name = :d"),
                        {"d": db}).first() is not None


def _my_copy(conn, src: str, dst: str) -> None:
    """Replace database ``dst`` by a copy of every table of ``src``."""
    conn.execute(text("SET SESSION foreign_key_checks = 0"))
    conn.execute(text(f"CREATE DATABASE IF NOT EXISTS `{dst}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
    for (t,) in conn.execute(text(f"SHOW TABLES FROM `{dst}`")).all():
        conn.execute(text(f"DROP TABLE `{dst}`.`{t}`"))
    tables = [t for (t,) in conn.execute(text(f"SHOW TABLES FROM `{src}`")).all()]
    for t in tables:
        ddl = conn.execute(text(f"SHOW CREATE TABLE `{src}`.`{t}`")).one()[1]
        conn.execute(text(f"USE `{dst}`"))
        conn.execute(text(ddl))
        conn.execute(text(f"INSERT INTO `{dst}`.`{t}` SELECT * FROM `{src}`.`{t}`"))
    conn.execute(text("SET SESSION foreign_key_checks = 1"))


def snapshot(url: str, name: str) -> float:
    """Keep a copy of the database at ``url`` under ``name`` (replacing one of that name)."""
    _check_name(name)
    t0 = time.perf_counter()
    u = normalise_url(url)
    kind = backend_of(u)
    if kind == "sqlite":
        path, snap = _sqlite_paths(u, name)
        if not os.path.exists(path):
            raise JxcError(f"--db: SQLite file {path} does not exist")
        con = sqlite3.connect(path)
        try:
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            shutil.copyfile(path, snap + ".tmp")
        finally:
            con.close()
        os.replace(snap + ".tmp", snap)
        return time.perf_counter() - t0
    admin, db = _admin(u)
    snap = f"{db}__snap_{name}"
    try:
        with admin.connect() as conn:
            if kind == "postgresql":
                if not _pg_exists(conn, db):
                    raise JxcError(f"--db: database {db!r} does not exist")
                conn.execute(text(f'DROP DATABASE IF EXISTS "{snap}" WITH (FORCE)'))
                _pg_kick(conn, db)
                conn.execute(text(f'CREATE DATABASE "{snap}" TEMPLATE "{db}"'))
            else:
                if not _my_exists(conn, db):
                    raise JxcError(f"--db: database {db!r} does not exist")
                _my_copy(conn, db, snap)
    finally:
        admin.dispose()
    return time.perf_counter() - t0


def restore(url: str, name: str) -> float:
    """Put the database at ``url`` back to snapshot ``name`` (the snapshot is kept for reuse)."""
    _check_name(name)
    t0 = time.perf_counter()
    u = normalise_url(url)
    kind = backend_of(u)
    if kind == "sqlite":
        path, snap = _sqlite_paths(u, name)
        if not os.path.exists(snap):
            raise JxcError(f"no snapshot {name!r} of {path} (looked for {snap})")
        shutil.copyfile(snap, path + ".restore.tmp")
        for extra in (path + "-wal", path + "-shm"):
            if os.path.exists(extra):
                os.unlink(extra)
        os.replace(path + ".restore.tmp", path)
        return time.perf_counter() - t0
    admin, db = _admin(u)
    snap = f"{db}__snap_{name}"
    try:
        with admin.connect() as conn:
            if kind == "postgresql":
                if not _pg_exists(conn, snap):
                    raise JxcError(f"no snapshot {name!r} of database {db!r} (no database {snap!r})")
                conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
                conn.execute(text(f'CREATE DATABASE "{db}" TEMPLATE "{snap}"'))
            else:
                if not _my_exists(conn, snap):
                    raise JxcError(f"no snapshot {name!r} of database {db!r} (no database {snap!r})")
                _my_copy(conn, snap, db)
    finally:
        admin.dispose()
    return time.perf_counter() - t0


def list_snapshots(url: str) -> list[str]:
    u = normalise_url(url)
    kind = backend_of(u)
    if kind == "sqlite":
        path = u.database or ""
        folder, base = os.path.split(os.path.abspath(path))
        prefix = base + ".snap-"
        return sorted(f[len(prefix):] for f in os.listdir(folder) if f.startswith(prefix) and not f.endswith(".tmp"))
    admin, db = _admin(u)
    prefix = f"{db}__snap_"
    try:
        with admin.connect() as conn:
            if kind == "postgresql":
                names = conn.execute(text("SELECT datname FROM pg_database")).scalars().all()
            else:
                names = conn.execute(text("SELECT schema_name FROM information_schema.schemata")).scalars().all()
    finally:
        admin.dispose()
    return sorted(n[len(prefix):] for n in names if n.startswith(prefix))


def drop_snapshot(url: str, name: str) -> None:
    _check_name(name)
    u = normalise_url(url)
    kind = backend_of(u)
    if kind == "sqlite":
        _, snap = _sqlite_paths(u, name)
        if os.path.exists(snap):
            os.unlink(snap)
        return
    admin, db = _admin(u)
    try:
        with admin.connect() as conn:
            if kind == "postgresql":
                conn.execute(text(f'DROP DATABASE IF EXISTS "{db}__snap_{name}" WITH (FORCE)'))
            else:
                conn.execute(text(f"DROP DATABASE IF EXISTS `{db}__snap_{name}`"))
    finally:
        admin.dispose()


__all__ = ["snapshot", "restore", "list_snapshots", "drop_snapshot"]
