"""Books that stay straight: stock, credit, ledger, payments, purchasing, reports, concurrency."""

from __future__ import annotations

import datetime as dt
import random
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
import uvicorn
from sqlalchemy import func, select, update

from reference_app.models import PurchaseOrder, SalesOrder, Stock, StockMove, utcnow


# The ledger rows of a sale name its document: the order (monolith) or the stock reservation the
# order's saga made (microservices, where the order id is not known when stock is taken).
SALE_DOC = {"monolith": "sales_order", "microservices": "reservation"}


def _ledger(world, product_id: int) -> list[tuple[int, str, str]]:
    with world.engine_for("stock_moves").connect() as conn:
        return [tuple(r) for r in conn.execute(
            select(StockMove.qty, StockMove.reason, StockMove.doc_type)
            .where(StockMove.product_id == product_id).order_by(StockMove.id))]


def test_sales_order_takes_stock_and_credit_and_writes_the_ledger(world):
    p1, p2 = world.new_product(price="2.50", on_hand=10), world.new_product(price="1.00", on_hand=10)
    c = world.new_customer("sales_a1")
    r = world.order("sales_a1", c["id"], [(p1["id"], 3), (p2["id"], 1), (p1["id"], 1)])
    assert r.status_code == 201, r.text
    order = r.json()
    assert order["total"] == "11.00" and order["operator_id"] == world.ids["sales_a1"]
    assert [(ln["product_id"], ln["qty"], ln["amount"]) for ln in order["lines"]] == [
        (p1["id"], 3, "7.50"), (p2["id"], 1, "1.00"), (p1["id"], 1, "2.50")]
    assert (world.on_hand(p1["id"]), world.on_hand(p2["id"])) == (6, 9)
    assert _ledger(world, p1["id"]) == [(10, "purchase_receipt", "purchase_order"), (-4, "sale", SALE_DOC[world.arch])]
    assert world.get("sales_a1", f"/customers/{c['id']}").json()["balance"] == "11.00"
    assert world.get("sales_a1", f"/sales-orders/{order['id']}").json() == order


def test_customer_view_shows_the_five_newest_orders(world):
    p = world.new_product(price="1.00", on_hand=100)
    c = world.new_customer("sales_b1")
    ids = [world.order("sales_b1", c["id"], [(p["id"], q)]).json()["id"] for q in range(1, 8)]
    view = world.get("sales_b1", f"/customers/{c['id']}").json()
    assert [o["id"] for o in view["recent_orders"]] == ids[::-1][:5]
    assert view["recent_orders"][0]["total"] == "7.00"


def test_out_of_stock_is_409_and_changes_nothing(world):
    plenty, scarce = world.new_product(on_hand=10), world.new_product(on_hand=2)
    c = world.new_customer("sales_a1")
    r = world.order("sales_a1", c["id"], [(plenty["id"], 5), (scarce["id"], 3)])
    assert r.status_code == 409 and "out of stock" in r.json()["detail"]
    assert (world.on_hand(plenty["id"]), world.on_hand(scarce["id"])) == (10, 2)
    assert world.get("sales_a1", f"/customers/{c['id']}").json()["balance"] == "0.00"
    r = world.order("sales_a1", c["id"], [(plenty["id"], 1)], warehouse="w2")  # no stock row there at all
    assert r.status_code == 409
    with world.engine_for("sales_orders").connect() as conn:
        assert conn.scalar(select(func.count()).select_from(SalesOrder).where(SalesOrder.customer_id == c["id"])) == 0


def test_credit_limit_is_409_and_changes_nothing(world):
    p = world.new_product(price="6.00", on_hand=10)
    c = world.new_customer("sales_a1", credit_limit="10.00")
    assert world.order("sales_a1", c["id"], [(p["id"], 1)]).status_code == 201
    r = world.order("sales_a1", c["id"], [(p["id"], 1)])
    assert r.status_code == 409 and "credit limit" in r.json()["detail"]
    assert world.on_hand(p["id"]) == 9
    # A payment makes room again.
    assert world.post("sales_a1", "/payments", {"customer_id": c["id"], "amount": 6}).status_code == 201
    assert world.order("sales_a1", c["id"], [(p["id"], 1)]).status_code == 201
    assert world.get("sales_a1", f"/customers/{c['id']}").json()["balance"] == "6.00"


def test_purchase_receipt_creates_stock_once(world):
    p = world.new_product()
    po = world.post("mgr_a", "/purchase-orders", {
        "supplier_id": world.catalog["supplier"]["id"], "warehouse_id": world.catalog["w2"]["id"],
        "lines": [{"product_id": p["id"], "qty": 4, "unit_cost": "0.75"}, {"product_id": p["id"], "qty": 1}]})
    assert po.status_code == 201, po.text
    assert (po.json()["status"], po.json()["total"]) == ("open", "4.00")
    assert world.on_hand(p["id"], "w2") == 0
    r = world.post("clerk", f"/purchase-orders/{po.json()['id']}/receive")
    assert r.status_code == 200 and r.json()["status"] == "received" and r.json()["received_at"]
    assert world.on_hand(p["id"], "w2") == 5
    again = world.post("clerk", f"/purchase-orders/{po.json()['id']}/receive")
    assert again.status_code == 409 and "already received" in again.json()["detail"]
    assert world.on_hand(p["id"], "w2") == 5
    assert world.post("sales_a1", f"/purchase-orders/{po.json()['id']}/receive").status_code == 403
    assert world.post("clerk", "/purchase-orders/999999999/receive").status_code == 404


def test_receivables_aging_applies_payments_to_the_oldest_orders(world):
    r = world.post("admin", "/operators", {"username": world.unique("aging"), "password": "longenough",
                                           "role": "sales", "team": "C", "customer_quota": 5})
    op = r.json()
    login = world.client.post("/api/v1/auth/login", json={"username": op["username"], "password": "longenough"})
    world.tokens["aging"] = login.json()["access_token"]
    p = world.new_product(price="1.00", on_hand=100)
    c = world.new_customer("aging")
    ages = {}
    for qty, days in ((10, 100), (20, 40), (5, 0)):
        ages[world.order("aging", c["id"], [(p["id"], qty)]).json()["id"]] = days
    with world.engine_for("sales_orders").begin() as conn:
        for oid, days in ages.items():
            conn.execute(update(SalesOrder).where(SalesOrder.id == oid)
                         .values(created_at=utcnow() - dt.timedelta(days=days)))
    assert world.post("aging", "/payments", {"customer_id": c["id"], "amount": "12"}).status_code == 201
    aging = world.get("aging", "/reports/receivables-aging").json()
    assert {b["bucket"]: b["amount"] for b in aging["buckets"]} == {
        "0-30": "5.00", "31-60": "18.00", "61-90": "0.00", "90+": "0.00"}
    assert aging["total"] == "23.00"
    top = world.get("aging", "/reports/top-customers", params={"days": 30}).json()
    assert top == [{"customer_id": c["id"], "name": c["name"], "orders": 1, "total": "5.00"}]
    levels = world.get("clerk", "/reports/stock-levels", params={"warehouse_id": world.catalog["w1"]["id"]}).json()
    assert [lv["on_hand"] for lv in levels] == sorted(lv["on_hand"] for lv in levels)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def live_server(world):
    """The app under a real uvicorn on a free port, in a thread of this process; yields (base url, app)."""
    port = _free_port()
    app = world.make_app()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}/api/v1", app
    finally:
        server.should_exit = True
        thread.join(10)
        world.dispose(app)


def _race(n_threads: int, per_thread: int, request) -> list[int]:
    """Run ``request(http_client, rng, thread_no, request_no)`` per_thread times in each of n_threads
    threads; all the status codes."""
    def worker(n: int) -> list[int]:
        rng = random.Random(n)
        with httpx.Client(timeout=30) as http:
            return [request(http, rng, n, i).status_code for i in range(per_thread)]

    with ThreadPoolExecutor(n_threads) as pool:
        return [c for result in pool.map(worker, range(n_threads)) for c in result]


def test_concurrent_orders_for_a_scarce_product_over_real_http(world):
    """8 threads x 10 orders race for 30 units through uvicorn: exactly 30 sell, books stay straight."""
    scarce, common = world.new_product(price="1.00", on_hand=30), world.new_product(price="1.00", on_hand=1000)
    customers = [world.new_customer("sales_a1")["id"] for _ in range(2)]
    with live_server(world) as (base, app):
        def order(http, rng, *_):
            lines = [{"product_id": scarce["id"], "qty": 1}, {"product_id": common["id"], "qty": 1}]
            rng.shuffle(lines)  # lines in any order: the service locks in product order
            return http.post(f"{base}/sales-orders", headers=world.h("sales_a1"), json={
                "customer_id": rng.choice(customers), "warehouse_id": world.catalog["w1"]["id"], "lines": lines})

        codes = _race(8, 10, order)
        retried = world.retried(app)
    assert sorted(set(codes)) == [201, 409], codes
    assert codes.count(201) == 30
    assert world.on_hand(scarce["id"]) == 0 and world.on_hand(common["id"]) == 970
    with world.engine_for("stock").connect() as conn:
        assert conn.scalar(select(func.min(Stock.on_hand))) >= 0
    result = world.audit()
    assert result.ok, result.violations
    print(f"{world.backend}: {retried} units of work retried")


def test_concurrent_quota_and_receipts_over_real_http(world):
    """Quota holds under concurrent creation; a purchase order is received exactly once; concurrent
    receipts into a missing stock row both land."""
    op = world.post("admin", "/operators", {"username": world.unique("race"), "password": "longenough",
                                            "role": "sales", "team": "A", "customer_quota": 7}).json()
    product = world.new_product()
    pos = []
    for _ in range(6):
        r = world.post("clerk", "/purchase-orders", {
            "supplier_id": world.catalog["supplier"]["id"], "warehouse_id": world.catalog["w2"]["id"],
            "lines": [{"product_id": product["id"], "qty": 2}]})
        pos.append(r.json()["id"])
    with live_server(world) as (base, app):
        def create(http, rng, *_):
            return http.post(f"{base}/customers", headers=world.h("admin"), json={
                "name": f"race{rng.random()}", "phone": "1", "owner_id": op["id"]})

        created = _race(6, 3, create)

        def receive(http, _rng, n, i):
            # Thread n receives order n first, then n+1...: every order is asked for by 4 threads,
            # and the first wave races to create the missing stock row.
            return http.post(f"{base}/purchase-orders/{pos[(n + i) % len(pos)]}/receive", headers=world.h("clerk"))

        received = _race(6, 4, receive)
        retried = world.retried(app)
    assert created.count(201) == 7 and created.count(409) == 11, created
    assert received.count(200) == 6 and received.count(409) == 18, received
    with world.engine_for("purchase_orders").connect() as conn:
        assert conn.scalar(select(func.count()).select_from(PurchaseOrder)
                           .where(PurchaseOrder.id.in_(pos), PurchaseOrder.status == "received")) == 6
    assert world.on_hand(product["id"], "w2") == 12
    result = world.audit()
    assert result.ok, result.violations
    print(f"{world.backend}: {retried} units of work retried")


def test_books_are_straight_after_everything(world):
    result = world.audit()
    assert result.ok, result.violations
