"""The three services and the gateway in one process, talking through ASGI instead of sockets.

For tests and for a look at the code paths without ports: the same apps, routes and sagas as the
real deployment (:mod:`.run`), with ``httpx.ASGITransport`` where a socket would be. It does not
measure anything about the network or process isolation; :mod:`.run` does that.
"""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from reference_app.config import Settings
from reference_app.micro.customers import create_customers_app
from reference_app.micro.gateway import create_gateway
from reference_app.micro.inventory import create_inventory_app
from reference_app.micro.orders import create_orders_app
from reference_app.micro.service import MicroSettings, make_peers
from reference_app.micro.topology import service_urls


class _Late:
    """An ASGI app that is one of ``apps`` by name, looked up when called (the services refer to
    each other before all of them exist)."""

    def __init__(self, apps: dict[str, FastAPI], name: str) -> None:
        self.apps, self.name = apps, name

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.apps[self.name](scope, receive, send)


def assemble(url: str, *, micro: MicroSettings | None = None, recovery: bool = False,
             **settings: Any) -> tuple[FastAPI, dict[str, FastAPI]]:
    """The gateway and the three service apps for the database family of ``url`` (schemas created
    beforehand: :func:`~reference_app.micro.topology.create_service_schemas`)."""
    micro = micro or MicroSettings()
    urls = service_urls(url)
    apps: dict[str, FastAPI] = {}
    transports = {name: httpx.ASGITransport(app=_Late(apps, name)) for name in urls}
    apps["customers"] = create_customers_app(Settings(database_url=urls["customers"], **settings), micro,
                                             make_peers(micro, ["orders"], transports))
    apps["inventory"] = create_inventory_app(Settings(database_url=urls["inventory"], **settings), micro,
                                             make_peers(micro, ["customers"], transports))
    apps["orders"] = create_orders_app(Settings(database_url=urls["orders"], **settings), micro,
                                       make_peers(micro, ["customers", "inventory"], transports), recovery=recovery)
    gateway = create_gateway(transports=transports, children=list(apps.values()))
    gateway.state.services = apps
    gateway.state.secret_key = apps["customers"].state.secret_key
    return gateway, apps


__all__ = ["assemble"]
