"""Purchase orders: created open, received once (stock and ledger move on receipt only)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from reference_app.domain import Conflict, InvalidReference, NotFound
from reference_app.models import PurchaseOrder, PurchaseOrderLine, Supplier, utcnow
from reference_app.services import stock
from reference_app.services.database import Database
from reference_app.services.permissions import PURCHASING_ROLES, Actor, require_role


def create_purchase_order(db: Database, actor: Actor, supplier_id: int, warehouse_id: int,
                          lines: list[tuple[int, int, int | None]]) -> tuple[PurchaseOrder, list[PurchaseOrderLine]]:
    """``lines`` = [(product_id, qty, unit_cost_cents or None for the product's cost)]."""
    require_role(actor, PURCHASING_ROLES, "create purchase orders")

    def unit(s: Session) -> tuple[PurchaseOrder, list[PurchaseOrderLine]]:
        if s.scalar(select(Supplier.id).where(Supplier.id == supplier_id)) is None:
            raise InvalidReference(("body", "supplier_id"), f"supplier_id {supplier_id} does not exist")
        stock.check_warehouse(s, warehouse_id)
        products = stock.products_by_id(s, [pid for pid, _, _ in lines])
        costs = [cost if cost is not None else products[pid].cost_cents for pid, _, cost in lines]
        amounts = [qty * cost for (_, qty, _), cost in zip(lines, costs, strict=True)]
        order = PurchaseOrder(supplier_id=supplier_id, warehouse_id=warehouse_id, operator_id=actor.operator_id,
                              status="open", total_cents=sum(amounts), created_at=utcnow())
        s.add(order)
        s.flush()
        order_lines = [
            PurchaseOrderLine(order_id=order.id, product_id=pid, qty=qty, unit_cost_cents=cost, amount_cents=amount)
            for (pid, qty, _), cost, amount in zip(lines, costs, amounts, strict=True)
        ]
        s.add_all(order_lines)
        s.flush()
        return order, order_lines

    return db.write(unit)


def receive_purchase_order(db: Database, actor: Actor, order_id: int) -> tuple[PurchaseOrder, list[PurchaseOrderLine]]:
    """Mark the order received and put its goods into stock; a second receipt is refused (409)."""
    require_role(actor, PURCHASING_ROLES, "receive purchase orders")

    def unit(s: Session) -> tuple[PurchaseOrder, list[PurchaseOrderLine]]:
        now = utcnow()
        # The status flip is the guard: of two concurrent receipts only one matches status = 'open'.
        flipped = s.execute(
            update(PurchaseOrder)
            .where(PurchaseOrder.id == order_id, PurchaseOrder.status == "open")
            .values(status="received", received_at=now)
            .execution_options(synchronize_session=False)
        )
        order = s.get(PurchaseOrder, order_id, populate_existing=True)
        if order is None:
            raise NotFound("purchase order", order_id)
        if flipped.rowcount == 0:
            raise Conflict(f"purchase order {order_id} was already received")
        lines = list(s.scalars(select(PurchaseOrderLine).where(PurchaseOrderLine.order_id == order_id)
                               .order_by(PurchaseOrderLine.id)))
        stock.put(s, order.warehouse_id, [(ln.product_id, ln.qty) for ln in lines], reason="purchase_receipt",
                  doc_type="purchase_order", doc_id=order_id, operator_id=actor.operator_id)
        return order, lines

    return db.write(unit)


__all__ = ["create_purchase_order", "receive_purchase_order"]
