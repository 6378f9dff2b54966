"""Sales orders, purchase orders and payments."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from reference_app.api.deps import CurrentOperator, DatabaseDep
from reference_app.api.workers import run_blocking
from reference_app.api.responses import json_response
from reference_app.api.schemas import (
    MAX_ID, PaymentIn, PaymentOut, PurchaseOrderIn, PurchaseOrderOut, SalesOrderIn, SalesOrderOut,
)
from reference_app.domain import format_money, to_cents
from reference_app.services import payments, purchasing, sales

router = APIRouter(tags=["documents"])
DocId = Annotated[int, Path(ge=1, le=MAX_ID)]


def _sales_dict(order: dict, lines: list[dict]) -> dict:
    return {
        "id": order["id"], "customer_id": order["customer_id"], "warehouse_id": order["warehouse_id"],
        "operator_id": order["operator_id"], "total": format_money(order["total_cents"]),
        "created_at": order["created_at"],
        "lines": [{"id": ln["id"], "product_id": ln["product_id"], "qty": ln["qty"],
                   "unit_price": format_money(ln["unit_price_cents"]), "amount": format_money(ln["amount_cents"])}
                  for ln in lines],
    }


def _purchase_dict(order: dict, lines: list[dict]) -> dict:
    return {
        "id": order["id"], "supplier_id": order["supplier_id"], "warehouse_id": order["warehouse_id"],
        "operator_id": order["operator_id"], "status": order["status"], "total": format_money(order["total_cents"]),
        "created_at": order["created_at"], "received_at": order["received_at"],
        "lines": [{"id": ln["id"], "product_id": ln["product_id"], "qty": ln["qty"],
                   "unit_cost": format_money(ln["unit_cost_cents"]), "amount": format_money(ln["amount_cents"])}
                  for ln in lines],
    }


@router.post("/sales-orders", response_model=SalesOrderOut, status_code=status.HTTP_201_CREATED, tags=["sales"])
async def create_sales_order(body: SalesOrderIn, db: DatabaseDep, actor: CurrentOperator):
    """Sell at list price: takes stock and credit atomically; 409 out of stock or over the credit limit."""
    lines = [(ln.product_id, ln.qty) for ln in body.lines]
    order = await run_blocking(sales.create_sales_order, db, actor, body.customer_id, body.warehouse_id, lines)
    return json_response(_sales_dict(*order), status.HTTP_201_CREATED)


@router.get("/sales-orders/{order_id}", response_model=SalesOrderOut, tags=["sales"])
async def get_sales_order(order_id: DocId, db: DatabaseDep, actor: CurrentOperator):
    """An order of a customer the caller may see."""
    return json_response(_sales_dict(*await run_blocking(sales.get_sales_order, db, actor, order_id)))


@router.post("/purchase-orders", response_model=PurchaseOrderOut, status_code=status.HTTP_201_CREATED,
             tags=["purchasing"])
async def create_purchase_order(body: PurchaseOrderIn, db: DatabaseDep, actor: CurrentOperator):
    """Order goods from a supplier (status open; stock moves on receipt)."""
    lines = [(ln.product_id, ln.qty, None if ln.unit_cost is None else to_cents(ln.unit_cost)) for ln in body.lines]
    order = await run_blocking(purchasing.create_purchase_order, db, actor, body.supplier_id,
                                    body.warehouse_id, lines)
    return json_response(_purchase_dict(*order), status.HTTP_201_CREATED)


@router.post("/purchase-orders/{order_id}/receive", response_model=PurchaseOrderOut, tags=["purchasing"])
async def receive_purchase_order(order_id: DocId, db: DatabaseDep, actor: CurrentOperator):
    """Receive the goods into stock; 409 if already received."""
    return json_response(_purchase_dict(*await run_blocking(purchasing.receive_purchase_order, db, actor,
                                                                 order_id)))


@router.post("/payments", response_model=PaymentOut, status_code=status.HTTP_201_CREATED, tags=["sales"])
async def create_payment(body: PaymentIn, db: DatabaseDep, actor: CurrentOperator):
    """Record money received from a customer; lowers its balance."""
    p = await run_blocking(payments.create_payment, db, actor, body.customer_id, to_cents(body.amount))
    return json_response({"id": p["id"], "customer_id": p["customer_id"], "operator_id": p["operator_id"],
                          "amount": format_money(p["amount_cents"]), "created_at": p["created_at"]},
                         status.HTTP_201_CREATED)


__all__ = ["router"]
