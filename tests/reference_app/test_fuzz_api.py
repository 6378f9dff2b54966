"""Property-based fuzzing of the API from its own OpenAPI schema (schemathesis), as each role.

Every operation of ``/openapi.json`` gets generated requests (valid and invalid: wrong types,
out-of-range numbers, odd strings, missing fields), each sent as admin, manager, salesperson, clerk
and without a token, to the app in-process on SQLite with a few rows of every kind — the monolith,
and the microservices' gateway (which serves the monolith's ``/openapi.json``). Two properties:
no answer is a 5xx, and every answer the schema documents conforms to it (status code, body).
Bounded (``MAX_EXAMPLES`` per operation, no deadline) so that the whole run stays well under a minute.
"""

from __future__ import annotations

import pytest
import schemathesis  # the test extras install it: a missing one fails here, never skips
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from reference_app.config import Settings
from reference_app.db import make_engine
from reference_app.main import create_app
from reference_app.micro.inprocess import assemble
from reference_app.micro.topology import create_service_schemas
from reference_app.models import Operator
from reference_app.schema import create_schema
from reference_app.security import hash_password

MAX_EXAMPLES = 8
PASSWORD = "fuzz-password-1"
ROLES = {"admin": ("admin", None), "mgr": ("manager", "A"), "sales": ("sales", "A"), "clerk": ("clerk", None)}
TOKENS: dict[str, str] = {}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=["monolith", "microservices"])
def fuzz_app(request, tmp_path_factory):
    from fastapi.testclient import TestClient

    url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'jxc.sqlite'}"
    micro = request.param == "microservices"
    if micro:
        engine = make_engine(create_service_schemas(url, "tuned")["customers"], pool_size=1, max_overflow=0)
    else:
        engine = make_engine(url, pool_size=1, max_overflow=0)
        create_schema(engine, "tuned")
    with engine.begin() as conn:
        for name, (role, team) in ROLES.items():
            conn.execute(Operator.__table__.insert().values(username=name, password_hash=hash_password(PASSWORD),
                                                            role=role, team=team, customer_quota=50,
                                                            customer_count=0))
    engine.dispose()
    app = assemble(url, pool_size=4, max_overflow=4)[0] if micro else create_app(
        Settings(database_url=url, pool_size=4, max_overflow=4))
    with TestClient(app) as client:
        for name in ROLES:
            r = client.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD})
            TOKENS[name] = r.json()["access_token"]
        auth = {k: {"Authorization": f"Bearer {v}"} for k, v in TOKENS.items()}
        wh = client.post("/api/v1/warehouses", json={"code": "W1", "name": "w1"}, headers=auth["clerk"]).json()
        sup = client.post("/api/v1/suppliers", json={"code": "S1", "name": "s1"}, headers=auth["clerk"]).json()
        prod = client.post("/api/v1/products", json={"sku": "P1", "name": "商品", "category": "c", "unit": "pc",
                                                     "price": "9.90", "cost": "1.00"}, headers=auth["clerk"]).json()
        po = client.post("/api/v1/purchase-orders", json={"supplier_id": sup["id"], "warehouse_id": wh["id"],
                                                          "lines": [{"product_id": prod["id"], "qty": 100}]},
                         headers=auth["clerk"]).json()
        client.post(f"/api/v1/purchase-orders/{po['id']}/receive", headers=auth["clerk"])
        cust = client.post("/api/v1/customers", json={"name": "客户一", "phone": "13900000001"},
                           headers=auth["sales"]).json()
        client.post("/api/v1/sales-orders", json={"customer_id": cust["id"], "warehouse_id": wh["id"],
                                                  "lines": [{"product_id": prod["id"], "qty": 1}]},
                    headers=auth["sales"])
    if micro:  # the setup's assembly closed its peer clients on leaving; schemathesis gets a fresh one
        for service in app.state.services.values():
            service.state.db.dispose()
        app = assemble(url, pool_size=4, max_overflow=4)[0]
    yield app
    for a in getattr(app.state, "services", {}).values() or [app]:
        a.state.db.dispose()


@pytest.fixture(scope="module")
def api_schema(fuzz_app):
    return schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)


schema = schemathesis.pytest.from_fixture("api_schema")
_SEEN: dict[str, int] = {}


def _fewer(case) -> bool:
    """True for every other example of an operation."""
    name = f"{case.method} {case.path}"
    _SEEN[name] = _SEEN.get(name, 0) + 1
    return _SEEN[name] % 2 == 0


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck), database=None)
def test_no_5xx_and_every_answer_matches_the_schema(case, fuzz_app):
    if hasattr(fuzz_app.state, "services") and _fewer(case):
        return  # the gateway's run: half the examples (the routes are the monolith's; the suite stays short)
    for who in (*ROLES, None):
        headers = {"Authorization": f"Bearer {TOKENS[who]}"} if who else {}
        case.call_and_validate(headers=headers, checks=[not_a_server_error, response_schema_conformance])
