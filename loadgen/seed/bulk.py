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

import io
import os
import sqlite3
import tempfile
from typing import Any

import numpy as np
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


class BulkWriter:
    """One connection, explicit transactions, and ``load(table, rows)``."""

    dialect = ""

    def load(self, table: str, rows: Rows) -> None:
        raise NotImplementedError

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

    def load(self, table, rows):
        cols = ", ".join(rows)
        data = _csv_bytes(rows)
        with self.conn.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN (FORMAT csv)") as cp:
            cp.write(data)

    def after_ids(self, table, last_id):
        self.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), GREATEST(?, 1))", (last_id,))


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
        self._dir = tempfile.mkdtemp(prefix="jxcseed-")

    def execute(self, sql, params=None):
        with self.conn.cursor() as cur:
            cur.execute(sql.replace("?", "%s"), params)
            return list(cur.fetchall()) if cur.description else []

    def executemany(self, sql, params):
        if params:
            with self.conn.cursor() as cur:
                cur.executemany(sql.replace("?", "%s"), params)

    def load(self, table, rows):
        path = os.path.join(self._dir, f"{table}.csv")
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
        self.execute(sql)
        os.unlink(path)

    def close(self):
        super().close()
        try:
            os.rmdir(self._dir)
        except OSError:
            pass


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

    def load(self, table, rows):
        cols = []
        for v in rows.values():
            if v.dtype.kind == "M":
                # SQLAlchemy's SQLite DateTime text format, so the app reads and compares them alike
                cols.append(np.strings.replace(np.datetime_as_string(v, unit="us"), "T", " ").tolist())
            else:
                cols.append(v.tolist())
        marks = ", ".join("?" * len(rows))
        self.conn.executemany(f"INSERT INTO {table} ({', '.join(rows)}) VALUES ({marks})", zip(*cols))

    def commit(self):
        self.conn.execute("COMMIT")
        self.conn.execute("BEGIN IMMEDIATE")

    def rollback(self):
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
