"""Creating the schema and switching index levels.

Index levels (recorded in ``app_meta`` under ``index_level``):

* ``basic``: keys, foreign keys, owner lookups and the hot lookups declared in :mod:`models`.
* ``tuned``: ``basic`` plus what makes *contains* search on customer name and phone sub-linear:

  - PostgreSQL: ``pg_trgm`` GIN indexes; ``ILIKE '%q%'`` uses them for patterns of 3+ characters.
    (Trigrams of CJK characters need a UTF-8 ``LC_CTYPE``; under the ``C`` locale pg_trgm drops
    non-ASCII characters and the index cannot help for Chinese names.)
  - SQLite: an FTS5 table with the ``trigram`` tokenizer (SQLite >= 3.34), kept in sync by
    triggers; ``LIKE '%q%'`` on it uses the index for patterns of 3+ characters.
  - MariaDB: has no n-gram index (InnoDB's ngram full-text parser exists only in MySQL), so
    contains-search stays a scan; ``tuned`` adds nothing there. Documented, not hidden.
"""

from __future__ import annotations

import secrets

from sqlalchemy import Connection, Engine, inspect, select

from reference_app.models import TABLES, AppMeta, Base

SCHEMA_VERSION = "1"
INDEX_LEVELS = ("basic", "tuned")

_SQLITE_FTS = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS customers_fts USING fts5("
    "name, phone, content='customers', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER IF NOT EXISTS customers_fts_ai AFTER INSERT ON customers BEGIN "
    "INSERT INTO customers_fts(rowid, name, phone) VALUES (new.id, new.name, new.phone); END",
    "CREATE TRIGGER IF NOT EXISTS customers_fts_ad AFTER DELETE ON customers BEGIN "
    "INSERT INTO customers_fts(customers_fts, rowid, name, phone) "
    "VALUES ('delete', old.id, old.name, old.phone); END",
    "CREATE TRIGGER IF NOT EXISTS customers_fts_au AFTER UPDATE OF name, phone ON customers BEGIN "
    "INSERT INTO customers_fts(customers_fts, rowid, name, phone) "
    "VALUES ('delete', old.id, old.name, old.phone); "
    "INSERT INTO customers_fts(rowid, name, phone) VALUES (new.id, new.name, new.phone); END",
    "INSERT INTO customers_fts(customers_fts) VALUES ('rebuild')",
]
_SQLITE_FTS_DROP = [
    "DROP TRIGGER IF EXISTS customers_fts_ai",
    "DROP TRIGGER IF EXISTS customers_fts_ad",
    "DROP TRIGGER IF EXISTS customers_fts_au",
    "DROP TABLE IF EXISTS customers_fts",
]
_PG_TRGM = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS ix_customers_name_trgm ON customers USING gin (name gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS ix_customers_phone_trgm ON customers USING gin (phone gin_trgm_ops)",
]
_PG_TRGM_DROP = [
    "DROP INDEX IF EXISTS ix_customers_name_trgm",
    "DROP INDEX IF EXISTS ix_customers_phone_trgm",
]


class SchemaError(RuntimeError):
    """The database does not hold (only) this app's schema."""


def our_table_names() -> set[str]:
    return {t.name for t in TABLES}


def foreign_tables(engine: Engine) -> set[str]:
    """Tables in the database that are not ours (FTS shadow tables excepted)."""
    names = set(inspect(engine).get_table_names())
    return {n for n in names if n not in our_table_names() and not n.startswith("customers_fts")}


def has_schema(engine: Engine) -> bool:
    return our_table_names() <= set(inspect(engine).get_table_names())


def create_schema(engine: Engine, index_level: str = "basic") -> None:
    """Create every table (idempotent), record the schema version and a token signing key."""
    _check_level(index_level)
    Base.metadata.create_all(engine)
    with engine.begin() as conn:
        _put_meta(conn, "schema_version", SCHEMA_VERSION, overwrite=True)
        _put_meta(conn, "secret_key", secrets.token_urlsafe(48), overwrite=False)
        _put_meta(conn, "index_level", "basic", overwrite=False)
    set_index_level(engine, index_level)


def drop_schema(engine: Engine) -> None:
    """Drop everything this app created (used by tests and by seed resets)."""
    with engine.begin() as conn:
        _drop_search_indexes(conn)
    Base.metadata.drop_all(engine)


def get_meta(conn: Connection, key: str) -> str | None:
    return conn.execute(select(AppMeta.value).where(AppMeta.key == key)).scalar_one_or_none()


def index_level(engine: Engine) -> str:
    with engine.connect() as conn:
        return get_meta(conn, "index_level") or "basic"


def set_index_level(engine: Engine, level: str) -> None:
    """Add or remove the tuned search indexes so that the database is at ``level``."""
    _check_level(level)
    with engine.begin() as conn:
        if level == "tuned":
            _create_search_indexes(conn)
        else:
            _drop_search_indexes(conn)
        _put_meta(conn, "index_level", level, overwrite=True)


def drop_search_indexes(engine: Engine) -> None:
    """Drop the tuned search indexes without changing the recorded level.

    For bulk loads: loading rows into an indexed (and, on SQLite, trigger-maintained) table is far
    slower than building the index once afterwards with :func:`restore_search_indexes`.
    """
    with engine.begin() as conn:
        _drop_search_indexes(conn)


def restore_search_indexes(engine: Engine) -> None:
    """Rebuild the search indexes that the recorded level asks for."""
    set_index_level(engine, index_level(engine))


def _create_search_indexes(conn: Connection) -> None:
    dialect = conn.dialect.name
    if dialect == "sqlite":
        for stmt in _SQLITE_FTS:
            conn.exec_driver_sql(stmt)
    elif dialect == "postgresql":
        for stmt in _PG_TRGM:
            conn.exec_driver_sql(stmt)
    # MariaDB/MySQL: nothing sub-linear exists for contains-search (see the module docstring).


def _drop_search_indexes(conn: Connection) -> None:
    dialect = conn.dialect.name
    if dialect == "sqlite":
        for stmt in _SQLITE_FTS_DROP:
            conn.exec_driver_sql(stmt)
    elif dialect == "postgresql":
        for stmt in _PG_TRGM_DROP:
            conn.exec_driver_sql(stmt)


def _put_meta(conn: Connection, key: str, value: str, *, overwrite: bool) -> None:
    current = get_meta(conn, key)
    if current is None:
        conn.execute(AppMeta.__table__.insert().values(key=key, value=value))
    elif overwrite and current != value:
        conn.execute(AppMeta.__table__.update().where(AppMeta.key == key).values(value=value))


def _check_level(level: str) -> None:
    if level not in INDEX_LEVELS:
        raise ValueError(f"index level must be one of {', '.join(INDEX_LEVELS)}, not {level!r}")


__all__ = [
    "SCHEMA_VERSION", "INDEX_LEVELS", "SchemaError", "create_schema", "drop_schema", "has_schema",
    "foreign_tables", "our_table_names", "get_meta", "index_level", "set_index_level",
    "drop_search_indexes", "restore_search_indexes",
]
