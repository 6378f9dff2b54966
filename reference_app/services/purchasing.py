"""Purchase orders: created open, received once (stock and ledger move on receipt only)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select, update

from reference_app.domain import Conflict, InvalidReference, NotFound
from reference_app.models import PurchaseOrder, PurchaseOrderLine, Supplier, utcnow
from reference_app.services import stock
from reference_app.services.database import Database
from reference_app.services.permissions import PURCHASING_ROLES, Actor, require_role
from reference_app.services.prepared import Prepared, Tx, insert_row

SUPPLIER_EXISTS = Prepared(select(Supplier.id).where(Supplier.id == bindparam("supplier_id")))
NEW_ORDER = insert_row(PurchaseOrder.__table__)
NEW_LINE = insert_row(PurchaseOrderLine.__table__)
# The status flip is the guard: of two concurrent receipts only one matches status = 'open'.
RECEIVE = Prepared(update(PurchaseOrder).where(PurchaseOrder.id == bindparam("p_order"), PurchaseOrder.status == "open")
                   .values(status="received", received_at=bindparam("p_now")))
ORDER = Prepared(select(*PurchaseOrder.__table__.c).where(PurchaseOrder.id == bindparam("order_id")))
ORDER_LINES = Prepared(select(*PurchaseOrderLine.__table__.c).where(PurchaseOrderLine.order_id == bindparam("order_id"))
                       .order_by(PurchaseOrderLine.id))

Document = tuple[dict[str, Any], list[dict[str, Any]]]  # the order and its lines, as dicts of their columns


def create_purchase_order(db: Database, actor: Actor, supplier_id: int, warehouse_id: int,
                          lines: list[tuple[int, int, int | None]]) -> Document:
    """``lines`` = [(product_id, qty, unit_cost_cents or None for the product's cost)]."""
    require_role(actor, PURCHASING_ROLES, "create purchase orders")

    def unit(tx: Tx) -> Document:
        if tx.scalar(SUPPLIER_EXISTS, supplier_id=supplier_id) is None:
            raise InvalidReference(("body", "supplier_id"), f"supplier_id {supplier_id} does not exist")
        stock.check_warehouse(tx, warehouse_id)
        prices = stock.product_prices(tx, [pid for pid, _, _ in lines])
        costs = [cost if cost is not None else prices[pid][1] for pid, _, cost in lines]
        amounts = [qty * cost for (_, qty, _), cost in zip(lines, costs, strict=True)]
        order = dict(supplier_id=supplier_id, warehouse_id=warehouse_id, operator_id=actor.operator_id,
                     status="open", total_cents=sum(amounts), created_at=utcnow(), received_at=None)
        order = {"id": tx.insert(NEW_ORDER, **order), **order}
        order_lines = []
        for (pid, qty, _), cost, amount in zip(lines, costs, amounts, strict=True):
            line = dict(order_id=order["id"], product_id=pid, qty=qty, unit_cost_cents=cost, amount_cents=amount)
            order_lines.append({"id": tx.insert(NEW_LINE, **line), **line})
        return order, order_lines

    return db.writing(unit)


def receive_purchase_order(db: Database, actor: Actor, order_id: int) -> Document:
    """Mark the order received and put its goods into stock; a second receipt is refused (409)."""
    require_role(actor, PURCHASING_ROLES, "receive purchase orders")

    def unit(tx: Tx) -> Document:
        flipped = tx.run(RECEIVE, p_order=order_id, p_now=utcnow())
        order = tx.first(ORDER, order_id=order_id)
        if order is None:
            raise NotFound("purchase order", order_id)
        if flipped == 0:
            raise Conflict(f"purchase order {order_id} was already received")
        lines = tx.dicts(ORDER_LINES, order_id=order_id)
        stock.put(tx, order["warehouse_id"], [(ln["product_id"], ln["qty"]) for ln in lines],
                  reason="purchase_receipt", doc_type="purchase_order", doc_id=order_id, operator_id=actor.operator_id)
        return order, lines

    return db.writing(unit)


__all__ = ["create_purchase_order", "receive_purchase_order"]
