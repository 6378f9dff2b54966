"""Isolation: every customer-reading path, tried as every operator against customers it must not see.

The world of conftest.py (teams A and B) gets more operators — teams C and D with a manager and two
salespeople each, and a manager without a team — every salesperson and manager owns customers
with an order and a payment each. Then, as every operator of every role:

* list (all pages), search, view, edit, order for, pay for, read the orders of — each customer;
* the reports top-customers and receivables-aging (aggregates: the aging figures must not move when
  a customer outside the caller's scope gets a new open balance);

and the leaks are counted: a customer id outside the scope in any answer, any 2xx on a customer
outside it, anything written for one. Leaks must be 0. ``GET /customers?with_total=true`` and
``/customers/export`` (company-wide operations planned on another branch) are not in this tree.

Tokens: malformed, signed with another key, expired, ``alg: none``, for an operator id that does
not exist, and of an operator deleted after login -> 401.
"""

from __future__ import annotations

import datetime as dt

import jwt
import pytest
from sqlalchemy import delete, func, select

from reference_app.models import Operator, Payment, SalesOrder
from reference_app.security import TokenClaims, create_token

PASSWORD = "isolation-pw-1"
MISSING = 987654321  # no customer has this id
EXTRA = [("mgr_c", "manager", "C"), ("sales_c1", "sales", "C"), ("sales_c2", "sales", "C"),
         ("mgr_d", "manager", "D"), ("sales_d1", "sales", "D"), ("sales_d2", "sales", "D"),
         ("mgr_none", "manager", None)]


@pytest.fixture(scope="module")
def town(world):
    """``world`` with the extra operators, 2 customers per owner, an order and a payment each."""
    for username, role, team in EXTRA:
        r = world.post("admin", "/operators", {"username": username, "password": PASSWORD, "role": role,
                                               "team": team, "customer_quota": 100})
        assert r.status_code == 201, r.text
        world.ids[username] = r.json()["id"]
        r = world.client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
        assert r.status_code == 200, r.text
        world.tokens[username] = r.json()["access_token"]
    with world.engine_for("operators").connect() as conn:
        ops = conn.execute(select(Operator.id, Operator.username, Operator.role, Operator.team)).all()
    world.operators = {o.username: o for o in ops if o.username in world.tokens}
    product = world.new_product(price="10.00", on_hand=10_000)
    world.customers = {}  # id -> owner username
    world.orders = {}     # order id -> customer id
    for who, op in world.operators.items():
        if op.role not in ("sales", "manager"):
            continue
        for _ in range(2):
            c = world.new_customer(who)
            world.customers[c["id"]] = who
            r = world.order(who, c["id"], [(product["id"], 3)])
            assert r.status_code == 201, r.text
            world.orders[r.json()["id"]] = c["id"]
            r = world.post(who, "/payments", {"customer_id": c["id"], "amount": "5.00"})
            assert r.status_code == 201, r.text
    world.product = product
    return world


def visible(town, who: str) -> set[int]:
    """The customers ``who`` may see, from the rules (not from the app)."""
    me = town.operators[who]
    if me.role == "admin":
        return set(town.customers)
    if me.role == "clerk":
        return set()
    if me.role == "manager" and me.team is not None:
        team = {u for u, o in town.operators.items() if o.team == me.team}
        return {c for c, owner in town.customers.items() if owner in team}
    return {c for c, owner in town.customers.items() if owner == who}


def everyone(town):
    return sorted(town.operators)


def _listed(town, who: str) -> set[int]:
    seen, after = set(), 0
    while True:
        r = town.get(who, "/customers", params={"after": after, "limit": 3})
        assert r.status_code == 200, r.text
        seen |= {c["id"] for c in r.json()["items"]}
        if r.json()["next_after"] is None:
            return seen
        after = r.json()["next_after"]


def test_the_town_has_many_operators_and_every_role(town):
    roles = {o.role for o in town.operators.values()}
    assert roles == {"admin", "manager", "sales", "clerk"} and len(town.operators) >= 14
    assert len(town.customers) >= 24


def test_list_and_search_show_exactly_the_callers_customers(town):
    leaks = {}
    for who in everyone(town):
        allowed = visible(town, who)
        if town.operators[who].role == "clerk":
            assert town.get(who, "/customers").status_code == 403
            assert town.get(who, "/customers/search", params={"q": "139"}).status_code == 403
            continue
        listed = _listed(town, who)
        found = {c["id"] for c in town.get(who, "/customers/search", params={"q": "139", "limit": 100}).json()["items"]}
        found |= {c["id"] for c in town.get(who, "/customers/search", params={"q": "客户", "limit": 100}).json()["items"]}
        leaks[who] = sorted((listed | found) - allowed)
        assert listed == allowed, who  # and nothing of theirs is missing
    assert {w: v for w, v in leaks.items() if v} == {}


def test_view_edit_order_and_pay_refuse_every_customer_outside_the_scope(town):
    leaks = []
    for who in everyone(town):
        allowed = visible(town, who)
        refused = 403 if town.operators[who].role == "clerk" else 404
        absent = town.get(who, f"/customers/{MISSING}")  # what a customer that does not exist answers
        assert absent.status_code == refused
        for cid in sorted(set(town.customers) - allowed):
            r = town.get(who, f"/customers/{cid}")
            if r.status_code != refused or r.text != absent.text.replace(str(MISSING), str(cid)):
                leaks.append((who, "view", cid, r.status_code))
            r = town.patch(who, f"/customers/{cid}", {"region": "leaked"})
            if r.status_code != refused:
                leaks.append((who, "edit", cid, r.status_code))
            r = town.order(who, cid, [(town.product["id"], 1)])
            if r.status_code // 100 == 2:
                leaks.append((who, "order", cid, r.status_code))
            r = town.post(who, "/payments", {"customer_id": cid, "amount": "1.00"})
            if r.status_code // 100 == 2:
                leaks.append((who, "pay", cid, r.status_code))
    assert leaks == []
    with town.engine_for("sales_orders").connect() as conn:  # and nothing was written for them
        assert conn.execute(select(func.count()).select_from(SalesOrder)).scalar() == len(town.orders)
        assert conn.execute(select(func.count()).select_from(Payment)).scalar() == len(town.customers)
    for who in ("admin",):
        regions = {town.get(who, f"/customers/{cid}").json()["region"] for cid in town.customers}
        assert "leaked" not in regions


def test_orders_of_customers_outside_the_scope_are_not_found(town):
    leaks = []
    for who in everyone(town):
        allowed = visible(town, who)
        for oid, cid in sorted(town.orders.items()):
            r = town.get(who, f"/sales-orders/{oid}")
            if cid in allowed:
                assert r.status_code == 200 and r.json()["customer_id"] == cid, (who, r.text)
            elif r.status_code // 100 == 2:
                leaks.append((who, oid, cid))
    assert leaks == []


def test_reports_hold_only_the_callers_customers(town):
    leaks = {}
    for who in everyone(town):
        r = town.get(who, "/reports/top-customers", params={"days": 30, "limit": 100})
        if town.operators[who].role == "clerk":
            assert r.status_code == 403
            assert town.get(who, "/reports/receivables-aging").status_code == 403
            continue
        assert r.status_code == 200, r.text
        ids = {row["customer_id"] for row in r.json()}
        leaks[who] = sorted(ids - visible(town, who))
        assert ids == visible(town, who), who  # every one of them ordered in the window
    assert {w: v for w, v in leaks.items() if v} == {}


def test_receivables_aging_does_not_move_for_a_customer_outside_the_scope(town):
    """An aggregate leaks through its figures: give one customer of team D a new open balance and
    the aging of everyone who must not see it stays the same to the cent."""
    target = next(c for c, owner in sorted(town.customers.items()) if owner == "sales_d1")
    before = {who: town.get(who, "/reports/receivables-aging").json() for who in everyone(town)
              if town.operators[who].role != "clerk"}
    r = town.order("sales_d1", target, [(town.product["id"], 7)])
    assert r.status_code == 201, r.text
    town.orders[r.json()["id"]] = target
    moved = []
    for who, old in before.items():
        new = town.get(who, "/reports/receivables-aging").json()
        changed = (new["total"], new["buckets"]) != (old["total"], old["buckets"])
        if changed != (target in visible(town, who)):
            moved.append((who, old["total"], new["total"]))
    assert moved == []


# -- tokens ------------------------------------------------------------------------------------------
def _status(town, token: str | None, path: str = "/customers") -> int:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    return town.client.get(f"/api/v1{path}", headers=headers).status_code


def test_bad_tokens_get_401(town):
    secret = town.app_of("customers").state.secret_key()
    admin = TokenClaims(town.ids["admin"], "admin", None)
    now = dt.datetime.now(dt.UTC)
    good = town.tokens["admin"]
    header, payload, signature = good.split(".")
    cases = {
        "missing": None,
        "malformed": "not-a-token",
        "two parts": f"{header}.{payload}",
        "garbage signature": f"{header}.{payload}.{signature[::-1]}",
        "other key": create_token("another-secret-key-0123456789", admin),
        "expired": create_token(secret, admin, ttl=dt.timedelta(seconds=-5)),
        "alg none": jwt.encode({"sub": str(town.ids["admin"]), "role": "admin", "team": None,
                                "exp": now + dt.timedelta(hours=1)}, key=None, algorithm="none"),
        "no such operator": create_token(secret, TokenClaims(10**9, "admin", None)),
        "role not the operator's": create_token(secret, TokenClaims(town.ids["sales_a1"], "admin", None)),
        "team not the operator's": create_token(secret, TokenClaims(town.ids["mgr_a"], "manager", "B")),
    }
    got = {name: _status(town, token) for name, token in cases.items()}
    assert got == dict.fromkeys(cases, 401)
    assert _status(town, good) == 200


def test_a_deleted_operators_token_gets_401(town):
    r = town.post("admin", "/operators", {"username": "leaver", "password": PASSWORD, "role": "sales",
                                          "team": "A", "customer_quota": 10})
    assert r.status_code == 201, r.text
    r = town.client.post("/api/v1/auth/login", json={"username": "leaver", "password": PASSWORD})
    token = r.json()["access_token"]
    assert _status(town, token, "/operators/me") == 200
    with town.engine_for("operators").begin() as conn:
        conn.execute(delete(Operator).where(Operator.username == "leaver"))
    caches = [town.app_of(s).state.tokens for s in ("customers", "orders", "inventory")]
    rechecks = [t.recheck_s for t in caches]
    for t in caches:
        t.recheck_s = 0.0  # what 30 s later looks like
    try:
        assert _status(town, token, "/operators/me") == 401
        assert _status(town, token) == 401
    finally:
        for t, recheck in zip(caches, rechecks):
            t.recheck_s = recheck
    assert _status(town, town.tokens["sales_a1"]) == 200
