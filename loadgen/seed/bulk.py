"""The fastest bulk path per engine, behind one small interface.

* PostgreSQL: ``COPY ... FROM STDIN (FORMAT csv)`` through psycopg's ``cursor.copy``; rows are
  rendered to CSV by pyarrow's C++ writer. FK triggers are off for the seeding session
  (``session_replication_role = replica``, superuser only; otherwise they stay on and it is slower)
  because the generator builds references that are right by construction — the audit checks them.
* MariaDB/MySQL: ``LOAD DATA LOCAL INFILE`` from a temporary CSV file written the same way, with
  ``foreign_key_checks`` and ``unique_checks`` off for the session (InnoDB keeps LOAD DATA
  transactional, so a killed chunk rolls back whole).
* SQLite: ``executemany`` of ready tuples in one big transaction per chunk, ``synchronous=OFF`` and
  a large page cache for the seeding connection only (WAL stays on: the app needs it).

Each writer takes rows as ``{column: numpy array}``; ``datetime64[us]`` columns are timestamps and
``object`` columns may hold ``None``.
"""

from __future__ import annotations

import glob
import io
import os
import shutil
import sqlite3
import tempfile
from typing import Any

import numpy as np
import psutil
import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy import Engine
from sqlalchemy.engine import URL

Rows = dict[str, np.ndarray]

_CSV = pacsv.WriteOptions(include_header=False, delimiter=",")


def _arrow(rows: Rows) -> pa.Table:
    return pa.table({c: pa.array(v) for c, v in rows.items()})


def _csv_bytes(rows: Rows) -> bytes:
    buf = io.BytesIO()
    pacsv.write_csv(_arrow(rows), buf, _CSV)
    return buf.getvalue()


_PG_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8
_PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01, PostgreSQL's timestamp zero, in Unix microseconds


def _pg_type(sql_type) -> str:
    from sqlalchemy.dialects import postgresql

    return sql_type.compile(dialect=postgresql.dialect())


def _pg_binary(table: str, rows: Rows) -> bytes | None:
    """Rows in PostgreSQL's binary COPY format, built as one numpy record array (no per-row Python).

    Numbers and timestamps skip the server's text parsing, which is most of COPY's CPU for the
    narrow history tables. Only for rows whose strings are constant per call (``reason``,
    ``doc_type``, ``status``) or all NULL; anything else returns ``None`` (use CSV).
    """
    from reference_app.models import Base

    cols = Base.metadata.tables[table].c
    n = len(next(iter(rows.values())))
    fields: list[tuple[str, str]] = [("nf", ">i2")]
    fill: list[tuple[str, Any, Any]] = []
    for name, v in rows.items():
        type_name = _pg_type(cols[name].type)
        if v.dtype.kind == "M":
            fields += [(f"{name}_n", ">i4"), (name, ">i8")]
            fill.append((name, 8, v.astype(np.int64) - _PG_EPOCH_US))
        elif v.dtype.kind in "iu":
            width = {"BIGINT": 8, "INTEGER": 4, "SMALLINT": 2}.get(type_name)
            if width is None:
                return None
            fields += [(f"{name}_n", ">i4"), (name, f">i{width}")]
            fill.append((name, width, v))
        elif v.dtype == object and all(x is None for x in v[:1]) and not any(x is not None for x in v):
            fields += [(f"{name}_n", ">i4")]
            fill.append((name, -1, None))
        elif v.dtype.kind == "U" and n and (v == v[0]).all():
            raw = str(v[0]).encode()
            fields += [(f"{name}_n", ">i4"), (name, f"S{len(raw)}")]
            fill.append((name, len(raw), raw))
        else:
            return None
    rec = np.empty(n, dtype=fields)
    rec["nf"] = len(rows)
    for name, width, value in fill:
        rec[f"{name}_n"] = width
        if value is not None:
            rec[name] = value
    return _PG_HEADER + rec.tobytes() + b"\xff\xff"


class BulkWriter:
    """One connection, explicit transactions, and ``load(table, rows)``."""

    dialect = ""

    def encode(self, table: str, rows: Rows) -> Any:
        """Render rows for :meth:`send`; pure CPU, safe to run in another thread meanwhile."""
        raise NotImplementedError

    def send(self, table: str, payload: Any) -> None:
        raise NotImplementedError

    def load(self, table: str, rows: Rows) -> None:
        self.send(table, self.encode(table, rows))

    def execute(self, sql: str, params: Any = None) -> list[tuple]:
        raise NotImplementedError

    def executemany(self, sql: str, params: list[tuple]) -> None:
        raise NotImplementedError

    def commit(self) -> None:
        self.conn.commit()

    def rollback(self) -> None:
        self.conn.rollback()

    def close(self) -> None:
        try:
            self.conn.rollback()
        finally:
            self.conn.close()

    def max_id(self, table: str) -> int:
        return int(self.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")[0][0])

    def after_ids(self, table: str, last_id: int) -> None:
        """Make the engine's own id generator continue after ``last_id`` (explicit ids were used)."""


class PostgresWriter(BulkWriter):
    dialect = "postgresql"

    def __init__(self, engine: Engine) -> None:
        import psycopg

        u = engine.url
        self.conn = psycopg.connect(
            host=u.host or "localhost", port=u.port or 5432, user=u.username, password=u.password,
            dbname=u.database, autocommit=False,
        )
        superuser = self.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")[0][0]
        self.execute("SET synchronous_commit = off")
        if superuser:
            self.execute("SET session_replication_role = replica")
        self.conn.commit()

    def execute(self, sql, params=None):
        with self.conn.cursor() as cur:
            cur.execute(sql.replace("?", "%s"), params)
            return cur.fetchall() if cur.description else []

    def executemany(self, sql, params):
        if params:
            with self.conn.cursor() as cur:
                cur.executemany(sql.replace("?", "%s"), params)

    def encode(self, table, rows):
        data = _pg_binary(table, rows)
        fmt = "binary"
        if data is None:
            data, fmt = _csv_bytes(rows), "csv"
        return ", ".join(rows), fmt, data

    def send(self, table, payload):
        cols, fmt, data = payload
        with self.conn.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN (FORMAT {fmt})") as cp:
            cp.write(data)

    def after_ids(self, table, last_id):
        self.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), GREATEST(?, 1))", (last_id,))


_DIR_PREFIX = "jxcseed-"


def _remove_orphaned_dirs() -> None:
    """Remove the CSV directories of seeders that were killed (SIGKILL, OOM) and could not clean up:
    each is named after its process, and a directory whose process is gone belongs to no one."""
    for path in glob.glob(os.path.join(tempfile.gettempdir(), f"{_DIR_PREFIX}*-*")):
        pid = os.path.basename(path)[len(_DIR_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and not psutil.pid_exists(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


class MysqlWriter(BulkWriter):
    dialect = "mysql"

    def __init__(self, engine: Engine) -> None:
        import pymysql

        u: URL = engine.url
        self.conn = pymysql.connect(
            host=u.host or "localhost", port=u.port or 3306, user=u.username, password=u.password or "",
            database=u.database, charset="utf8mb4", local_infile=True, autocommit=False,
        )
        self.execute("SET SESSION foreign_key_checks = 0")
        self.execute("SET SESSION unique_checks = 0")
        self.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
        _remove_orphaned_dirs()
        self._dir = tempfile.mkdtemp(prefix=f"{_DIR_PREFIX}{os.getpid()}-")
        self._files = 0

    def execute(self, sql, params=None):
        with self.conn.cursor() as cur:
            cur.execute(sql.replace("?", "%s"), params)
            return list(cur.fetchall()) if cur.description else []

    def executemany(self, sql, params):
        if params:
            with self.conn.cursor() as cur:
                cur.executemany(sql.replace("?", "%s"), params)

    def encode(self, table, rows):
        self._files += 1
        path = os.path.join(self._dir, f"{table}-{self._files}.csv")
        with open(path, "wb") as fh:
            pacsv.write_csv(_arrow(rows), fh, _CSV)
        targets, sets = [], []
        for c, v in rows.items():
            if v.dtype == object:  # may hold NULLs, which pyarrow writes as an empty field
                targets.append(f"@{c}")
                sets.append(f"{c} = NULLIF(@{c}, '')")
            else:
                targets.append(c)
        sql = (f"LOAD DATA LOCAL INFILE '{path}' INTO TABLE {table} CHARACTER SET utf8mb4 "
               "FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' LINES TERMINATED BY '\\n' "
               f"({', '.join(targets)})" + (f" SET {', '.join(sets)}" if sets else ""))
        return path, sql

    def send(self, table, payload):
        path, sql = payload
        try:
            self.execute(sql)
        finally:
            os.unlink(path)

    def close(self):
        super().close()
        shutil.rmtree(self._dir, ignore_errors=True)


class SqliteWriter(BulkWriter):
    dialect = "sqlite"

    def __init__(self, engine: Engine) -> None:
        self.conn = sqlite3.connect(engine.url.database, isolation_level=None, timeout=30)
        for pragma in ("journal_mode=WAL", "synchronous=OFF", "cache_size=-262144", "temp_store=MEMORY",
                       "foreign_keys=OFF", "busy_timeout=30000"):
            self.conn.execute(f"PRAGMA {pragma}")
        self.conn.execute("BEGIN IMMEDIATE")

    def execute(self, sql, params=None):
        cur = self.conn.execute(sql, params or ())
        return cur.fetchall() if cur.description else []

    def executemany(self, sql, params):
        if params:
            self.conn.executemany(sql, params)

    def encode(self, table, rows):
        # Columns stay numpy arrays until ``send``: a chunk prepared in the seed's child process then
        # crosses the pipe as flat buffers (pickling a million Python strings costs the child more
        # than building them costs the writer).
        encoded: dict[int, np.ndarray] = {}  # the same array twice (created_at = updated_at): once
        for v in rows.values():
            if id(v) not in encoded:
                # datetimes in SQLAlchemy's SQLite DateTime text format, so the app reads them alike
                encoded[id(v)] = (np.strings.replace(np.datetime_as_string(v, unit="us"), "T", " ")
                                  if v.dtype.kind == "M" else v)
        cols = [encoded[id(v)] for v in rows.values()]
        marks = ", ".join("?" * len(rows))
        return f"INSERT INTO {table} ({', '.join(rows)}) VALUES ({marks})", cols

    def send(self, table, payload):
        sql, cols = payload
        as_lists: dict[int, list] = {}
        for c in cols:
            if id(c) not in as_lists:
                as_lists[id(c)] = c.tolist()
        self.conn.executemany(sql, zip(*(as_lists[id(c)] for c in cols)))

    def commit(self):
        self.conn.execute("COMMIT")
        self.conn.execute("BEGIN IMMEDIATE")

    def rollback(self):
        # A stop signal (Terminated) can land in commit() between COMMIT and the next BEGIN: then
        # nothing is open to roll back, and ROLLBACK would raise over the stop's own message.
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")
        self.conn.execute("BEGIN IMMEDIATE")

    def close(self):
        try:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
        finally:
            self.conn.close()


def open_writer(engine: Engine) -> BulkWriter:
    return {"postgresql": PostgresWriter, "mysql": MysqlWriter, "mariadb": MysqlWriter,
            "sqlite": SqliteWriter}[engine.dialect.name](engine)


__all__ = ["Rows", "BulkWriter", "open_writer", "PostgresWriter", "MysqlWriter", "SqliteWriter"]
