"""The gateway: the monolith's public API on one port, each request forwarded to its service.

A pure reverse proxy: it owns no data and checks nothing itself, so that every status code, body
and permission is the one the (monolith's) route in the owning service produces. Requests and
answers are streamed (a customer export is not buffered here). ``/openapi.json`` is the monolith's
own document, so a client generated from either is the same client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import JSONResponse
from starlette.background import BackgroundTask
from starlette.responses import Response, StreamingResponse

# (path prefix, service): the first whose prefix is the path or a parent of it wins.
ROUTES = (
    ("/api/v1/auth", "customers"), ("/api/v1/operators", "customers"), ("/api/v1/customers", "customers"),
    ("/api/v1/products", "inventory"), ("/api/v1/warehouses", "inventory"), ("/api/v1/suppliers", "inventory"),
    ("/api/v1/stock", "inventory"), ("/api/v1/reports/stock-levels", "inventory"),
    ("/api/v1/reports", "orders"), ("/api/v1/sales-orders", "orders"), ("/api/v1/purchase-orders", "orders"),
    ("/api/v1/payments", "orders"),
)
_HOP = {"host", "connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-authorization",
        "proxy-connection", "content-length"}
METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE", "HEAD", "OPTIONS"]


def service_for(path: str) -> str | None:
    for prefix, service in ROUTES:
        if path == prefix or path.startswith(prefix + "/"):
            return service
    return None


def monolith_openapi() -> dict[str, Any]:
    """The monolith's OpenAPI document, built from its routers (no database needed)."""
    from reference_app.api.router import api_routers
    doc = FastAPI(title="jxcbench reference JXC app",
                  summary="Customers, catalog, stock ledger, sales and purchasing, payments, reports.", version="1")
    for router in api_routers:
        doc.include_router(router, prefix="/api/v1")

    @doc.get("/healthz", tags=["health"])
    def healthz():
        """200 once the database answers, 503 while it does not."""

    return doc.openapi()


def create_gateway(urls: dict[str, str] | None = None, *, transports: dict[str, Any] | None = None,
                   timeout_s: float = 30.0, connections: int = 256, children: list[FastAPI] | None = None) -> FastAPI:
    """The gateway in front of the services at ``urls`` (``{"customers": "http://127.0.0.1:8101", ...}``)
    or reached through ``transports``; ``children``: apps served in this process (in-process
    assembly, :mod:`.inprocess`) whose lifespans the gateway's own runs."""
    urls = urls or {}
    transports = transports or {}
    clients = {
        name: httpx.AsyncClient(base_url=urls.get(name, f"http://{name}"), transport=transports.get(name),
                                timeout=httpx.Timeout(timeout_s, connect=2.0),
                                limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections))
        for name in ("customers", "inventory", "orders")
    }
    schema = monolith_openapi()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            for child in children or []:
                await stack.enter_async_context(child.router.lifespan_context(child))
            yield
            for client in clients.values():
                await client.aclose()

    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None, lifespan=lifespan)
    app.state.clients = clients

    async def proxy(request: Request) -> Response:
        path = request.url.path
        service = service_for(path)
        if service is None:
            return JSONResponse({"detail": "Not Found"}, status_code=404)
        client = clients[service]
        raw_path = request.scope.get("raw_path") or path.encode()
        query = request.scope.get("query_string") or b""
        target = raw_path.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")
        headers = [(k, v) for k, v in request.headers.raw if k.decode("latin-1").lower() not in _HOP]
        upstream = client.build_request(request.method, target, headers=headers, content=await request.body())
        try:
            answer = await client.send(upstream, stream=True)
        except httpx.TimeoutException:
            return JSONResponse({"detail": f"service {service} timed out, retry later"}, status_code=504)
        except httpx.TransportError as exc:
            return JSONResponse({"detail": f"service {service} unavailable, retry later",
                                 "error": exc.__class__.__name__}, status_code=503, headers={"Retry-After": "1"})
        out_headers = {k: v for k, v in answer.headers.multi_items() if k.lower() not in _HOP - {"content-length"}}
        return StreamingResponse(answer.aiter_raw(), status_code=answer.status_code, headers=out_headers,
                                 background=BackgroundTask(answer.aclose))

    app.router.add_route("/api/{rest:path}", proxy, methods=METHODS, include_in_schema=False)

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi() -> JSONResponse:
        return JSONResponse(schema)

    @app.get("/docs", include_in_schema=False)
    async def docs():
        return get_swagger_ui_html(openapi_url="/openapi.json", title="jxcbench reference JXC app (gateway)")

    @app.get("/healthz")
    async def healthz():
        """200 once every service's database answers, 503 while one does not."""
        down = {}
        for name, client in clients.items():
            try:
                r = await client.get("/healthz")
                if r.status_code != 200:
                    down[name] = r.status_code
            except httpx.HTTPError as exc:
                down[name] = exc.__class__.__name__
        if down:
            return JSONResponse({"status": "unavailable", "detail": down}, status_code=503)
        return {"status": "ok"}

    return app


__all__ = ["ROUTES", "service_for", "create_gateway", "monolith_openapi"]
