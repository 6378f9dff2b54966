"""Engines and sessions for the three supported databases, with each one's necessary tweaks.

* SQLite: WAL, ``busy_timeout``, ``synchronous=FULL`` (a commit is on disk when it returns, as on
  the servers; ``JXC_SQLITE_PRAGMAS`` may relax it); transactions are opened by us (the
  sqlite3 module's implicit BEGIN is turned off) so that writers can take the write lock up front
  with ``BEGIN IMMEDIATE`` — otherwise two readers that both try to upgrade to writers deadlock and
  one fails with "database is locked" no matter how long the busy timeout is.
* PostgreSQL (psycopg 3) and MariaDB/MySQL (PyMySQL): pooled connections, ``pool_pre_ping`` (not on
  the app's request path, see :func:`make_engine`),
  READ COMMITTED (MariaDB defaults to REPEATABLE READ, whose gap locks turn the conditional stock
  UPDATE into needless deadlocks).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker

SUPPORTED_BACKENDS = ("sqlite", "postgresql", "mysql", "mariadb")

# Execution option that makes the SQLite "begin" hook take the write lock immediately.
_SQLITE_IMMEDIATE = "jxc_sqlite_immediate"


class UnsupportedDatabase(ValueError):
    """The URL names a database this app does not run on."""


def backend_of(url: str | URL) -> str:
    """``sqlite``, ``postgresql`` or ``mysql`` (MariaDB counts as ``mysql``)."""
    name = make_url(url).get_backend_name()
    if name not in SUPPORTED_BACKENDS:
        raise UnsupportedDatabase(
            f"unsupported database {name!r} in URL; use sqlite:///FILE, "
            "postgresql+psycopg://... or mysql+pymysql://..."
        )
    return "mysql" if name == "mariadb" else name


def normalise_url(url: str | URL) -> URL:
    """Pick the drivers this project installs when the URL names none, and utf8mb4 on MySQL."""
    u = make_url(url)
    backend = backend_of(u)
    if backend == "postgresql" and u.drivername == "postgresql":
        u = u.set(drivername="postgresql+psycopg")
    elif backend == "mysql":
        if "+" not in u.drivername:
            u = u.set(drivername=f"{u.get_backend_name()}+pymysql")
        if "charset" not in u.query:
            u = u.update_query_dict({"charset": "utf8mb4"})
    return u


# A PRAGMA the operator may set (``cache_size=-65536``, ``mmap_size=268435456``): a name and a
# plain value, nothing that could smuggle a second statement into the connect hook.
_PRAGMA = re.compile(r"^\s*([a-z_]+)\s*=\s*(-?[A-Za-z0-9_]+)\s*$")


def parse_sqlite_pragmas(spec: str | None) -> list[str]:
    """``"cache_size=-65536;mmap_size=0"`` -> ``["cache_size=-65536", "mmap_size=0"]``; ValueError
    naming the bad item otherwise."""
    pragmas = []
    for item in filter(str.strip, (spec or "").split(";")):
        m = _PRAGMA.match(item)
        if not m:
            raise ValueError(f"SQLite PRAGMA {item.strip()!r}: expected name=value (letters, digits, _ and a leading -)")
        pragmas.append(f"{m.group(1)}={m.group(2)}")
    return pragmas


def make_engine(url: str | URL, *, pool_size: int = 10, max_overflow: int = 10, echo: bool = False,
                sqlite_pragmas: list[str] | None = None, request_path: bool = False) -> Engine:
    """An engine for ``url`` with the tweaks above; ``pool_size`` is per process. ``sqlite_pragmas``
    (SQLite only) run on every new connection after the app's own, so they may override them.

    ``request_path=True`` (the app serving requests): no ping before each checkout and no rollback
    at each check-in — a round trip each per request on PostgreSQL/MariaDB (~40 µs of the app's
    CPU with psycopg, ~25 with PyMySQL). Every unit of work of the app ends its own transaction
    (commit or rollback), so the check-in rollback repeats one; a connection found dead (server
    restarted) makes :class:`~reference_app.services.database.Database` drop the whole pool instead
    of every checkout pinging. Tools (seeding, audit) keep both safeguards.
    """
    u = normalise_url(url)
    backend = backend_of(u)
    if backend == "sqlite":
        engine = create_engine(
            u,
            echo=echo,
            pool_size=pool_size,
            max_overflow=max_overflow,
            connect_args={"timeout": 30, "check_same_thread": False},
        )
        _install_sqlite_hooks(engine, sqlite_pragmas or [])
        return engine
    return create_engine(
        u,
        echo=echo,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=not request_path,
        pool_reset_on_return=None if request_path else "rollback",
        pool_recycle=3600,
        isolation_level="READ COMMITTED",
    )


def _install_sqlite_hooks(engine: Engine, extra_pragmas: list[str]) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # noqa: ANN001 - DBAPI objects
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
        cur = dbapi_conn.cursor()
        for pragma in (
            "journal_mode=WAL",
            "synchronous=FULL",
            "busy_timeout=30000",
            "foreign_keys=ON",
            *extra_pragmas,
        ):
            cur.execute(f"PRAGMA {pragma}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # noqa: ANN001
        immediate = conn.get_execution_options().get(_SQLITE_IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def read_session(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session for reads; rolled back at the end (nothing to commit)."""
    with factory() as session:
        try:
            yield session
        finally:
            session.rollback()


@contextmanager
def write_session(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A unit of work: commits when the block ends normally, rolls back on any exception.

    On SQLite the transaction takes the write lock at BEGIN (see the module docstring).
    """
    engine = factory.kw["bind"]
    bind = engine.execution_options(**{_SQLITE_IMMEDIATE: True}) if engine.dialect.name == "sqlite" else engine
    with factory(bind=bind) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


__all__ = [
    "SUPPORTED_BACKENDS", "UnsupportedDatabase", "backend_of", "normalise_url", "make_engine", "parse_sqlite_pragmas",
    "session_factory", "read_session", "write_session",
]
