"""Statements built once: a Core statement compiled once per dialect and run on the DBAPI cursor.

Why: on the hot paths the database work is small (an indexed lookup costs SQLite a few µs) while
SQLAlchemy *building* the statement per request — construction, cache-key generation, adapting the
cached result metadata — cost ~300 µs a query, most of a request's CPU. Here a statement is written
once in SQLAlchemy Core (so it stays readable and dialect-portable), compiled on first use for the
engine's dialect, and from then on a request only binds its parameters and runs the SQL string on
the pooled driver connection.

Rules for statements given to :class:`Prepared`: every value a request varies is a named
``bindparam`` (``limit`` too); no expanding ``IN`` lists; inserts name every column (no Python-side
column defaults run here). Driver errors are re-raised as SQLAlchemy's own exception classes, so the
retry rules and the HTTP error mapping see the same errors as on the ORM paths. The engine's
``before_cursor_execute`` / ``after_cursor_execute`` listeners still see every statement (with
``None`` for the SQLAlchemy connection and context, which this path does not create), so SQL
logging and query-count tests keep working; with no listener that check costs nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Dialect, Table, bindparam, insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement, Insert


@dataclass(frozen=True)
class Compiled:
    """One statement as one dialect runs it."""

    sql: str
    positional: tuple[str, ...] | None  # parameter order for ?/%s paramstyles; None: by name
    defaults: dict[str, Any]  # binds with a value fixed in the statement
    bind_processors: dict[str, Callable[[Any], Any]]  # e.g. datetime -> text on SQLite
    processed: tuple[tuple[int, Callable[[Any], Any]], ...]  # (column, converter), e.g. text -> datetime on SQLite
    keys: tuple[str, ...]  # result column names
    returns_id: bool  # an INSERT that ends in RETURNING <primary key>

    def parameters(self, given: Mapping[str, Any]) -> tuple | dict:
        values = {**self.defaults, **given} if self.defaults else dict(given)
        for name, process in self.bind_processors.items():
            if values.get(name) is not None:
                values[name] = process(values[name])
        if self.positional is not None:
            return tuple(values[name] for name in self.positional)
        return values

    def process(self, row: tuple) -> tuple:
        """The row with the columns that need it converted (only datetimes on SQLite, in practice)."""
        if not self.processed:
            return row
        out = list(row)
        for i, process in self.processed:
            if out[i] is not None:
                out[i] = process(out[i])
        return tuple(out)


class Prepared:
    """A Core statement built once per process; compiled once per dialect on first use.

    ``new_id=True`` (an INSERT of one row): :meth:`Tx.insert` returns the new primary key, from
    ``RETURNING`` on PostgreSQL (whose cursor has no ``lastrowid``) and ``lastrowid`` elsewhere.
    """

    def __init__(self, stmt: ClauseElement, *, new_id: bool = False) -> None:
        self.stmt = stmt
        self.new_id = new_id
        self._compiled: dict[str, Compiled] = {}
        self._lock = threading.Lock()

    def compiled(self, dialect: Dialect) -> Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            with self._lock:
                found = self._compiled.get(dialect.name) or _compile(self.stmt, dialect, self.new_id)
                self._compiled[dialect.name] = found
        return found


def insert_row(table: Table, *, new_id: bool = True) -> Prepared:
    """``INSERT INTO table (every column but an autoincrement key) VALUES (:column, ...)``."""
    auto = {c.key for c in table.primary_key.columns if c.autoincrement is True or (
        c.autoincrement == "auto" and len(table.primary_key.columns) == 1)}
    values = {c.key: bindparam(c.key, type_=c.type) for c in table.c if c.key not in auto}
    return Prepared(insert(table).values(values), new_id=new_id)


def _compile(stmt: ClauseElement, dialect: Dialect, new_id: bool) -> Compiled:
    returns_id = False
    if new_id and isinstance(stmt, Insert) and dialect.name == "postgresql":
        stmt = stmt.returning(*stmt.table.primary_key.columns)
        returns_id = True
    compiled = stmt.compile(dialect=dialect)
    binds = compiled.binds
    missing = [c.key for c in getattr(compiled, "insert_prefetch", ()) + getattr(compiled, "update_prefetch", ())]
    if missing:  # a Python-side default/onupdate SQLAlchemy would fill in: this path does not run them
        raise ValueError(f"give {', '.join(missing)} explicitly: column defaults are not run for Prepared statements")
    for name, bind in binds.items():
        if bind.expanding:
            raise ValueError(f"bind {name!r} expands (IN list): not supported by Prepared")
    defaults = {name: b.value for name, b in binds.items() if b.value is not None or not b.required}
    bind_processors = {}
    for name, bind in binds.items():
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            bind_processors[name] = process
    columns = getattr(stmt, "selected_columns", None)
    result_types = [c.type for c in columns] if columns is not None and not returns_id else []
    converters = (t.dialect_impl(dialect).result_processor(dialect, None) for t in result_types)
    processed = tuple((i, p) for i, p in enumerate(converters) if p is not None)
    keys = tuple(c.key for c in columns) if columns is not None and not returns_id else ()
    return Compiled(
        sql=compiled.string,
        positional=tuple(compiled.positiontup) if compiled.positional else None,
        defaults=defaults, bind_processors=bind_processors, processed=processed,
        keys=keys, returns_id=returns_id,
    )


class Tx:
    """One transaction on one pooled driver connection: runs :class:`Prepared` statements.

    Made by :meth:`Database.reading` / :meth:`Database.writing`, which begin and end it.
    """

    def __init__(self, dbapi_connection: Any, dialect: Dialect, on_error: Callable[[Exception, Any], None],
                 events: Any = None) -> None:
        self.connection = dbapi_connection
        self.dialect = dialect
        self._on_error = on_error
        self._events = events  # the engine's dispatch (cursor-execute listeners)

    def _run(self, cursor: Any, sql: str, args: Any, many: bool) -> None:
        events = self._events
        if events is not None and events.before_cursor_execute:
            events.before_cursor_execute(None, cursor, sql, args, None, many)
        try:
            (cursor.executemany if many else cursor.execute)(sql, args)
        except self.dialect.loaded_dbapi.Error as exc:
            cursor.close()
            self._raise(exc, sql, args, cursor)
        if events is not None and events.after_cursor_execute:
            events.after_cursor_execute(None, cursor, sql, args, None, many)

    def begin(self, sql: str) -> None:
        """SQLite's BEGIN [IMMEDIATE], straight on the driver (the other drivers begin implicitly)."""
        try:
            self.connection.execute(sql)
        except self.dialect.loaded_dbapi.Error as exc:
            self._raise(exc, sql, (), None)

    def commit(self) -> None:
        try:
            self.connection.commit()
        except self.dialect.loaded_dbapi.Error as exc:
            self._raise(exc, "COMMIT", (), None)

    def _execute(self, p: Prepared, params: Mapping[str, Any]) -> tuple[Any, Compiled]:
        c = p.compiled(self.dialect)
        args = c.parameters(params)
        cursor = self.connection.cursor()
        self._run(cursor, c.sql, args, False)
        return cursor, c

    def _raise(self, exc: Exception, sql: str, args: Any, cursor: Any) -> None:
        self._on_error(exc, cursor)
        raise DBAPIError.instance(sql, args, exc, self.dialect.loaded_dbapi.Error, dialect=self.dialect) from exc

    def tuples(self, p: Prepared, **params: Any) -> list[tuple]:
        cursor, c = self._execute(p, params)
        try:
            rows = cursor.fetchall()
        finally:
            cursor.close()
        return [c.process(r) for r in rows] if c.processed else list(rows)  # PyMySQL gives a tuple

    def dicts(self, p: Prepared, **params: Any) -> list[dict[str, Any]]:
        keys = p.compiled(self.dialect).keys
        return [dict(zip(keys, r, strict=True)) for r in self.tuples(p, **params)]

    def first(self, p: Prepared, **params: Any) -> dict[str, Any] | None:
        rows = self.dicts(p, **params)
        return rows[0] if rows else None

    def scalar(self, p: Prepared, **params: Any) -> Any:
        rows = self.tuples(p, **params)
        return rows[0][0] if rows else None

    def run(self, p: Prepared, **params: Any) -> int:
        """An UPDATE/DELETE; returns the rows it matched."""
        cursor, _ = self._execute(p, params)
        try:
            return cursor.rowcount
        finally:
            cursor.close()

    def insert(self, p: Prepared, **params: Any) -> int:
        """An INSERT of one row; returns its new primary key."""
        cursor, c = self._execute(p, params)
        try:
            return cursor.fetchone()[0] if c.returns_id else cursor.lastrowid
        finally:
            cursor.close()

    def insert_many(self, p: Prepared, rows: Iterable[Mapping[str, Any]]) -> None:
        """Many rows whose ids nobody needs (ledger rows), in one driver call."""
        c = p.compiled(self.dialect)
        args = [c.parameters(r) for r in rows]
        if not args:
            return
        cursor = self.connection.cursor()
        try:
            self._run(cursor, c.sql, args, True)
        finally:
            cursor.close()


__all__ = ["Prepared", "Compiled", "Tx", "insert_row"]
