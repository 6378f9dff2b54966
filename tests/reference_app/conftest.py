"""A small JXC world per engine, shared by the tests of one module.

Module-scoped: a fresh database on each real engine (via :mod:`tests.dbs`, so servers are required
in CI and skipped with a reason elsewhere), the app in-process behind FastAPI's TestClient, and one
login per operator (Argon2 costs ~50 ms a login; per test it would dominate the suite).

Parameterised by architecture too: ``micro-sqlite`` and ``micro-postgresql`` run the same tests
against the microservices' gateway (:mod:`reference_app.micro`: three services, three databases,
assembled in-process); ``JXCBENCH_TEST_MICRO_BACKENDS=sqlite,postgresql,mysql`` adds MariaDB (it
passes; left out of the default run to keep the suite short). Tests that look inside the app reach it through ``world.app_of(service)``
and ``world.engine_for(table)``, which name the service that owns what they look at.

Operators: admin; team A = manager ``mgr_a``, salespeople ``sales_a1``, ``sales_a2``; team B =
manager ``mgr_b``, salesperson ``sales_b1``; clerk ``clerk``.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from reference_app.config import Settings
from reference_app.db import make_engine
from reference_app.audit import audit
from reference_app.main import create_app
from reference_app.micro.audit import audit_services
from reference_app.micro.inprocess import assemble
from reference_app.micro.topology import create_service_schemas, drop_service_databases, owner_of
from reference_app.models import Operator
from reference_app.schema import create_schema
from reference_app.security import hash_password
from tests.dbs import BACKENDS, fresh_database

PASSWORD = "test-password-1"
OPERATORS = [
    # username, role, team, quota
    ("admin", "admin", None, 1000),
    ("mgr_a", "manager", "A", 1000),
    ("sales_a1", "sales", "A", 1000),
    ("sales_a2", "sales", "A", 1000),
    ("mgr_b", "manager", "B", 1000),
    ("sales_b1", "sales", "B", 1000),
    ("clerk", "clerk", None, 0),
]


@dataclass
class World:
    backend: str
    url: str
    engine: Engine | None  # the monolith's database (None for microservices: see engine_for)
    client: TestClient
    arch: str = "monolith"
    engines: dict[str, Engine] = field(default_factory=dict)  # microservices: per service
    tokens: dict[str, str] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)  # operator ids by username
    catalog: dict[str, Any] = field(default_factory=dict)
    _seq: int = 0

    @property
    def micro(self) -> bool:
        return self.arch == "microservices"

    def engine_for(self, table: str) -> Engine:
        """The database that holds ``table``."""
        return self.engines[owner_of(table)] if self.micro else self.engine

    def app_of(self, service: str):
        """The app serving ``service``'s routes (the monolith serves them all)."""
        return self.client.app.state.services[service] if self.micro else self.client.app

    def audit(self):
        return audit_services(self.engines) if self.micro else audit(self.engine)

    def make_app(self):
        """A second app on the same database(s), e.g. to serve under a real uvicorn."""
        if self.micro:
            return assemble(self.url, pool_size=8, max_overflow=4)[0]
        return create_app(Settings(database_url=self.url, pool_size=8, max_overflow=4))

    @staticmethod
    def dispose(app) -> None:
        for a in getattr(app.state, "services", {}).values() or [app]:
            a.state.db.dispose()

    @staticmethod
    def retried(app) -> int:
        return sum(a.state.db.retried for a in (getattr(app.state, "services", {}).values() or [app]))

    def h(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def get(self, who: str, path: str, **kw):
        return self.client.get(f"/api/v1{path}", headers=self.h(who), **kw)

    def post(self, who: str, path: str, body: Any = None, **kw):
        return self.client.post(f"/api/v1{path}", json=body, headers=self.h(who), **kw)

    def patch(self, who: str, path: str, body: Any, **kw):
        return self.client.patch(f"/api/v1{path}", json=body, headers=self.h(who), **kw)

    def unique(self, prefix: str) -> str:
        self._seq += 1
        return f"{prefix}{self._seq:05d}"

    def new_customer(self, who: str, *, credit_limit: str = "100000.00", **fields) -> dict:
        body = {"name": self.unique("客户"), "phone": self.unique("139"), "credit_limit": credit_limit, **fields}
        r = self.post(who, "/customers", body)
        assert r.status_code == 201, r.text
        return r.json()

    def new_product(self, *, price: str = "10.00", on_hand: int = 0, warehouse: str = "w1") -> dict:
        r = self.post("clerk", "/products", {"sku": self.unique("SKU"), "name": self.unique("商品"),
                                             "category": "general", "unit": "pc", "price": price, "cost": "1.00"})
        assert r.status_code == 201, r.text
        product = r.json()
        if on_hand:
            self.receive(product["id"], on_hand, warehouse=warehouse)
        return product

    def receive(self, product_id: int, qty: int, *, warehouse: str = "w1") -> dict:
        po = self.post("clerk", "/purchase-orders", {
            "supplier_id": self.catalog["supplier"]["id"], "warehouse_id": self.catalog[warehouse]["id"],
            "lines": [{"product_id": product_id, "qty": qty}]})
        assert po.status_code == 201, po.text
        r = self.post("clerk", f"/purchase-orders/{po.json()['id']}/receive")
        assert r.status_code == 200, r.text
        return r.json()

    def order(self, who: str, customer_id: int, lines: list[tuple[int, int]], *, warehouse: str = "w1"):
        return self.post(who, "/sales-orders", {
            "customer_id": customer_id, "warehouse_id": self.catalog[warehouse]["id"],
            "lines": [{"product_id": p, "qty": q} for p, q in lines]})

    def on_hand(self, product_id: int, warehouse: str = "w1") -> int:
        items = self.get("clerk", "/stock", params={"product_id": product_id,
                                                   "warehouse_id": self.catalog[warehouse]["id"]}).json()["items"]
        return items[0]["on_hand"] if items else 0


MICRO_BACKENDS = tuple(os.environ.get("JXCBENCH_TEST_MICRO_BACKENDS", "sqlite,postgresql").split(","))


def _param(backend: str, arch: str = "monolith"):
    marks = [getattr(pytest.mark, backend)] if backend != "sqlite" else []
    name = backend if arch == "monolith" else f"micro-{backend}"
    return pytest.param((arch, backend), marks=marks, id=name)


def world_params():
    return [_param(b) for b in BACKENDS] + [_param(b, "microservices") for b in MICRO_BACKENDS]


@contextmanager
def _databases(arch: str, backend: str, url: str):
    """The schema (and, for microservices, the per-service databases); their engines."""
    if arch == "monolith":
        engine = make_engine(url, pool_size=2, max_overflow=2)
        create_schema(engine, "tuned")
        try:
            yield {"monolith": engine}
        finally:
            engine.dispose()
        return
    urls = create_service_schemas(url, "tuned")
    engines = {s: make_engine(u, pool_size=2, max_overflow=2) for s, u in urls.items()}
    try:
        yield engines
    finally:
        for e in engines.values():
            e.dispose()
        if backend != "sqlite":
            drop_service_databases(url)


@pytest.fixture(scope="module", params=world_params())
def world(request, tmp_path_factory):
    arch, backend = request.param
    with fresh_database(backend, tmp_path_factory.mktemp(backend)) as url, _databases(arch, backend, url) as engines:
        micro = arch == "microservices"
        password_hash = hash_password(PASSWORD)
        with engines["customers" if micro else "monolith"].begin() as conn:
            for username, role, team, quota in OPERATORS:
                conn.execute(Operator.__table__.insert().values(
                    username=username, password_hash=password_hash, role=role, team=team,
                    customer_quota=quota, customer_count=0))
        if micro:
            app = assemble(url, pool_size=4, max_overflow=8)[0]
        else:
            app = create_app(Settings(database_url=url, pool_size=4, max_overflow=8))
        try:
            with TestClient(app) as client:
                w = World(backend=backend, url=url, engine=engines.get("monolith"), client=client, arch=arch,
                          engines={} if not micro else engines)
                for username, *_ in OPERATORS:
                    r = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
                    assert r.status_code == 200, r.text
                    w.tokens[username] = r.json()["access_token"]
                    w.ids[username] = r.json()["operator"]["id"]
                for key in ("w1", "w2"):
                    r = w.post("clerk", "/warehouses", {"code": w.unique("WH"), "name": key})
                    assert r.status_code == 201, r.text
                    w.catalog[key] = r.json()
                r = w.post("clerk", "/suppliers", {"code": w.unique("SUP"), "name": "supplier"})
                assert r.status_code == 201, r.text
                w.catalog["supplier"] = r.json()
                yield w
        finally:
            World.dispose(app)
