"""Which service owns which tables, and where each service's database lives.

One profile URL names a *family* of databases, one per service, on the same engine: SQLite files
``jxc.customers.sqlite`` ... beside the given file; on PostgreSQL/MariaDB the databases
``<name>_customers`` ... on the same server. Each service's schema holds its own tables only, with
the foreign keys *inside* the service kept and those that would cross a service boundary dropped
(a sales order's customer lives in another database; the cross-service audit checks those links).
"""

from __future__ import annotations

import secrets
from sqlalchemy import (
    CheckConstraint, Column, Engine, ForeignKeyConstraint, Index, MetaData, Table, create_engine, make_url, text,
)
from sqlalchemy.engine import URL

from reference_app.db import backend_of, make_engine, normalise_url
from reference_app.micro.models import MicroBase
from reference_app.models import Base
from reference_app.schema import INDEX_LEVELS, _create_search_indexes, _put_meta, get_meta

SERVICES = ("customers", "inventory", "orders")
OWNED = {
    "customers": ("app_meta", "operators", "customers", "balance_moves"),
    "inventory": ("app_meta", "products", "warehouses", "suppliers", "stock", "stock_moves", "reservations"),
    "orders": ("app_meta", "sales_orders", "sales_order_lines", "purchase_orders", "purchase_order_lines",
               "payments", "sagas"),
}


def owner_of(table: str) -> str:
    for service, tables in OWNED.items():
        if table in tables and table != "app_meta":
            return service
    raise KeyError(table)


def service_urls(url: str | URL) -> dict[str, str]:
    """The database URL of each service, derived from the profile's ``url``."""
    u = normalise_url(url)
    out = {}
    for service in SERVICES:
        if backend_of(u) == "sqlite":
            path = u.database or ""
            stem, dot, ext = path.rpartition(".")
            name = f"{stem}.{service}.{ext}" if dot and "/" not in ext else f"{path}.{service}"
            out[service] = u.set(database=name).render_as_string(hide_password=False)
        else:
            out[service] = u.set(database=f"{u.database}_{service}").render_as_string(hide_password=False)
    return out


def _table_copy(table: Table, md: MetaData, owned: set[str]) -> Table:
    cols = [Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable, autoincrement=c.autoincrement,
                   unique=c.unique or None, index=c.index or None, default=c.default)
            for c in table.c]
    extra = []
    for fk in table.foreign_key_constraints:
        if fk.referred_table.name in owned:
            extra.append(ForeignKeyConstraint([c.name for c in fk.columns],
                                              [f"{fk.referred_table.name}.{e.column.name}" for e in fk.elements]))
    for cc in table.constraints:
        if isinstance(cc, CheckConstraint):
            extra.append(CheckConstraint(cc.sqltext, name=cc.name))
    copy = Table(table.name, md, *cols, *extra)
    for ix in table.indexes:
        if not any(c.index for c in ix.columns if len(ix.columns) == 1):
            Index(ix.name, *[copy.c[c.name] for c in ix.columns], unique=ix.unique)
    return copy


def service_metadata(service: str) -> MetaData:
    """The tables of ``service`` without the foreign keys that would leave its database."""
    owned = set(OWNED[service])
    md = MetaData()
    for source in (Base.metadata, MicroBase.metadata):
        for table in source.sorted_tables:
            if table.name in owned:
                _table_copy(table, md, owned)
    return md


def create_service_databases(url: str | URL) -> dict[str, str]:
    """Create the per-service databases on a server (nothing to do for SQLite); their URLs."""
    urls = service_urls(url)
    backend = backend_of(url)
    if backend != "sqlite":
        admin = _admin_engine(url)
        try:
            with admin.connect() as conn:
                for u in urls.values():
                    name = make_url(u).database
                    if backend == "postgresql":
                        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
                        if not exists:
                            conn.execute(text(f'CREATE DATABASE "{name}" ENCODING \'UTF8\' TEMPLATE template0'))
                    else:
                        conn.execute(text(f"CREATE DATABASE IF NOT EXISTS `{name}` "
                                          "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
        finally:
            admin.dispose()
    return urls


def drop_service_databases(url: str | URL) -> None:
    """Drop the per-service databases (or delete the SQLite files)."""
    urls = service_urls(url)
    backend = backend_of(url)
    if backend == "sqlite":
        import pathlib
        for u in urls.values():
            for suffix in ("", "-wal", "-shm"):
                pathlib.Path((make_url(u).database or "") + suffix).unlink(missing_ok=True)
        return
    admin = _admin_engine(url)
    try:
        with admin.connect() as conn:
            for u in urls.values():
                name = make_url(u).database
                if backend == "postgresql":
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                else:
                    conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
    finally:
        admin.dispose()


def _admin_engine(url: str | URL) -> Engine:
    u = normalise_url(url)
    admin = u.set(database="postgres" if backend_of(u) == "postgresql" else None)
    return create_engine(admin, isolation_level="AUTOCOMMIT")


def create_service_schemas(url: str | URL, index_level: str = "basic") -> dict[str, str]:
    """Every service's database and tables (idempotent); one token signing key shared by all three,
    so that a token issued by *customers* is good everywhere. Returns the service URLs."""
    if index_level not in INDEX_LEVELS:
        raise ValueError(f"index level must be one of {', '.join(INDEX_LEVELS)}, not {index_level!r}")
    urls = create_service_databases(url)
    secret = None
    for service in SERVICES:
        engine = make_engine(urls[service], pool_size=1, max_overflow=0)
        try:
            service_metadata(service).create_all(engine)
            with engine.begin() as conn:
                _put_meta(conn, "schema_version", "1", overwrite=True)
                if secret is None:
                    _put_meta(conn, "secret_key", secrets.token_urlsafe(48), overwrite=False)
                    secret = get_meta(conn, "secret_key")
                else:
                    _put_meta(conn, "secret_key", secret, overwrite=True)
                _put_meta(conn, "index_level", index_level, overwrite=True)
                if service == "customers" and index_level == "tuned":
                    _create_search_indexes(conn)
        finally:
            engine.dispose()
    return urls


def engines(urls: dict[str, str]) -> dict[str, Engine]:
    return {s: make_engine(u, pool_size=2, max_overflow=2) for s, u in urls.items()}


__all__ = ["SERVICES", "OWNED", "owner_of", "service_urls", "service_metadata", "create_service_databases",
           "drop_service_databases", "create_service_schemas", "engines"]
