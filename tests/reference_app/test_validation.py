"""Bad input answers 4xx naming the field, never 500 (TestClient re-raises any server error)."""

from __future__ import annotations

import datetime as dt

import pytest

from reference_app.security import TokenClaims, create_token

BIG = 2**70


def _locs(r) -> list[list]:
    return [d["loc"] for d in r.json()["detail"]]


def _field_named(r, *path) -> bool:
    return any(tuple(loc[-len(path):]) == path for loc in _locs(r))


@pytest.fixture(scope="module")
def stuff(world):
    return {"product": world.new_product(on_hand=5), "customer": world.new_customer("sales_a1")}


def _order(world, stuff, **changes):
    body = {"customer_id": stuff["customer"]["id"], "warehouse_id": world.catalog["w1"]["id"],
            "lines": [{"product_id": stuff["product"]["id"], "qty": 1}]}
    body.update(changes)
    return world.post("sales_a1", "/sales-orders", body)


@pytest.mark.parametrize("lines, field", [
    ([], ("lines",)),
    ([{"product_id": 1, "qty": 0}], ("qty",)),
    ([{"product_id": 1, "qty": -3}], ("qty",)),
    ([{"product_id": 1, "qty": "many"}], ("qty",)),
    ([{"product_id": 1, "qty": 1.5}], ("qty",)),
    ([{"product_id": "x", "qty": 1}], ("product_id",)),
    ([{"product_id": BIG, "qty": 1}], ("product_id",)),
    ([{"product_id": 1}], ("qty",)),
    ("nope", ("lines",)),
])
def test_bad_order_lines_are_422_naming_the_field(world, stuff, lines, field):
    r = _order(world, stuff, lines=lines)
    assert r.status_code == 422, r.text
    assert _field_named(r, *field), r.json()


def test_unknown_ids_are_named(world, stuff):
    r = _order(world, stuff, lines=[{"product_id": 987654321, "qty": 1}])
    assert r.status_code == 422 and _locs(r) == [["body", "lines", 0, "product_id"]]
    r = _order(world, stuff, warehouse_id=987654321)
    assert r.status_code == 422 and _locs(r) == [["body", "warehouse_id"]]
    assert _order(world, stuff, customer_id=987654321).status_code == 404
    assert _order(world, stuff, customer_id="abc").status_code == 422
    assert world.get("sales_a1", "/customers/987654321").status_code == 404
    assert world.get("sales_a1", "/customers/abc").status_code == 422
    assert world.get("sales_a1", f"/customers/{BIG}").status_code == 422
    assert world.get("sales_a1", "/sales-orders/0").status_code == 422
    r = world.post("clerk", "/purchase-orders", {"supplier_id": 987654321, "warehouse_id": world.catalog["w1"]["id"],
                                                 "lines": [{"product_id": stuff["product"]["id"], "qty": 1}]})
    assert r.status_code == 422 and _locs(r) == [["body", "supplier_id"]]
    r = world.post("sales_a1", "/payments", {"customer_id": 987654321, "amount": "1.00"})
    assert r.status_code == 404


@pytest.mark.parametrize("body, field", [
    ({"name": "x" * 129, "phone": "1"}, "name"),
    ({"name": "ok", "phone": "1" * 33}, "phone"),
    ({"name": "", "phone": "1"}, "name"),
    ({"name": "ok"}, "phone"),
    ({"name": "ok", "phone": "1", "email": "e" * 129}, "email"),
    ({"name": "ok", "phone": "1", "credit_limit": "-5"}, "credit_limit"),
    ({"name": "ok", "phone": "1", "credit_limit": "1.234"}, "credit_limit"),
    ({"name": "ok", "phone": "1", "credit_limit": "lots"}, "credit_limit"),
    ({"name": "ok", "phone": "1", "balance": "100"}, "balance"),
    ({"name": 12, "phone": "1"}, "name"),
])
def test_bad_customer_bodies_are_422_naming_the_field(world, body, field):
    r = world.post("sales_a1", "/customers", body)
    assert r.status_code == 422, r.text
    assert _field_named(r, field), r.json()


def test_patch_refuses_nulls_unknown_fields_and_oversized_values(world, stuff):
    cid = stuff["customer"]["id"]
    for body, field in (({"name": None}, "name"), ({"balance_cents": 1}, "balance_cents"),
                        ({"address": "a" * 256}, "address"), ({"owner_id": 0}, "owner_id")):
        r = world.patch("sales_a1", f"/customers/{cid}", body)
        assert r.status_code == 422 and _field_named(r, field), (body, r.text)
    assert world.patch("sales_a1", f"/customers/{cid}", {"email": None}).status_code == 200


@pytest.mark.parametrize("price", ["-1", "1.001", "abc", 10**12, None])
def test_bad_product_prices_are_422(world, price):
    r = world.post("clerk", "/products", {"sku": "BAD", "name": "n", "category": "c", "unit": "u",
                                          "price": price, "cost": "1"})
    assert r.status_code == 422 and _field_named(r, "price"), r.text


def test_bad_payments_and_queries(world, stuff):
    cid = stuff["customer"]["id"]
    for amount in (0, "-1", "0.001", "x"):
        r = world.post("sales_a1", "/payments", {"customer_id": cid, "amount": amount})
        assert r.status_code == 422 and _field_named(r, "amount"), r.text
    assert world.get("sales_a1", "/customers", params={"limit": 0}).status_code == 422
    assert world.get("sales_a1", "/customers", params={"limit": 101}).status_code == 422
    assert world.get("sales_a1", "/customers", params={"after": -1}).status_code == 422
    assert world.get("sales_a1", "/customers/search", params={"q": ""}).status_code == 422
    assert world.get("sales_a1", "/customers/search", params={"q": "x" * 65}).status_code == 422
    # a NUL is refused by name, not passed on to SQLite's full-text index (which answered with a
    # database error, 503: found by the fuzzing) or to PostgreSQL (which cannot hold one)
    nul = world.get("sales_a1", "/customers/search", params={"q": "客户\x00一"})
    assert nul.status_code == 422 and nul.json()["detail"][0]["loc"] == ["query", "q"], nul.text
    assert world.get("sales_a1", "/customers/search", params={"q": "客户\x14一"}).status_code == 200
    assert world.get("sales_a1", "/reports/top-customers", params={"days": 0}).status_code == 422
    assert world.get("clerk", "/stock", params={"product_id": "p"}).status_code == 422


def test_duplicates_are_409(world):
    body = {"sku": world.unique("DUP"), "name": "n", "category": "c", "unit": "u", "price": 1, "cost": 1}
    assert world.post("clerk", "/products", body).status_code == 201
    r = world.post("clerk", "/products", body)
    assert r.status_code == 409 and "sku" in r.json()["detail"]
    r = world.post("admin", "/operators", {"username": "sales_a1", "password": "longenough", "role": "sales"})
    assert r.status_code == 409 and "username" in r.json()["detail"]
    code = world.unique("CODE")
    world.new_customer("sales_a1", code=code)
    r = world.post("sales_a1", "/customers", {"name": "n", "phone": "1", "code": code})
    assert r.status_code == 409 and "code" in r.json()["detail"]
    assert world.audit().ok  # the refused customer did not keep its quota slot


def test_tokens_missing_malformed_forged_or_expired_are_401(world):
    me = "/api/v1/operators/me"
    assert world.client.get(me).status_code == 401
    for header in ("Bearer", "Bearer not.a.jwt", "Basic dXNlcjpwYXNz", "Bearer " + "a" * 5000):
        r = world.client.get(me, headers={"Authorization": header})
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer", header
    claims = TokenClaims(world.ids["admin"], "admin", None)
    forged = create_token("some-other-key-long-enough-for-hs256!", claims)
    expired = create_token(world.app_of("customers").state.secret_key(), claims, ttl=dt.timedelta(seconds=-5))
    for token in (forged, expired):
        assert world.client.get(me, headers={"Authorization": f"Bearer {token}"}).status_code == 401
    r = world.client.post("/api/v1/auth/login", json={"username": "admin", "password": "wrong-password"})
    assert r.status_code == 401
    r = world.client.post("/api/v1/auth/login", json={"username": "admin"})
    assert r.status_code == 422 and _field_named(r, "password")


def test_roles_are_enforced(world):
    prod = {"sku": world.unique("ROLE"), "name": "n", "category": "c", "unit": "u", "price": 1, "cost": 1}
    for who in ("sales_a1", "mgr_a"):
        assert world.post(who, "/products", prod).status_code == 403
        assert world.post(who, "/warehouses", {"code": "x", "name": "x"}).status_code == 403
        assert world.post(who, "/operators", {"username": "x1", "password": "longenough",
                                              "role": "sales"}).status_code == 403
    assert world.post("sales_a1", "/purchase-orders", {"supplier_id": 1, "warehouse_id": 1,
                                                       "lines": [{"product_id": 1, "qty": 1}]}).status_code == 403
    r = world.post("admin", "/operators", {"username": "x2", "password": "longenough", "role": "boss"})
    assert r.status_code == 422 and _field_named(r, "role")


def test_openapi_and_health(world):
    spec = world.client.get("/openapi.json").json()
    assert "/api/v1/customers/{customer_id}" in spec["paths"]
    assert world.client.get("/healthz").json() == {"status": "ok"}
