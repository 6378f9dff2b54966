"""Cross-service writes of the microservices: idempotency keys, compensation, late steps refused.

In-process (the services behind the gateway through ASGI), with faults injected at the orders
service's peer clients; the process-level kill test is in ``test_micro_kill.py``.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from reference_app.micro import inventory, saga
from reference_app.micro.models import Saga
from reference_app.micro.peers import PeerTimeout, PeerUnavailable
from reference_app.models import SalesOrder

pytestmark = pytest.mark.parametrize("world", [pytest.param(("microservices", "sqlite"), id="micro-sqlite")],
                                     indirect=True)


def _orders(world, customer_id: int) -> int:
    with world.engine_for("sales_orders").connect() as conn:
        return conn.scalar(select(func.count()).select_from(SalesOrder).where(SalesOrder.customer_id == customer_id))


def _sagas(world) -> dict[str, int]:
    with world.engine_for("sagas").connect() as conn:
        return dict(conn.execute(select(Saga.status, func.count()).group_by(Saga.status)).all())


def _post(world, path: str, body: dict, key: dict):
    return world.client.post(f"/api/v1{path}", json=body, headers={**world.h("sales_a1"), **key})


def test_a_retry_with_the_same_idempotency_key_orders_once(world):
    p = world.new_product(price="2.00", on_hand=10)
    c = world.new_customer("sales_a1")
    body = {"customer_id": c["id"], "warehouse_id": world.catalog["w1"]["id"], "lines": [{"product_id": p["id"], "qty": 3}]}
    key = {"Idempotency-Key": world.unique("retry-")}
    first = _post(world, "/sales-orders", body, key)
    again = _post(world, "/sales-orders", body, key)
    assert first.status_code == again.status_code == 201, (first.text, again.text)
    assert again.json() == first.json()
    assert world.on_hand(p["id"]) == 7 and _orders(world, c["id"]) == 1
    assert world.get("sales_a1", f"/customers/{c['id']}").json()["balance"] == "6.00"
    pay = {"customer_id": c["id"], "amount": "1.50"}
    pkey = {"Idempotency-Key": world.unique("pay-")}
    one = _post(world, "/payments", pay, pkey)
    two = _post(world, "/payments", pay, pkey)
    assert one.status_code == two.status_code == 201 and one.json() == two.json()
    assert world.get("sales_a1", f"/customers/{c['id']}").json()["balance"] == "4.50"
    assert world.audit().ok, world.audit().violations


@pytest.mark.parametrize("step", ["reserve", "charge"])
def test_a_step_that_times_out_after_taking_effect_is_compensated(world, monkeypatch, step):
    """The peer did the work but its answer was lost: the saga undoes it; the client sees 503."""
    p = world.new_product(price="1.00", on_hand=5)
    c = world.new_customer("sales_a1")
    orders = world.app_of("orders").state.service
    target = orders.peers["inventory" if step == "reserve" else "customers"]
    real = target.call

    async def lost_answer(method, path, **kw):
        answer = await real(method, path, **kw)
        if method == "POST" and path in ("/internal/reservations", "/internal/balance-moves"):
            raise PeerTimeout(target.name, "answer lost (injected)")
        return answer

    monkeypatch.setattr(target, "call", lost_answer)
    r = world.order("sales_a1", c["id"], [(p["id"], 2)])
    monkeypatch.undo()
    assert r.status_code == 503, r.text
    assert world.on_hand(p["id"]) == 5 and _orders(world, c["id"]) == 0
    assert world.get("sales_a1", f"/customers/{c['id']}").json()["balance"] == "0.00"
    result = world.audit()
    assert result.ok, result.violations


def test_a_step_that_arrives_after_its_compensation_is_refused(world):
    """A release that overtakes its (slow) reservation leaves a tombstone: the late reservation
    takes nothing."""
    p = world.new_product(price="1.00", on_hand=4)
    db = world.app_of("inventory").state.db
    assert inventory.release(db, "late-key-0001")["was"] is None
    body = inventory.ReserveIn(key="late-key-0001", warehouse_id=world.catalog["w1"]["id"], lines=[(p["id"], 1)],
                               operator_id=world.ids["sales_a1"])
    with pytest.raises(Exception, match="released"):
        inventory.reserve(db, body)
    assert world.on_hand(p["id"]) == 4
    assert world.audit().ok


def test_recovery_compensates_a_saga_whose_compensation_failed(world, monkeypatch):
    """Inventory is down while an order fails: the saga stays aborting; once it is back, recovery
    releases the stock it may hold."""
    p = world.new_product(price="1.00", on_hand=6)
    c = world.new_customer("sales_a1", credit_limit="1.00")
    orders = world.app_of("orders").state.service
    inv = orders.peers["inventory"]
    real = inv.call

    async def down_for_release(method, path, **kw):
        if path.endswith("/release"):
            raise PeerUnavailable("inventory", "down (injected)")
        return await real(method, path, **kw)

    monkeypatch.setattr(inv, "call", down_for_release)
    r = world.order("sales_a1", c["id"], [(p["id"], 3)])  # 3.00 over a 1.00 limit: refused by customers
    assert r.status_code == 409 and "credit limit" in r.json()["detail"]
    assert world.on_hand(p["id"]) == 3  # still reserved: the release could not reach inventory
    assert _sagas(world).get("aborting") == 1
    assert world.audit().counts["sale_stock"] == 1
    monkeypatch.undo()
    assert world.client.portal.call(saga.recover, orders, 0.0) == 1
    assert world.on_hand(p["id"]) == 6
    assert _sagas(world).get("aborting") is None
    result = world.audit()
    assert result.ok, result.violations
