"""The app factory: ``uvicorn reference_app.main:create_app --factory``.

Each worker process builds one :class:`~reference_app.services.database.Database` (its own pool of
``JXC_POOL_SIZE`` + ``JXC_MAX_OVERFLOW`` connections) and reads ``app_meta`` once: the token
signing key (unless ``JXC_SECRET_KEY`` is set) and the index level, which picks the search query.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from reference_app.api.errors import install_error_handlers
from reference_app.api.deps import TokenCache
from reference_app.api.router import api_routers
from reference_app.api.workers import WORKERS
from reference_app.config import Settings
from reference_app.db import parse_sqlite_pragmas
from reference_app.services import operators
from reference_app.services.database import Database

log = logging.getLogger(__name__)

# FastAPI >= 0.16x checks on every request whether a global OpenTelemetry provider has been set up
# (several environment look-ups, ~10 µs a request). This app exports no telemetry, so it says so
# once; older FastAPI versions have no such option.
_NO_TELEMETRY = ({"telemetry": {"tracing": False, "metrics": False, "logs": False}}
                 if "telemetry" in inspect.signature(FastAPI.__init__).parameters else {})


def database_of(settings: Settings) -> Database:
    """The app's database as its settings describe it (the monolith's and each service's)."""
    return Database(settings.database_url, pool_size=settings.pool_size, max_overflow=settings.max_overflow,
                    retries=settings.write_retries, sqlite_pragmas=parse_sqlite_pragmas(settings.sqlite_pragmas))


async def start_database(settings: Settings, db: Database, label: str = "database") -> None:
    """What an app does at startup, monolith or service: as many worker threads as pooled
    connections (extra requests then wait in the event loop, cheaply and in order, instead of in
    threads that time out waiting for a connection; the database calls of requests hop on WORKERS,
    anyio's threads serve what FastAPI itself offloads: sync handlers such as /healthz, streamed
    exports), then a first read of the database's metadata."""
    threads = settings.pool_size + settings.max_overflow
    WORKERS.ensure(threads)
    to_thread.current_default_thread_limiter().total_tokens = threads
    try:
        await run_in_threadpool(db.meta)
    except Exception as exc:  # noqa: BLE001 - the DB may come up later; /healthz says so
        log.warning("%s not ready at startup (%s); will retry on first request", label, exc)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    db = database_of(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await start_database(settings, db)
        yield
        db.dispose()

    app = FastAPI(
        **_NO_TELEMETRY,
        title="jxcbench reference JXC app",
        summary="Customers, catalog, stock ledger, sales and purchasing, payments, reports.",
        version="1",
        lifespan=lifespan,
    )
    app.state.db = db
    app.state.settings = settings
    app.state.secret_key = lambda: settings.secret_key or db.meta()["secret_key"]
    app.state.tokens = TokenCache(app.state.secret_key, operator=lambda oid: operators.role_and_team(db, oid))
    install_error_handlers(app)
    for router in api_routers:
        app.include_router(router, prefix="/api/v1")

    @app.get("/healthz", tags=["health"])
    def healthz():
        """200 once the database answers, 503 while it does not."""
        try:
            db.ping()
            db.meta()
        except Exception as exc:  # noqa: BLE001
            return JSONResponse({"status": "unavailable", "detail": exc.__class__.__name__}, status_code=503)
        return {"status": "ok"}

    return app


__all__ = ["create_app"]
