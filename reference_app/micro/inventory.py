"""The *inventory* service: products, warehouses, suppliers, stock and its ledger.

Public routes are the monolith's catalog routes and the stock-levels report, unchanged. Internal
routes: reserve stock for a sales order under an idempotency key and release it (the saga's
compensation), check a purchase order's references, and put a purchase order's goods in once.
Every change of stock writes its ledger rows in the same transaction, as in the monolith; a
reservation's rows name it (``doc_type='reservation'``, ``doc_id`` = its id).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError

from reference_app.api.routes import catalog
from reference_app.api.routes import reports as report_routes
from reference_app.api.workers import run_blocking
from reference_app.config import Settings
from reference_app.domain import Conflict, InvalidReference
from reference_app.micro.models import Reservation
from reference_app.micro.peers import Peer
from reference_app.micro.service import (
    InternalOnly, MicroSettings, ServiceDep, make_peers, remote_operator, service_app, subset,
)
from reference_app.models import Supplier, utcnow
from reference_app.services import stock
from reference_app.services.database import Database
from reference_app.services.prepared import Prepared, Tx, insert_row

internal = APIRouter()
_R = Reservation.__table__.c
FIND = Prepared(select(_R.id, _R.status, _R.lines, _R.warehouse_id).where(_R.key == bindparam("p_key")))
NEW = insert_row(Reservation.__table__)
RELEASE = Prepared(update(Reservation).where(_R.key == bindparam("p_key"), _R.status == "held").values(status="released"))
SUPPLIER_EXISTS = Prepared(select(Supplier.id).where(Supplier.id == bindparam("supplier_id")))


class ReserveIn(BaseModel):
    key: str = Field(min_length=8, max_length=64)
    warehouse_id: int
    lines: list[tuple[int, int]] = Field(min_length=1)
    operator_id: int


def _answer(row: tuple, key: str) -> dict[str, Any]:
    rid, status, lines, _ = row
    if status == "released":
        raise Conflict(f"reservation {key} was released")
    return {"reservation_id": rid, "prices": {str(p): price for p, _q, price in json.loads(lines)}}


def reserve(db: Database, body: ReserveIn) -> dict[str, Any]:
    """Take the stock of ``body.lines`` once per key, at list prices; the prices it charged."""
    def unit(tx: Tx) -> dict[str, Any]:
        found = tx.tuples(FIND, p_key=body.key)
        if found:
            return _answer(found[0], body.key)
        stock.check_warehouse(tx, body.warehouse_id)
        prices = stock.product_prices(tx, [pid for pid, _ in body.lines])
        changes = stock.take(tx, body.warehouse_id, body.lines)
        lines = [(pid, qty, prices[pid][0]) for pid, qty in body.lines]
        rid = tx.insert(NEW, key=body.key, kind="sale", warehouse_id=body.warehouse_id, status="held",
                        lines=json.dumps(lines), operator_id=body.operator_id, created_at=utcnow())
        stock.record(tx, body.warehouse_id, changes, reason="sale", doc_type="reservation", doc_id=rid,
                     operator_id=body.operator_id)
        return {"reservation_id": rid, "prices": {str(p): price for p, _q, price in lines}}

    try:
        return db.writing(unit)
    except IntegrityError:  # the same key reserved concurrently: answer as the winner did
        with db.reading() as tx:
            found = tx.tuples(FIND, p_key=body.key)
        if not found:
            raise
        return _answer(found[0], body.key)


def release(db: Database, key: str) -> dict[str, Any]:
    """Put a held reservation's stock back (ledger rows ``adjustment``); a key never seen is recorded
    as released, so that its reservation, should it arrive late, is refused."""
    def unit(tx: Tx) -> dict[str, Any]:
        found = tx.tuples(FIND, p_key=key)
        if not found:
            tx.insert(NEW, key=key, kind="sale", warehouse_id=0, status="released", lines="[]", operator_id=None,
                      created_at=utcnow())
            return {"key": key, "was": None}
        rid, status, lines, warehouse_id = found[0]
        if status == "held" and tx.run(RELEASE, p_key=key) == 1:
            stock.put(tx, warehouse_id, [(p, q) for p, q, _ in json.loads(lines)], reason="adjustment",
                      doc_type="reservation", doc_id=rid, operator_id=None)
            return {"key": key, "was": "held"}
        return {"key": key, "was": status}

    try:
        return db.writing(unit)
    except IntegrityError:  # reserved meanwhile: release that
        return db.writing(unit)


@internal.post("/reservations", dependencies=[InternalOnly])
async def post_reservation(body: ReserveIn, svc: ServiceDep):
    return await run_blocking(reserve, svc.db, body)


@internal.post("/reservations/{key}/release", dependencies=[InternalOnly])
async def post_release(key: str, svc: ServiceDep):
    return await run_blocking(release, svc.db, key)


class PurchaseCheckIn(BaseModel):
    supplier_id: int
    warehouse_id: int
    product_ids: list[int] = Field(min_length=1)


def purchase_check(db: Database, body: PurchaseCheckIn) -> dict[str, Any]:
    """The monolith's checks of a new purchase order, in its order; the products' costs."""
    with db.reading() as tx:
        if tx.scalar(SUPPLIER_EXISTS, supplier_id=body.supplier_id) is None:
            raise InvalidReference(("body", "supplier_id"), f"supplier_id {body.supplier_id} does not exist")
        stock.check_warehouse(tx, body.warehouse_id)
        prices = stock.product_prices(tx, body.product_ids)
    return {"costs": {str(p): cost for p, (_price, cost) in prices.items()}}


@internal.post("/purchase-check", dependencies=[InternalOnly])
async def post_purchase_check(body: PurchaseCheckIn, svc: ServiceDep):
    return await run_blocking(purchase_check, svc.db, body)


class ReceiptIn(BaseModel):
    order_id: int
    warehouse_id: int
    lines: list[tuple[int, int]] = Field(min_length=1)
    operator_id: int


def receive(db: Database, body: ReceiptIn) -> dict[str, Any]:
    """Put a purchase order's goods in, once per order (a repeat is a no-op)."""
    key = f"po:{body.order_id}"

    def unit(tx: Tx) -> dict[str, Any]:
        if tx.tuples(FIND, p_key=key):
            return {"applied": False}
        tx.insert(NEW, key=key, kind="receipt", warehouse_id=body.warehouse_id, status="held",
                  lines=json.dumps([(p, q, 0) for p, q in body.lines]), operator_id=body.operator_id,
                  created_at=utcnow())
        stock.put(tx, body.warehouse_id, body.lines, reason="purchase_receipt", doc_type="purchase_order",
                  doc_id=body.order_id, operator_id=body.operator_id)
        return {"applied": True}

    try:
        return db.writing(unit)
    except IntegrityError:
        return {"applied": False}


@internal.post("/receipts", dependencies=[InternalOnly])
async def post_receipt(body: ReceiptIn, svc: ServiceDep):
    return await run_blocking(receive, svc.db, body)


def create_inventory_app(settings: Settings | None = None, micro: MicroSettings | None = None,
                         peers: dict[str, Peer] | None = None):
    settings = settings or Settings()
    micro = micro or MicroSettings()
    peers = peers if peers is not None else make_peers(micro, ["customers"])
    stock_levels = subset(report_routes.router, lambda r: r.path.endswith("/stock-levels"))
    return service_app("inventory", settings, micro, peers, [catalog.router, stock_levels], internal,
                       operator=remote_operator)


__all__ = ["create_inventory_app", "reserve", "release", "receive", "purchase_check"]
