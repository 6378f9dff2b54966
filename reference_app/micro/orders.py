"""The *orders* service: sales and purchase orders, payments, and the reports over them.

Same paths, bodies and status codes as the monolith's document and report routes; what the
monolith did in one transaction across tables now crosses services (:mod:`.saga`). Reads that the
monolith scoped with a join on customers ask *customers* for the scope.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, status
from sqlalchemy import bindparam, func, select, update

from reference_app.api.deps import CurrentOperator
from reference_app.api.responses import json_response
from reference_app.api.routes.documents import DocId, _purchase_dict, _sales_dict
from reference_app.api.schemas import (
    AgingOut, PaymentIn, PaymentOut, PurchaseOrderIn, PurchaseOrderOut, SalesOrderIn, SalesOrderOut, TopCustomer,
)
from reference_app.api.workers import run_blocking
from reference_app.config import Settings
from reference_app.domain import Conflict, NotFound, format_money, to_cents
from reference_app.micro import saga
from reference_app.micro.peers import Peer
from reference_app.micro.service import (
    InternalOnly, MicroSettings, ServiceDep, bearer, make_peers, remote_operator, service_app,
)
from reference_app.models import PurchaseOrder, PurchaseOrderLine, SalesOrder, utcnow
from reference_app.services.customers import RECENT
from reference_app.services.database import Database
from reference_app.services.permissions import PURCHASING_ROLES, Actor, require_role, scope_of
from reference_app.services.prepared import Prepared, Tx, insert_row
from reference_app.services.reports import AGING_BUCKETS

router = APIRouter(tags=["documents"])
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=128)]


@router.post("/sales-orders", response_model=SalesOrderOut, status_code=status.HTTP_201_CREATED, tags=["sales"])
async def create_sales_order(body: SalesOrderIn, svc: ServiceDep, actor: CurrentOperator, request: Request,
                             idempotency_key: IdempotencyKey = None):
    """Sell at list price: takes stock and credit atomically; 409 out of stock or over the credit limit."""
    scope_of(actor)  # clerks are refused before anything else
    lines = [(ln.product_id, ln.qty) for ln in body.lines]
    order = await saga.place_sales_order(svc, actor, bearer(request), body.customer_id, body.warehouse_id, lines,
                                         idempotency_key)
    return json_response(_sales_dict(*order), status.HTTP_201_CREATED)


@router.get("/sales-orders/{order_id}", response_model=SalesOrderOut, tags=["sales"])
async def get_sales_order(order_id: DocId, svc: ServiceDep, actor: CurrentOperator, request: Request):
    """An order of a customer the caller may see."""
    scope_of(actor)
    found = await run_blocking(saga.read_sale, svc.db, order_id)
    if found is None:
        raise NotFound("sales order", order_id)
    try:
        await svc.peer("customers").call("POST", f"/internal/customers/{found[0]['customer_id']}/visible",
                                         token=bearer(request))
    except saga.PeerRefused as exc:
        if exc.status == 404:
            raise NotFound("sales order", order_id) from exc
        raise
    return json_response(_sales_dict(*found))


NEW_PO = insert_row(PurchaseOrder.__table__)
NEW_PO_LINE = insert_row(PurchaseOrderLine.__table__)
PO = Prepared(select(*PurchaseOrder.__table__.c).where(PurchaseOrder.id == bindparam("order_id")))
PO_LINES = Prepared(select(*PurchaseOrderLine.__table__.c).where(PurchaseOrderLine.order_id == bindparam("order_id"))
                    .order_by(PurchaseOrderLine.id))
RECEIVED = Prepared(update(PurchaseOrder).where(PurchaseOrder.id == bindparam("p_order"), PurchaseOrder.status == "open")
                    .values(status="received", received_at=bindparam("p_now")))


def _insert_po(db: Database, actor: Actor, supplier_id: int, warehouse_id: int,
               lines: list[tuple[int, int, int]]) -> tuple[dict, list[dict]]:
    def unit(tx: Tx) -> tuple[dict, list[dict]]:
        amounts = [qty * cost for _, qty, cost in lines]
        order = dict(supplier_id=supplier_id, warehouse_id=warehouse_id, operator_id=actor.operator_id,
                     status="open", total_cents=sum(amounts), created_at=utcnow(), received_at=None)
        order = {"id": tx.insert(NEW_PO, **order), **order}
        out = []
        for (pid, qty, cost), amount in zip(lines, amounts, strict=True):
            line = dict(order_id=order["id"], product_id=pid, qty=qty, unit_cost_cents=cost, amount_cents=amount)
            out.append({"id": tx.insert(NEW_PO_LINE, **line), **line})
        return order, out

    return db.writing(unit)


@router.post("/purchase-orders", response_model=PurchaseOrderOut, status_code=status.HTTP_201_CREATED,
             tags=["purchasing"])
async def create_purchase_order(body: PurchaseOrderIn, svc: ServiceDep, actor: CurrentOperator):
    """Order goods from a supplier (status open; stock moves on receipt)."""
    require_role(actor, PURCHASING_ROLES, "create purchase orders")
    checked = await svc.peer("inventory").call("POST", "/internal/purchase-check", internal=svc.internal, json={
        "supplier_id": body.supplier_id, "warehouse_id": body.warehouse_id,
        "product_ids": [ln.product_id for ln in body.lines]})
    costs = {int(p): c for p, c in checked["costs"].items()}
    lines = [(ln.product_id, ln.qty, costs[ln.product_id] if ln.unit_cost is None else to_cents(ln.unit_cost))
             for ln in body.lines]
    order = await run_blocking(_insert_po, svc.db, actor, body.supplier_id, body.warehouse_id, lines)
    return json_response(_purchase_dict(*order), status.HTTP_201_CREATED)


def _read_po(db: Database, order_id: int) -> tuple[dict, list[dict]]:
    with db.reading() as tx:
        order = tx.first(PO, order_id=order_id)
        if order is None:
            raise NotFound("purchase order", order_id)
        return order, tx.dicts(PO_LINES, order_id=order_id)


def _flip_po(db: Database, order_id: int) -> tuple[dict, list[dict]]:
    def unit(tx: Tx) -> tuple[dict, list[dict]]:
        if tx.run(RECEIVED, p_order=order_id, p_now=utcnow()) == 0:
            raise Conflict(f"purchase order {order_id} was already received")
        return tx.first(PO, order_id=order_id), tx.dicts(PO_LINES, order_id=order_id)
    return db.writing(unit)


@router.post("/purchase-orders/{order_id}/receive", response_model=PurchaseOrderOut, tags=["purchasing"])
async def receive_purchase_order(order_id: DocId, svc: ServiceDep, actor: CurrentOperator):
    """Receive the goods into stock; 409 if already received.

    Inventory puts the goods in once per order (a repeat is a no-op), then the order is marked
    received here; a failure in between leaves it open with its goods in, and receiving it again
    completes it without counting the goods twice."""
    require_role(actor, PURCHASING_ROLES, "receive purchase orders")
    order, lines = await run_blocking(_read_po, svc.db, order_id)
    if order["status"] != "open":
        raise Conflict(f"purchase order {order_id} was already received")
    await svc.peer("inventory").call("POST", "/internal/receipts", internal=svc.internal, json={
        "order_id": order_id, "warehouse_id": order["warehouse_id"], "operator_id": actor.operator_id,
        "lines": [(ln["product_id"], ln["qty"]) for ln in lines]})
    return json_response(_purchase_dict(*await run_blocking(_flip_po, svc.db, order_id)))


@router.post("/payments", response_model=PaymentOut, status_code=status.HTTP_201_CREATED, tags=["sales"])
async def create_payment(body: PaymentIn, svc: ServiceDep, actor: CurrentOperator, request: Request,
                         idempotency_key: IdempotencyKey = None):
    """Record money received from a customer; lowers its balance."""
    scope_of(actor)
    p = await saga.record_payment(svc, actor, bearer(request), body.customer_id, to_cents(body.amount),
                                  idempotency_key)
    return json_response({"id": p["id"], "customer_id": p["customer_id"], "operator_id": p["operator_id"],
                          "amount": format_money(p["amount_cents"]), "created_at": p["created_at"]},
                         status.HTTP_201_CREATED)


# -- reports over orders, scoped by customers -----------------------------------------------------------
reports = APIRouter(prefix="/reports", tags=["reports"])
_CHUNK = 500


def _totals(db: Database, since: dt.datetime, ids: list[int] | None, limit: int) -> list[tuple[int, int, int]]:
    """(customer_id, orders, total_cents) since ``since``: of ``ids``, or the top ``limit`` of all."""
    total = func.sum(SalesOrder.total_cents)
    base = (select(SalesOrder.customer_id, func.count(SalesOrder.id), total)
            .where(SalesOrder.created_at >= since).group_by(SalesOrder.customer_id))
    with db.read() as s:
        if ids is None:
            return [tuple(r) for r in s.execute(base.order_by(total.desc(), SalesOrder.customer_id).limit(limit))]
        rows = []
        for i in range(0, len(ids), _CHUNK):
            rows += [tuple(r) for r in s.execute(base.where(SalesOrder.customer_id.in_(ids[i:i + _CHUNK])))]
        return rows


@reports.get("/top-customers", response_model=list[TopCustomer])
async def top_customers(svc: ServiceDep, actor: CurrentOperator, request: Request,
                        days: Annotated[int, Query(ge=1, le=3660)] = 30,
                        limit: Annotated[int, Query(ge=1, le=100)] = 10):
    """The caller's customers by sales over the last `days` days."""
    scope = await svc.peer("customers").call("GET", "/internal/scope", token=bearer(request))
    since = utcnow() - dt.timedelta(days=days)
    names: dict[int, str] = {} if scope["all"] else {cid: name for cid, name in scope["customers"]}
    rows = await run_blocking(_totals, svc.db, since, None if scope["all"] else list(names), limit)
    rows = sorted(rows, key=lambda r: (-int(r[2]), r[0]))[:limit]
    if scope["all"] and rows:
        found = await svc.peer("customers").call("POST", "/internal/customer-names", internal=svc.internal,
                                                 json={"ids": [r[0] for r in rows]})
        names = {int(k): v for k, v in found.items()}
    return json_response([{"customer_id": cid, "name": names.get(cid, ""), "orders": int(n),
                           "total": format_money(int(t))} for cid, n, t in rows])


def _orders_of(db: Database, ids: list[int]) -> list[tuple[int, dt.datetime, int, int]]:
    rows = []
    with db.read() as s:
        for i in range(0, len(ids), _CHUNK):
            rows += [tuple(r) for r in s.execute(
                select(SalesOrder.customer_id, SalesOrder.created_at, SalesOrder.id, SalesOrder.total_cents)
                .where(SalesOrder.customer_id.in_(ids[i:i + _CHUNK])))]
    return rows


def aging(balances: dict[int, int], orders: list[tuple[int, dt.datetime, int, int]], now: dt.datetime) -> dict:
    """The monolith's FIFO aging (payments settle the oldest orders first) over rows from two services."""
    bounds = [(name, now - dt.timedelta(days=d)) for name, d in AGING_BUCKETS if d]
    cents = {name: 0 for name, _ in AGING_BUCKETS}
    who: dict[str, set[int]] = {name: set() for name, _ in AGING_BUCKETS}
    newer = {cid: 0 for cid in balances}
    for cid, created, _oid, total in sorted(orders, key=lambda o: (o[0], o[1], o[2]), reverse=True):
        covered = newer[cid]
        newer[cid] += total
        balance = balances[cid]
        open_cents = 0 if covered >= balance else (total if newer[cid] <= balance else balance - covered)
        if open_cents > 0:
            bucket = next((name for name, since in bounds if created >= since), AGING_BUCKETS[-1][0])
            cents[bucket] += open_cents
            who[bucket].add(cid)
    buckets = [{"bucket": name, "open_cents": cents[name], "customers": len(who[name])} for name, _ in AGING_BUCKETS]
    return {"as_of": now, "buckets": buckets, "total_cents": sum(b["open_cents"] for b in buckets)}


@reports.get("/receivables-aging", response_model=AgingOut)
async def receivables_aging(svc: ServiceDep, actor: CurrentOperator, request: Request):
    """Open balances of the caller's customers by age (0-30, 31-60, 61-90, 90+ days); payments settle oldest first."""
    owing = await svc.peer("customers").call("GET", "/internal/owing", token=bearer(request))
    balances = {cid: bal for cid, bal in owing}
    now = utcnow()
    result = aging(balances, await run_blocking(_orders_of, svc.db, list(balances)), now)
    return json_response({
        "as_of": result["as_of"], "total": format_money(result["total_cents"]),
        "buckets": [{"bucket": b["bucket"], "amount": format_money(b["open_cents"]), "customers": b["customers"]}
                    for b in result["buckets"]],
    })


# -- internal -------------------------------------------------------------------------------------------
internal = APIRouter()


def _recent(db: Database, customer_id: int) -> list[tuple]:
    with db.reading() as tx:
        return tx.tuples(RECENT, customer_id=customer_id)


@internal.get("/customers/{customer_id}/recent-orders", dependencies=[InternalOnly])
async def recent_orders(customer_id: int, svc: ServiceDep):
    return json_response(await run_blocking(_recent, svc.db, customer_id))


@internal.post("/recover", dependencies=[InternalOnly])
async def recover_now(svc: ServiceDep, older_than_s: float | None = None):
    """Run a recovery pass now (tests, operators): how many sagas were compensated."""
    return {"compensated": await saga.recover(svc, older_than_s)}


def create_orders_app(settings: Settings | None = None, micro: MicroSettings | None = None,
                      peers: dict[str, Peer] | None = None, *, recovery: bool = True):
    settings = settings or Settings()
    micro = micro or MicroSettings()
    peers = peers if peers is not None else make_peers(micro, ["customers", "inventory"])
    return service_app("orders", settings, micro, peers, [router, reports], internal, operator=remote_operator,
                       background=saga.recovery_loop if recovery else None)


__all__ = ["create_orders_app", "aging"]
