"""The *customers* service: operators, login, customers and their balances.

Public routes are the monolith's (auth, customers), except the customer view, whose five newest
orders now come from *orders*. Internal routes let the other services check visibility, move a
balance under an idempotency key (and revert it), and resolve an operator's scope for reports.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError

from reference_app.api.deps import CurrentOperator
from reference_app.api.responses import json_response
from reference_app.api.routes import auth
from reference_app.api.routes import customers as customer_routes
from reference_app.api.schemas import CustomerView, customer_row_dict
from reference_app.api.workers import run_blocking
from reference_app.config import Settings
from reference_app.domain import Conflict, CreditLimitExceeded, NotFound, format_money
from reference_app.micro.models import BalanceMove
from reference_app.micro.peers import Peer
from reference_app.micro.service import InternalOnly, MicroSettings, ServiceDep, service_app
from reference_app.models import Customer, utcnow
from reference_app.services import operators
from reference_app.services.customers import CUSTOMER_ONE, require_visible
from reference_app.services.database import Database
from reference_app.services.payments import CREDIT
from reference_app.services.permissions import Actor, Scoped, scope_of
from reference_app.services.prepared import Prepared, Tx, insert_row
from reference_app.services.sales import CHARGE

# -- the customer view: the customer here, its newest orders from *orders* -------------------------
view_router = APIRouter(prefix="/customers", tags=["customers"])


def one_customer(db: Database, actor: Actor, customer_id: int) -> tuple:
    one, scope = CUSTOMER_ONE.for_actor(actor)
    with db.reading() as tx:
        found = tx.tuples(one, customer_id=customer_id, **scope)
    if not found:
        raise NotFound("customer", customer_id)
    return found[0]


@view_router.get("/{customer_id}", response_model=CustomerView)
async def get_customer(customer_id: customer_routes.CustomerId, svc: ServiceDep, actor: CurrentOperator):
    """One customer with its balance and its 5 most recent orders."""
    customer = await run_blocking(one_customer, svc.db, actor, customer_id)
    orders = await svc.peer("orders").call("GET", f"/internal/customers/{customer_id}/recent-orders",
                                           internal=svc.internal)
    view = customer_row_dict(customer)
    view["recent_orders"] = [{"id": oid, "warehouse_id": wid, "total": format_money(total), "created_at": created}
                             for oid, wid, total, created in orders]
    return json_response(view)


def _public_customers() -> APIRouter:
    """The monolith's customer routes, in their order, with the view swapped for the one above."""
    override = next(r for r in view_router.routes if r.name == "get_customer")
    out = APIRouter()
    for route in customer_routes.router.routes:
        same = getattr(route, "path", None) == override.path and getattr(route, "methods", None) == override.methods
        out.routes.append(override if same else route)
    return out


# -- internal ---------------------------------------------------------------------------------------
internal = APIRouter()
_M = BalanceMove.__table__.c
MOVE = Prepared(select(_M.customer_id, _M.amount_cents, _M.status).where(_M.key == bindparam("p_key")))
NEW_MOVE = insert_row(BalanceMove.__table__)
REVERT = Prepared(update(BalanceMove).where(_M.key == bindparam("p_key"), _M.status == "applied")
                  .values(status="reverted"))
_C = Customer.__table__.c
VISIBLE_IDS = Scoped(lambda scope: select(_C.id, _C.name).where(scope).order_by(_C.id))
OWING = Scoped(lambda scope: select(_C.id, _C.balance_cents).where(scope, _C.balance_cents > 0).order_by(_C.id))


class MoveIn(BaseModel):
    key: str = Field(min_length=8, max_length=64)
    customer_id: int
    amount_cents: int  # + charge (an order), - credit (a payment)
    credit_check: bool = True


@internal.get("/operators/{operator_id}", dependencies=[InternalOnly])
async def operator_role(operator_id: int, svc: ServiceDep):
    found = await run_blocking(operators.role_and_team, svc.db, operator_id)
    if found is None:
        raise NotFound("operator", operator_id)
    return {"role": found[0], "team": found[1]}


def _visible(db: Database, actor: Actor, customer_id: int) -> None:
    scope_of(actor)
    with db.reading() as tx:
        require_visible(tx, actor, customer_id)


@internal.post("/customers/{customer_id}/visible")
async def visible(customer_id: int, svc: ServiceDep, actor: CurrentOperator):
    """200 if the caller may see the customer; 404 (as the monolith says) otherwise; 403 for clerks."""
    await run_blocking(_visible, svc.db, actor, customer_id)
    return {"ok": True}


def apply_move(db: Database, actor: Actor, move: MoveIn) -> dict[str, Any]:
    """Move the balance once per key: a repeated key answers the first move; a reverted key is refused."""
    scope_of(actor)

    def unit(tx: Tx) -> dict[str, Any]:
        found = tx.tuples(MOVE, p_key=move.key)
        if found:
            return _known(found[0], move.key)
        require_visible(tx, actor, move.customer_id)
        now = utcnow()
        if move.credit_check:
            if tx.run(CHARGE, p_customer=move.customer_id, p_total=move.amount_cents, p_now=now) == 0:
                raise CreditLimitExceeded(move.customer_id, move.amount_cents)
        else:
            tx.run(CREDIT, p_customer=move.customer_id, p_amount=-move.amount_cents, p_now=now)
        tx.insert(NEW_MOVE, key=move.key, customer_id=move.customer_id, amount_cents=move.amount_cents,
                  status="applied", created_at=now)
        return {"key": move.key, "status": "applied"}

    try:
        return db.writing(unit)
    except IntegrityError:  # the same key applied concurrently: answer as the winner did
        with db.reading() as tx:
            found = tx.tuples(MOVE, p_key=move.key)
        if not found:
            raise
        return _known(found[0], move.key)


def _known(row: tuple, key: str) -> dict[str, Any]:
    if row[2] == "reverted":
        raise Conflict(f"balance move {key} was reverted")
    return {"key": key, "status": "applied"}


@internal.post("/balance-moves")
async def move_balance(body: MoveIn, svc: ServiceDep, actor: CurrentOperator):
    return await run_blocking(apply_move, svc.db, actor, body)


def revert_move(db: Database, key: str) -> dict[str, Any]:
    """Undo a move once; a key never seen is recorded as reverted, so that the move, should it
    arrive late, is refused."""
    def unit(tx: Tx) -> dict[str, Any]:
        found = tx.tuples(MOVE, p_key=key)
        if not found:
            tx.insert(NEW_MOVE, key=key, customer_id=0, amount_cents=0, status="reverted", created_at=utcnow())
            return {"key": key, "status": "reverted", "was": None}
        customer_id, amount, status = found[0]
        if status == "applied" and tx.run(REVERT, p_key=key) == 1:
            tx.run(CREDIT, p_customer=customer_id, p_amount=amount, p_now=utcnow())
            return {"key": key, "status": "reverted", "was": "applied"}
        return {"key": key, "status": "reverted", "was": "reverted"}

    try:
        return db.writing(unit)
    except IntegrityError:  # the move was inserted meanwhile: revert it
        return db.writing(unit)


@internal.post("/balance-moves/{key}/revert", dependencies=[InternalOnly])
async def revert(key: str, svc: ServiceDep):
    return await run_blocking(revert_move, svc.db, key)


def _scoped_rows(db: Database, actor: Actor, which: Scoped) -> list[tuple]:
    stmt, scope = which.for_actor(actor)
    with db.reading() as tx:
        return tx.tuples(stmt, **scope)


@internal.get("/scope")
async def scope(svc: ServiceDep, actor: CurrentOperator):
    """The caller's visible customers ([id, name]), or ``{"all": true}`` for an admin."""
    shape, _ = scope_of(actor)
    if shape == "all":
        return {"all": True}
    return json_response({"all": False, "customers": await run_blocking(_scoped_rows, svc.db, actor, VISIBLE_IDS)})


@internal.get("/owing")
async def owing(svc: ServiceDep, actor: CurrentOperator):
    """[id, balance_cents] of the caller's customers that owe money."""
    return json_response(await run_blocking(_scoped_rows, svc.db, actor, OWING))


def _names(db: Database, ids: list[int]) -> dict[int, str]:
    with db.read() as s:
        return {i: n for i, n in s.execute(select(Customer.id, Customer.name).where(Customer.id.in_(ids)))}


class Ids(BaseModel):
    ids: list[int] = Field(max_length=1000)


@internal.post("/customer-names", dependencies=[InternalOnly])
async def names(body: Ids, svc: ServiceDep):
    return json_response({str(k): v for k, v in (await run_blocking(_names, svc.db, body.ids)).items()})


def create_customers_app(settings: Settings | None = None, micro: MicroSettings | None = None,
                         peers: dict[str, Peer] | None = None):
    from reference_app.micro.service import make_peers
    settings = settings or Settings()
    micro = micro or MicroSettings()
    peers = peers if peers is not None else make_peers(micro, ["orders"])
    return service_app("customers", settings, micro, peers, [_public_customers(), auth.router], internal,
                       operator=lambda svc: (lambda oid: operators.role_and_team(svc.db, oid)))


__all__ = ["create_customers_app", "apply_move", "revert_move"]
