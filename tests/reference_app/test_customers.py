"""Customer permissions, quota, search and pagination on every engine."""

from __future__ import annotations


CUSTOMER_PATHS_FOR_CLERK = [
    ("get", "/customers"), ("get", "/customers/search?q=1"), ("get", "/customers/1"),
    ("get", "/reports/top-customers"), ("get", "/reports/receivables-aging"), ("get", "/sales-orders/1"),
]


def _ids(items):
    return {c["id"] for c in items}


def test_someone_elses_customer_is_404_on_every_reading_path(world):
    product = world.new_product(price="5.00", on_hand=50)
    mine = world.new_customer("sales_a1", name="隔离客户甲")
    order = world.order("sales_a1", mine["id"], [(product["id"], 2)])
    assert order.status_code == 201, order.text
    assert world.post("sales_a1", "/payments", {"customer_id": mine["id"], "amount": "1.00"}).status_code == 201
    cid, oid = mine["id"], order.json()["id"]
    balance = world.get("admin", f"/customers/{cid}").json()["balance"]
    assert balance == "9.00"

    # sales_a2 shares the team but not the customer; team B sees nothing of team A.
    for other in ("sales_a2", "sales_b1", "mgr_b"):
        assert world.get(other, f"/customers/{cid}").status_code == 404, other
        assert cid not in _ids(world.get(other, "/customers", params={"limit": 100}).json()["items"])
        assert world.get(other, "/customers/search", params={"q": "隔离客户甲"}).json()["items"] == []
        assert world.patch(other, f"/customers/{cid}", {"name": "hijacked"}).status_code == 404
        r = world.order(other, cid, [(product["id"], 1)])
        assert r.status_code == 404, r.text
        assert world.post(other, "/payments", {"customer_id": cid, "amount": "1.00"}).status_code == 404
        assert world.get(other, f"/sales-orders/{oid}").status_code == 404
        top = world.get(other, "/reports/top-customers", params={"days": 30, "limit": 100}).json()
        assert cid not in {t["customer_id"] for t in top}
    aging = world.get("sales_a2", "/reports/receivables-aging").json()
    assert aging["total"] == "0.00"

    # The owner, its manager and the admin see it.
    for viewer in ("sales_a1", "mgr_a", "admin"):
        assert world.get(viewer, f"/customers/{cid}").status_code == 200, viewer
        assert world.get(viewer, f"/sales-orders/{oid}").status_code == 200, viewer
        assert world.get(viewer, "/customers/search", params={"q": "隔离客户甲"}).json()["items"][0]["id"] == cid
        top = world.get(viewer, "/reports/top-customers", params={"days": 30, "limit": 100}).json()
        assert cid in {t["customer_id"] for t in top}
    assert world.get("mgr_a", "/reports/receivables-aging").json()["total"] != "0.00"

    # Refused attempts changed nothing.
    assert world.get("admin", f"/customers/{cid}").json()["balance"] == balance
    assert world.get("admin", f"/customers/{cid}").json()["name"] == "隔离客户甲"
    assert world.on_hand(product["id"]) == 48


def test_clerk_reads_no_customer_data(world):
    for method, path in CUSTOMER_PATHS_FOR_CLERK:
        r = getattr(world, method)("clerk", path)
        assert r.status_code == 403, (path, r.text)
    assert world.post("clerk", "/customers", {"name": "x", "phone": "1"}).status_code == 403
    assert world.post("clerk", "/payments", {"customer_id": 1, "amount": 1}).status_code == 403
    # ...but works stock.
    assert world.get("clerk", "/reports/stock-levels").status_code == 200


def test_quota_is_enforced_with_a_409_naming_it(world):
    r = world.post("admin", "/operators", {"username": world.unique("quota"), "password": "longenough",
                                           "role": "sales", "team": "A", "customer_quota": 2})
    assert r.status_code == 201, r.text
    op = r.json()
    for _ in range(2):
        world.new_customer("admin", owner_id=op["id"])
    r = world.post("mgr_a", "/customers", {"name": "one too many", "phone": "1", "owner_id": op["id"]})
    assert r.status_code == 409
    assert "customer_quota" in r.json()["detail"]
    # A manager cannot hand customers to another team; a salesperson only to itself.
    assert world.post("mgr_b", "/customers", {"name": "x", "phone": "1", "owner_id": op["id"]}).status_code == 422
    assert world.post("sales_a1", "/customers", {"name": "x", "phone": "1",
                                                 "owner_id": world.ids["sales_a2"]}).status_code == 422
    assert world.audit().counts["operator_customer_count"] == 0


def test_manager_moves_a_customer_within_its_team(world):
    c = world.new_customer("sales_a1")
    before = world.get("sales_a2", "/operators/me").json()["customer_count"]
    r = world.patch("mgr_a", f"/customers/{c['id']}", {"owner_id": world.ids["sales_a2"], "level": "vip",
                                                       "credit_limit": 12.5})
    assert r.status_code == 200, r.text
    assert (r.json()["owner_id"], r.json()["level"], r.json()["credit_limit"]) == (world.ids["sales_a2"], "vip", "12.50")
    assert world.get("sales_a2", "/operators/me").json()["customer_count"] == before + 1
    assert world.get("sales_a1", f"/customers/{c['id']}").status_code == 404
    assert world.get("sales_a2", f"/customers/{c['id']}").status_code == 200
    assert world.patch("mgr_a", f"/customers/{c['id']}", {"owner_id": world.ids["sales_b1"]}).status_code == 422
    assert world.audit().counts["operator_customer_count"] == 0


def test_search_contains_on_name_or_phone_is_scoped_and_literal(world):
    a = world.new_customer("sales_b1", name="上海百分之100%公司", phone="021-5550001")
    b = world.new_customer("sales_b1", name="北京_下划线商行", phone="010-5550002")
    c = world.new_customer("sales_b1", name="Shenzhen Trading", phone="0755-7770003")
    other = world.new_customer("mgr_b", name="上海百分之100%分公司", phone="021-5550004")

    def found(who, q):
        r = world.get(who, "/customers/search", params={"q": q})
        assert r.status_code == 200, r.text
        return _ids(r.json()["items"])

    assert found("sales_b1", "百分之100%") == {a["id"]}      # 3+ chars: FTS5 path on tuned SQLite
    assert found("sales_b1", "%") == {a["id"]}               # % is literal, not a wildcard
    assert found("sales_b1", "_") == {b["id"]}               # so is _
    assert found("sales_b1", "上海") == {a["id"]}            # short q: LIKE path
    assert found("sales_b1", "555000") == {a["id"], b["id"]}  # phone
    assert found("sales_b1", "shenzhen") == {c["id"]}        # case-insensitive
    assert found("mgr_b", "百分之100%") == {a["id"], other["id"]}
    assert found("sales_a1", "百分之100%") == set()
    assert len(world.get("mgr_b", "/customers/search", params={"q": "0", "limit": 2}).json()["items"]) == 2


def test_keyset_pagination_walks_every_visible_customer_once(world):
    for _ in range(5):
        world.new_customer("sales_b1")
    expected = set()
    after, pages = 0, 0
    while True:
        page = world.get("sales_b1", "/customers", params={"after": after, "limit": 2}).json()
        ids = _ids(page["items"])
        assert not ids & expected
        expected |= ids
        pages += 1
        if page["next_after"] is None:
            break
        after = page["next_after"]
    me = world.get("sales_b1", "/operators/me").json()
    assert len(expected) == me["customer_count"]
    assert pages >= 3


def test_customer_reads_take_a_fixed_number_of_queries(world):
    """No N+1: the view is two SELECTs however many orders; a page is one SELECT however many rows."""
    from sqlalchemy import event

    p = world.new_product(price="1.00", on_hand=50)
    c = world.new_customer("sales_b1")
    for _ in range(5):
        world.new_customer("mgr_b")
    for _ in range(7):
        assert world.order("sales_b1", c["id"], [(p["id"], 1)]).status_code == 201
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    # The view's two SELECTs are one in customers and one in orders for the microservices.
    engines = {id(e): e for e in (world.app_of(s).state.db.engine for s in ("customers", "orders"))}.values()
    for engine in engines:
        event.listen(engine, "before_cursor_execute", count)
    try:
        assert len(world.get("sales_b1", f"/customers/{c['id']}").json()["recent_orders"]) == 5
        view_queries = len(statements)
        statements.clear()
        assert len(world.get("mgr_b", "/customers", params={"limit": 100}).json()["items"]) > 5
        page_queries = len(statements)
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", count)
    assert view_queries == 2
    assert page_queries == 1
