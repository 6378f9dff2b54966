"""Cross-service writes of *orders*: a sales order and a payment as sagas.

A sales order (the monolith's one transaction, here three services):

1. *customers*: may the operator see the customer? (404 as the monolith, nothing written yet)
2. *orders*: record the saga ``pending`` under a fresh key (the durable intent);
3. *inventory*: reserve the stock under the key (422 unknown warehouse/product, 409 out of stock);
4. *customers*: charge the order's total to the customer's credit under the key (409 over the limit);
5. *orders*: insert the order and its lines **and** flip the saga ``pending -> done`` in one
   transaction. The flip is conditional: a saga that recovery has meanwhile given up is not
   committed (its compensations already ran).

Any refusal or failure after step 2 compensates the steps that were attempted — release the
reservation, revert the charge — both idempotent, and both recorded by the peer even for a key it
never saw (a tombstone), so a slow step that arrives after its compensation is refused rather than
applied. A request that dies half-way (its process killed, a peer down during compensation) leaves
its saga ``pending`` (or ``aborting``); :func:`recover` compensates those older than the grace time.
Only an order whose step 5 committed is ever acknowledged (201), so every acknowledged order exists,
and no stock or credit stays taken for an order that does not.

A client's ``Idempotency-Key`` header names its request: a retry with the same key answers the order
the first attempt committed instead of ordering twice (or 409 while that attempt is still running).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from typing import Any

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.exc import IntegrityError

from reference_app.domain import Conflict
from reference_app.micro.models import Saga
from reference_app.micro.peers import PeerRefused, PeerUnavailable
from reference_app.micro.service import Service
from reference_app.models import Payment, SalesOrder, SalesOrderLine, utcnow
from reference_app.services.database import Database
from reference_app.services.permissions import Actor
from reference_app.services.prepared import Prepared, Tx, insert_row
from reference_app.services.sales import LINE_COLUMNS, ORDER_COLUMNS

log = logging.getLogger(__name__)

_S = Saga.__table__.c
NEW_SAGA = insert_row(Saga.__table__)
BY_CLIENT_KEY = Prepared(select(_S.key, _S.kind, _S.status, _S.doc_id).where(_S.client_key == bindparam("p_client")))
FORGET_CLIENT_KEY = Prepared(update(Saga).where(_S.client_key == bindparam("p_client"), _S.status == "aborted")
                             .values(client_key=None))
_MOVE = {(a, b): Prepared(update(Saga).where(_S.key == bindparam("p_key"), _S.status == a)
                          .values(status=b, updated_at=bindparam("p_now")))
         for a, b in (("pending", "aborting"), ("aborting", "aborted"), ("pending", "aborted"))}
DONE = Prepared(update(Saga).where(_S.key == bindparam("p_key"), _S.status == "pending")
                .values(status="done", doc_id=bindparam("p_doc"), updated_at=bindparam("p_now")))
STALE = Prepared(select(_S.key, _S.kind, _S.status).where(or_(_S.status == "pending", _S.status == "aborting"),
                                                          _S.updated_at < bindparam("p_before"))
                 .order_by(_S.id).limit(bindparam("limit")))
NEW_ORDER = insert_row(SalesOrder.__table__)
NEW_LINE = insert_row(SalesOrderLine.__table__)
NEW_PAYMENT = insert_row(Payment.__table__)
ORDER = Prepared(select(*ORDER_COLUMNS).where(SalesOrder.id == bindparam("order_id")))
LINES = Prepared(select(*LINE_COLUMNS).where(SalesOrderLine.order_id == bindparam("order_id"))
                 .order_by(SalesOrderLine.id))
PAYMENT = Prepared(select(*Payment.__table__.c).where(Payment.id == bindparam("payment_id")))


class SagaLost(PeerUnavailable):
    """Recovery gave the saga up while its request was still running: nothing was committed."""

    def __init__(self, key: str) -> None:
        super().__init__("orders", f"saga {key} was given up before it committed")


# -- the saga table -----------------------------------------------------------------------------------
def begin(db: Database, kind: str, client_key: str | None) -> str:
    """Record a pending saga; its key. A client key seen before answers through :func:`earlier`."""
    key = uuid.uuid4().hex

    def unit(tx: Tx) -> str:
        if client_key is not None:
            tx.run(FORGET_CLIENT_KEY, p_client=client_key)  # an aborted attempt may be tried again
        now = utcnow()
        tx.insert(NEW_SAGA, key=key, client_key=client_key, kind=kind, status="pending", doc_id=None,
                  created_at=now, updated_at=now)
        return key

    try:
        return db.writing(unit)
    except IntegrityError as exc:  # the same client key, concurrently
        raise Conflict(f"a request with Idempotency-Key {client_key!r} is in progress") from exc


def earlier(db: Database, kind: str, client_key: str) -> tuple[str, int | None] | None:
    """What an earlier request with this client key did: None (never seen or given up, so go
    ahead), ``("done", doc_id)``; 409 while it is still running."""
    with db.reading() as tx:
        found = tx.tuples(BY_CLIENT_KEY, p_client=client_key)
    if not found or found[0][2] == "aborted":
        return None
    _key, seen_kind, status, doc_id = found[0]
    if seen_kind != kind:
        raise Conflict(f"Idempotency-Key {client_key!r} was used for another kind of request")
    if status == "done":
        return status, doc_id
    raise Conflict(f"a request with Idempotency-Key {client_key!r} is in progress")


def _move(db: Database, key: str, old: str, new: str) -> bool:
    return db.writing(lambda tx: tx.run(_MOVE[(old, new)], p_key=key, p_now=utcnow())) == 1


def stale(db: Database, older_than_s: float, limit: int = 100) -> list[tuple[str, str, str]]:
    before = utcnow() - dt.timedelta(seconds=older_than_s)
    with db.reading() as tx:
        return tx.tuples(STALE, p_before=before, limit=limit)


# -- compensation -------------------------------------------------------------------------------------
async def compensate(svc: Service, key: str, kind: str, *, reserved: bool = True, charged: bool = True,
                     claimed: bool = False) -> bool:
    """Give the saga up: claim it (pending -> aborting) unless ``claimed``, undo the remote steps that
    may have happened, then mark it aborted. False when something could not be done now (left for
    :func:`recover`). Never raises."""
    from reference_app.api.workers import run_blocking
    try:
        if not claimed and not await run_blocking(_move, svc.db, key, "pending", "aborting"):
            return True  # done, or someone else is compensating it
        if kind == "sale" and reserved:
            await svc.peer("inventory").call("POST", f"/internal/reservations/{key}/release", internal=svc.internal)
        if charged:
            await svc.peer("customers").call("POST", f"/internal/balance-moves/{key}/revert", internal=svc.internal)
        await run_blocking(_move, svc.db, key, "aborting", "aborted")
        return True
    except Exception as exc:  # noqa: BLE001 - recovery retries it
        log.warning("saga %s: compensation deferred (%s)", key, exc)
        return False


async def recover(svc: Service, older_than_s: float | None = None) -> int:
    """Compensate every saga left pending or aborting longer than the grace time; how many ended."""
    from reference_app.api.workers import run_blocking
    grace = svc.micro.saga_grace_s if older_than_s is None else older_than_s
    ended = 0
    for key, kind, status in await run_blocking(stale, svc.db, grace):
        if status == "pending" and not await run_blocking(_move, svc.db, key, "pending", "aborting"):
            continue  # committed meanwhile
        if await compensate(svc, key, kind, claimed=True):
            ended += 1
    return ended


async def recovery_loop(svc: Service) -> None:
    """The orders service's background task: :func:`recover` every ``recovery_interval_s``."""
    while True:
        try:
            n = await recover(svc)
            if n:
                log.info("recovery compensated %d saga(s)", n)
        except Exception as exc:  # noqa: BLE001 - the database or a peer is down: try again later
            log.warning("saga recovery failed: %s", exc)
        await asyncio.sleep(svc.micro.recovery_interval_s)


# -- the two sagas ------------------------------------------------------------------------------------
def _commit_sale(db: Database, key: str, actor: Actor, customer_id: int, warehouse_id: int,
                 lines: list[tuple[int, int]], prices: dict[int, int]) -> tuple[dict, list[dict]]:
    amounts = [qty * prices[pid] for pid, qty in lines]

    def unit(tx: Tx) -> tuple[dict, list[dict]]:
        now = utcnow()
        order = dict(customer_id=customer_id, warehouse_id=warehouse_id, operator_id=actor.operator_id,
                     total_cents=sum(amounts), created_at=now)
        order = {"id": tx.insert(NEW_ORDER, **order), **order}
        order_lines = []
        for (pid, qty), amount in zip(lines, amounts, strict=True):
            line = dict(order_id=order["id"], product_id=pid, qty=qty, unit_price_cents=prices[pid], amount_cents=amount)
            order_lines.append({"id": tx.insert(NEW_LINE, **line), **line})
        if tx.run(DONE, p_key=key, p_doc=order["id"], p_now=now) != 1:
            raise SagaLost(key)
        return order, order_lines

    return db.writing(unit)


def read_sale(db: Database, order_id: int) -> tuple[dict, list[dict]] | None:
    with db.reading() as tx:
        order = tx.first(ORDER, order_id=order_id)
        return None if order is None else (order, tx.dicts(LINES, order_id=order_id))


async def place_sales_order(svc: Service, actor: Actor, token: str, customer_id: int, warehouse_id: int,
                            lines: list[tuple[int, int]], client_key: str | None) -> tuple[dict, list[dict]]:
    from reference_app.api.workers import run_blocking
    customers, inventory = svc.peer("customers"), svc.peer("inventory")
    if client_key is not None:
        seen = await run_blocking(earlier, svc.db, "sale", client_key)
        if seen is not None:
            return await run_blocking(read_sale, svc.db, seen[1])
    await customers.call("POST", f"/internal/customers/{customer_id}/visible", token=token)
    key = await run_blocking(begin, svc.db, "sale", client_key)
    reserved = charged = False
    try:
        reserved = True
        found = await inventory.call("POST", "/internal/reservations", internal=svc.internal, json={
            "key": key, "warehouse_id": warehouse_id, "lines": lines, "operator_id": actor.operator_id})
        prices = {int(p): c for p, c in found["prices"].items()}
        total = sum(qty * prices[pid] for pid, qty in lines)
        charged = True
        await customers.call("POST", "/internal/balance-moves", token=token, json={
            "key": key, "customer_id": customer_id, "amount_cents": total, "credit_check": True})
        return await run_blocking(_commit_sale, svc.db, key, actor, customer_id, warehouse_id, lines, prices)
    except SagaLost:
        raise
    except asyncio.CancelledError:
        raise  # the saga stays pending: recovery compensates it
    except Exception as exc:
        # A refusal means the step did not happen, so only the earlier steps need undoing.
        if isinstance(exc, PeerRefused):
            reserved = reserved and exc.service != "inventory"
            charged = charged and exc.service != "customers"
        await compensate(svc, key, "sale", reserved=reserved, charged=charged)
        raise


def _commit_payment(db: Database, key: str, actor: Actor, customer_id: int, amount_cents: int) -> dict[str, Any]:
    def unit(tx: Tx) -> dict[str, Any]:
        now = utcnow()
        payment = dict(customer_id=customer_id, operator_id=actor.operator_id, amount_cents=amount_cents,
                       created_at=now)
        payment = {"id": tx.insert(NEW_PAYMENT, **payment), **payment}
        if tx.run(DONE, p_key=key, p_doc=payment["id"], p_now=now) != 1:
            raise SagaLost(key)
        return payment

    return db.writing(unit)


def read_payment(db: Database, payment_id: int) -> dict[str, Any]:
    with db.reading() as tx:
        return tx.first(PAYMENT, payment_id=payment_id)


async def record_payment(svc: Service, actor: Actor, token: str, customer_id: int, amount_cents: int,
                         client_key: str | None) -> dict[str, Any]:
    from reference_app.api.workers import run_blocking
    if client_key is not None:
        seen = await run_blocking(earlier, svc.db, "payment", client_key)
        if seen is not None:
            return await run_blocking(read_payment, svc.db, seen[1])
    key = await run_blocking(begin, svc.db, "payment", client_key)
    try:
        await svc.peer("customers").call("POST", "/internal/balance-moves", token=token, json={
            "key": key, "customer_id": customer_id, "amount_cents": -amount_cents, "credit_check": False})
        return await run_blocking(_commit_payment, svc.db, key, actor, customer_id, amount_cents)
    except SagaLost:
        raise
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        await compensate(svc, key, "payment", charged=not isinstance(exc, PeerRefused))
        raise


__all__ = ["place_sales_order", "record_payment", "recover", "recovery_loop", "compensate", "read_sale", "SagaLost"]
