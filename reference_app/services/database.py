"""The database as the services see it: an engine, its sessions, facts read once, and retries.

A unit of work is a function of one session. :meth:`Database.write` runs it in a
:func:`~reference_app.db.write_session` and re-runs it from scratch when the engine gives up on the
transaction for reasons that are not the client's fault: a deadlock or serialization failure
(PostgreSQL 40001/40P01, MariaDB 1213/1205), a lost race to insert the same row (raised as
:class:`Retry`), or SQLite's busy timeout. Business refusals (domain errors) are never retried.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from reference_app.db import backend_of, make_engine, session_factory, write_session
from reference_app.schema import get_meta
from reference_app.services.prepared import Tx

T = TypeVar("T")
log = logging.getLogger(__name__)

_PG_RETRY_STATES = {"40001", "40P01"}
_MYSQL_RETRY_CODES = {1213, 1205}


class Retry(Exception):
    """Raised inside a unit of work to have it run again (e.g. lost a race to insert a row)."""


def is_transient(exc: BaseException) -> bool:
    """Whether the engine aborted the transaction for a reason that a re-run can fix."""
    if isinstance(exc, Retry):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    orig = exc.orig
    state = getattr(orig, "sqlstate", None)  # psycopg 3
    if state in _PG_RETRY_STATES:
        return True
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int) and args[0] in _MYSQL_RETRY_CODES:  # PyMySQL
        return True
    return "database is locked" in str(orig)  # SQLite busy timeout


class Database:
    """One per process: pooled engine sized by settings, plus ``app_meta`` facts read once."""

    def __init__(self, url: str, *, pool_size: int = 10, max_overflow: int = 10, retries: int = 5,
                 sqlite_pragmas: list[str] | None = None) -> None:
        self.backend = backend_of(url)
        self.engine: Engine = make_engine(url, pool_size=pool_size, max_overflow=max_overflow,
                                          sqlite_pragmas=sqlite_pragmas, request_path=True)
        self.factory = session_factory(self.engine)
        self.retries = retries
        self.retried = 0  # units of work re-run after a transient failure (observability, tests)
        self._meta: dict[str, str] | None = None
        self._meta_lock = threading.Lock()

    # -- facts read once ------------------------------------------------------------------------
    def meta(self) -> dict[str, str]:
        """``secret_key`` and ``index_level`` from ``app_meta``, read on first use and then cached."""
        if self._meta is None:
            with self._meta_lock:
                if self._meta is None:
                    with self.engine.connect() as conn:
                        secret = get_meta(conn, "secret_key")
                        level = get_meta(conn, "index_level") or "basic"
                        conn.rollback()
                    if not secret:
                        raise RuntimeError("app_meta has no secret_key: run `jxcbench init-db` first")
                    self._meta = {"secret_key": secret, "index_level": level}
        return self._meta

    @property
    def index_level(self) -> str:
        return self.meta()["index_level"]

    # -- sessions -------------------------------------------------------------------------------
    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session; the objects it loaded stay usable after it ends.

        (Detached before the closing rollback, which would otherwise expire them.)
        """
        with self.factory() as session:
            try:
                yield session
            finally:
                session.expunge_all()
                session.rollback()

    @contextmanager
    def reading(self) -> Iterator[Tx]:
        """A read transaction on a pooled driver connection (rolled back at the end)."""
        with self._tx("BEGIN") as tx:
            yield tx

    def writing(self, unit: Callable[[Tx], T]) -> T:
        """:meth:`write` for units of :class:`Tx` (statements built once): committed at the end,
        re-run on transient errors. On SQLite BEGIN IMMEDIATE takes the write lock up front."""
        def once() -> T:
            with self._tx("BEGIN IMMEDIATE", commit=True) as tx:
                return unit(tx)
        return self._retrying(once)

    @contextmanager
    def _tx(self, sqlite_begin: str, *, commit: bool = False) -> Iterator[Tx]:
        pooled = self.engine.raw_connection()
        dbapi = pooled.dbapi_connection

        def failed(exc: Exception, cursor) -> None:  # noqa: ANN001 - DBAPI cursor
            # A dead connection (server restarted, network cut) must not go back to the pool, and
            # its idle siblings are as dead: start a new pool (what SQLAlchemy's own disconnect
            # handling does for its connections; checkouts are not pinged, see make_engine).
            if self.engine.dialect.is_disconnect(exc, dbapi, cursor):
                pooled.invalidate(exc)
                self.engine.dispose(close=False)

        tx = Tx(dbapi, self.engine.dialect, failed, self.engine.dispatch)
        try:
            if self.backend == "sqlite":
                tx.begin(sqlite_begin)
            yield tx
            if commit:
                tx.commit()
        except BaseException:
            if pooled.dbapi_connection is not None:
                try:
                    dbapi.rollback()
                except Exception:  # noqa: BLE001 - the original error is the one to report
                    pooled.invalidate()
            raise
        else:
            if not commit:
                dbapi.rollback()
        finally:
            pooled.close()

    def write(self, unit: Callable[[Session], T]) -> T:
        """Run ``unit(session)`` in one transaction, committed at the end; re-run on transient errors."""
        def once() -> T:
            with write_session(self.factory) as session:
                return unit(session)
        return self._retrying(once)

    def _retrying(self, once: Callable[[], T]) -> T:
        attempt = 0
        while True:
            try:
                return once()
            except Exception as exc:
                if attempt >= self.retries or not is_transient(exc):
                    raise
                attempt += 1
                self.retried += 1
                log.info("retrying unit of work (attempt %d) after %s", attempt, exc.__class__.__name__)
                # Jittered backoff so the transactions that collided do not collide again.
                time.sleep(random.uniform(0, 0.005 * 2**attempt))

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            conn.rollback()

    def dispose(self) -> None:
        self.engine.dispose()


__all__ = ["Database", "Retry", "is_transient"]
