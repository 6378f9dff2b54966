"""What the three services share: settings, the app factory, internal-call auth, error answers.

A service is the monolith's app cut down to the routers of what it owns (reused as they are where
the monolith's code only touches its own tables), plus ``/internal/...`` routes that its peers call.
The gateway never exposes ``/internal``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from reference_app.api.deps import TokenCache
from reference_app.api.errors import install_error_handlers
from reference_app.config import Settings
from reference_app.domain import Forbidden
from reference_app.main import database_of, start_database
from reference_app.micro.peers import INTERNAL_HEADER, Peer, PeerRefused, PeerUnavailable, internal_token
from reference_app.services.database import Database

log = logging.getLogger(__name__)


class MicroSettings(BaseSettings):
    """The services' own settings (``JXC_*``, beside :class:`~reference_app.config.Settings`)."""

    model_config = SettingsConfigDict(env_prefix="JXC_", extra="ignore")

    customers_url: str = "http://customers"
    inventory_url: str = "http://inventory"
    orders_url: str = "http://orders"
    # A call to a peer that takes longer fails (and a saga step is then compensated).
    peer_timeout_s: float = Field(default=5.0, gt=0, le=300)
    # A saga still pending after this long lost its request (crash, timeout): recovery compensates it.
    saga_grace_s: float = Field(default=30.0, gt=0)
    recovery_interval_s: float = Field(default=5.0, gt=0)


@dataclass
class Service:
    """One service process's state: its database, its peers and the internal-call token."""

    name: str
    db: Database
    settings: Settings
    micro: MicroSettings
    peers: dict[str, Peer] = field(default_factory=dict)

    @property
    def internal(self) -> str:
        return internal_token(self.settings.secret_key or self.db.meta()["secret_key"])

    def peer(self, name: str) -> Peer:
        return self.peers[name]


def get_service(request: Request) -> Service:
    return request.app.state.service


ServiceDep = Annotated[Service, Depends(get_service)]


async def internal_caller(request: Request) -> None:
    """Only a peer (holding the shared internal token) may call this route."""
    svc: Service = request.app.state.service
    if request.headers.get(INTERNAL_HEADER) != svc.internal:
        raise Forbidden("internal route")


InternalOnly = Depends(internal_caller)


def bearer(request: Request) -> str:
    """The caller's bearer token, to act on its behalf at a peer."""
    return (request.headers.get("authorization") or "").partition(" ")[2]


async def _peer_refused(_request: Request, exc: PeerRefused) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return JSONResponse(exc.body, status_code=exc.status, headers=headers)


async def _peer_unavailable(_request: Request, exc: PeerUnavailable) -> JSONResponse:
    return JSONResponse({"detail": f"service {exc.service} unavailable, retry later", "error": exc.__class__.__name__},
                        status_code=503, headers={"Retry-After": "1"})


def make_peers(micro: MicroSettings, names: Iterable[str], transports: dict[str, Any] | None = None) -> dict[str, Peer]:
    urls = {"customers": micro.customers_url, "inventory": micro.inventory_url, "orders": micro.orders_url}
    transports = transports or {}
    return {n: Peer(n, urls[n], transport=transports.get(n), timeout_s=micro.peer_timeout_s) for n in names}


def service_app(name: str, settings: Settings, micro: MicroSettings, peers: dict[str, Peer],
                public: Iterable[APIRouter], internal: APIRouter, *,
                operator: Callable[[Service], Callable[[int], Any]] | None,
                background: Callable[[Service], Awaitable[None]] | None = None) -> FastAPI:
    """A FastAPI app for service ``name``: the ``public`` routers under /api/v1, ``internal`` under
    /internal; ``operator`` is the TokenCache's recheck (local for customers, an HTTP call for the
    others: :func:`remote_operator`)."""
    db = database_of(settings)
    svc = Service(name, db, settings, micro, peers)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await start_database(settings, db, f"{name}: database")
        task = None
        if background is not None:
            task = asyncio.create_task(background(svc))
        yield
        if task is not None:
            task.cancel()
        for peer in peers.values():
            await peer.aclose()
        db.dispose()

    app = FastAPI(title=f"jxcbench reference JXC app: {name} service", version="1", lifespan=lifespan)
    app.state.service = svc
    app.state.db = db
    app.state.settings = settings
    app.state.secret_key = lambda: settings.secret_key or db.meta()["secret_key"]
    app.state.tokens = TokenCache(app.state.secret_key, operator=operator(svc) if operator else None)
    install_error_handlers(app)
    app.add_exception_handler(PeerRefused, _peer_refused)
    app.add_exception_handler(PeerUnavailable, _peer_unavailable)
    for router in public:
        app.include_router(router, prefix="/api/v1")
    app.include_router(internal, prefix="/internal", include_in_schema=False)

    @app.get("/healthz", tags=["health"])
    def healthz():
        """200 once the service's database answers, 503 while it does not."""
        try:
            db.ping()
            db.meta()
        except Exception as exc:  # noqa: BLE001
            return JSONResponse({"status": "unavailable", "detail": exc.__class__.__name__}, status_code=503)
        return {"status": "ok", "service": name}

    return app


def remote_operator(svc: Service) -> Callable[[int], Awaitable[Any]]:
    """The TokenCache recheck of a service whose operators live in *customers*."""
    async def check(operator_id: int) -> tuple[str, str | None] | None:
        try:
            found = await svc.peer("customers").call("GET", f"/internal/operators/{operator_id}",
                                                     internal=svc.internal)
        except PeerRefused as exc:
            if exc.status == 404:
                return None
            raise
        return found["role"], found["team"]
    return check


def subset(router: APIRouter, keep: Callable[[Any], bool]) -> APIRouter:
    """A router holding the routes of ``router`` that ``keep`` accepts, in their order."""
    out = APIRouter()
    out.routes.extend(r for r in router.routes if keep(r))
    return out


__all__ = ["MicroSettings", "Service", "ServiceDep", "InternalOnly", "bearer", "get_service", "make_peers",
           "service_app", "remote_operator", "subset"]
