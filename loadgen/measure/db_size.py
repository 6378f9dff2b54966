"""How many bytes the system's database takes on disk, polled by the resource sampler."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


def db_size_fn(db_url: str, arch: str = "monolith") -> Callable[[], int | None]:
    """Bytes the database takes on disk: files for SQLite, the server's own figure otherwise. For
    ``arch`` microservices: the sum over the services' databases (derived from ``db_url``)."""
    from sqlalchemy import create_engine, make_url, text

    if arch == "microservices":
        from reference_app.micro.topology import service_urls

        parts = [db_size_fn(u) for u in service_urls(db_url).values()]

        def services_size() -> int | None:
            sizes = [f() for f in parts]
            return None if any(x is None for x in sizes) else sum(sizes)

        def dispose() -> None:
            for f in parts:
                getattr(f, "dispose", lambda: None)()
        services_size.dispose = dispose  # type: ignore[attr-defined]
        return services_size

    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        base = Path(url.database or "")

        def sqlite_size() -> int:
            return sum(p.stat().st_size for p in (base, Path(f"{base}-wal"), Path(f"{base}-shm")) if p.exists())
        return sqlite_size
    eng = create_engine(db_url, pool_size=1, max_overflow=0)
    q = ("SELECT pg_database_size(current_database())" if url.get_backend_name() == "postgresql" else
         "SELECT COALESCE(SUM(data_length + index_length), 0) FROM information_schema.tables "
         "WHERE table_schema = DATABASE()")

    def server_size() -> int | None:
        with eng.connect() as c:
            return int(c.execute(text(q)).scalar_one())
    server_size.dispose = eng.dispose  # type: ignore[attr-defined]
    return server_size


__all__ = ["db_size_fn"]
