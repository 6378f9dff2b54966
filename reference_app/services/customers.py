"""Customers: scoped listing, contains-search, the customer view, creation under quota, edits.

Every read goes through :func:`~reference_app.services.permissions.customer_scope`, so a customer
outside the operator's scope is simply not found. Creation reserves a quota slot with one
conditional UPDATE on ``operators.customer_count`` (never count-then-insert, which two concurrent
requests would both pass).
"""

from __future__ import annotations

import secrets
from typing import Any

from collections.abc import Iterator

from sqlalchemy import ColumnElement, Integer, Row, column, func, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from reference_app.domain import Conflict, InvalidReference, NotFound, QuotaExceeded
from reference_app.models import Customer, Operator, SalesOrder
from reference_app.services.database import Database
from reference_app.services.permissions import CUSTOMER_ROLES, Actor, customer_scope, may_own, require_role

RECENT_ORDERS = 5
_LIKE_ESCAPE = "!"
# FTS5 trigram can only answer patterns of at least three characters.
_FTS_MIN_CHARS = 3
_FTS_IDS = text("SELECT rowid FROM customers_fts WHERE customers_fts MATCH :match").columns(
    column("rowid", Integer)
)


def like_pattern(q: str) -> str:
    """``%q%`` with the user's own ``%``/``_`` taken literally (escape character ``!``)."""
    escaped = q.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return f"%{escaped}%"


def visible_customer(session: Session, actor: Actor, customer_id: int) -> Customer:
    """The customer if ``actor`` may see it, else NotFound (whether or not it exists)."""
    customer = session.scalars(
        select(Customer).where(Customer.id == customer_id, customer_scope(actor))
    ).one_or_none()
    if customer is None:
        raise NotFound("customer", customer_id)
    return customer


# Reads return rows (attribute access like the ORM objects, without building them): the customer
# paths are the hottest of the load and ORM identity-map bookkeeping buys nothing for a read.
CUSTOMER_COLUMNS = tuple(Customer.__table__.c)


def list_customers(db: Database, actor: Actor, *, after: int, limit: int) -> tuple[list[Row], int | None]:
    """One page in id order (keyset: ``id > after``); ``next_after`` is None on the last page."""
    scope = customer_scope(actor)
    with db.read_rows() as conn:
        rows = conn.execute(
            select(*CUSTOMER_COLUMNS).where(scope, Customer.id > after).order_by(Customer.id).limit(limit + 1)
        ).all()
    next_after = rows[limit - 1].id if len(rows) > limit else None
    return rows[:limit], next_after


def count_customers(db: Database, actor: Actor) -> int:
    """How many customers ``actor`` may see (the total of a paged list that asks for it)."""
    scope = customer_scope(actor)
    with db.read_rows() as conn:
        return int(conn.execute(select(func.count()).select_from(Customer).where(scope)).scalar_one())


EXPORT_PAGE = 1000


def export_pages(db: Database, actor: Actor, *, page: int = EXPORT_PAGE) -> Iterator[list[Row]]:
    """Every visible customer in id order, in keyset pages of ``page`` rows, each page read on its own
    connection (an export of a million rows holds no transaction or memory for its whole length).
    The scope is checked before the first row (a clerk gets Forbidden, not an empty file)."""
    scope = customer_scope(actor)
    after = 0
    while True:
        with db.read_rows() as conn:
            rows = conn.execute(
                select(*CUSTOMER_COLUMNS).where(scope, Customer.id > after).order_by(Customer.id).limit(page)
            ).all()
        if not rows:
            return
        yield rows
        if len(rows) < page:
            return
        after = rows[-1].id


def _search_condition(db: Database, q: str) -> ColumnElement[bool]:
    if db.backend == "sqlite" and db.index_level == "tuned" and len(q) >= _FTS_MIN_CHARS:
        phrase = '"' + q.replace('"', '""') + '"'
        return Customer.id.in_(_FTS_IDS.bindparams(match=phrase))
    pattern = like_pattern(q)
    if db.backend == "postgresql":
        # ILIKE is what the tuned pg_trgm GIN indexes serve.
        return or_(
            Customer.name.ilike(pattern, escape=_LIKE_ESCAPE), Customer.phone.ilike(pattern, escape=_LIKE_ESCAPE)
        )
    # SQLite LIKE is case-insensitive for ASCII; MariaDB's utf8mb4_unicode_ci collation is too.
    return or_(Customer.name.like(pattern, escape=_LIKE_ESCAPE), Customer.phone.like(pattern, escape=_LIKE_ESCAPE))


def search_customers(db: Database, actor: Actor, q: str, *, limit: int) -> list[Row]:
    """Visible customers whose name or phone contains ``q`` (lowest ids first)."""
    scope = customer_scope(actor)
    with db.read_rows() as conn:
        stmt = select(*CUSTOMER_COLUMNS).where(scope, _search_condition(db, q)).order_by(Customer.id).limit(limit)
        return conn.execute(stmt).all()


def get_customer(db: Database, actor: Actor, customer_id: int) -> tuple[Row, list[Row]]:
    """The customer and its newest orders: two indexed queries, whatever the history."""
    scope = customer_scope(actor)
    with db.read_rows() as conn:
        customer = conn.execute(select(*CUSTOMER_COLUMNS).where(Customer.id == customer_id, scope)).first()
        if customer is None:
            raise NotFound("customer", customer_id)
        orders = conn.execute(
            select(SalesOrder.id, SalesOrder.warehouse_id, SalesOrder.total_cents, SalesOrder.created_at)
            .where(SalesOrder.customer_id == customer_id)
            .order_by(SalesOrder.created_at.desc(), SalesOrder.id.desc())
            .limit(RECENT_ORDERS)
        ).all()
    return customer, list(orders)


def _owner_for(session: Session, actor: Actor, owner_id: int) -> Operator:
    owner = session.get(Operator, owner_id)
    if owner is None or not may_own(actor, owner):
        raise InvalidReference(("body", "owner_id"), f"owner_id {owner_id} is not an operator you may assign customers to")
    return owner


def _reserve_quota(session: Session, owner_id: int) -> None:
    taken = session.execute(
        update(Operator)
        .where(Operator.id == owner_id, Operator.customer_count < Operator.customer_quota)
        .values(customer_count=Operator.customer_count + 1)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount == 0:
        quota = session.scalar(select(Operator.customer_quota).where(Operator.id == owner_id))
        raise QuotaExceeded(owner_id, quota or 0)


def new_code() -> str:
    return "C" + secrets.token_hex(8).upper()


def create_customer(db: Database, actor: Actor, fields: dict[str, Any], *, default_credit_limit_cents: int) -> Customer:
    require_role(actor, CUSTOMER_ROLES, "create customers")
    owner_id = fields.pop("owner_id", None) or actor.operator_id
    if fields.get("credit_limit_cents") is None:
        fields["credit_limit_cents"] = default_credit_limit_cents
    if not fields.get("code"):
        fields["code"] = new_code()
    if fields.get("level") is None:
        fields.pop("level", None)

    def unit(s: Session) -> Customer:
        if owner_id != actor.operator_id:
            _owner_for(s, actor, owner_id)
        _reserve_quota(s, owner_id)
        customer = Customer(**fields, owner_id=owner_id, balance_cents=0)
        s.add(customer)
        s.flush()
        return customer

    try:
        return db.write(unit)
    except IntegrityError as exc:
        raise Conflict(f"customer code {fields['code']!r} already exists") from exc


def update_customer(db: Database, actor: Actor, customer_id: int, changes: dict[str, Any]) -> Customer:
    """Change the given fields of a visible customer; moving it to another owner takes a quota slot."""
    def unit(s: Session) -> Customer:
        todo = dict(changes)  # a retried unit must start from the request again
        customer = visible_customer(s, actor, customer_id)
        new_owner = todo.pop("owner_id", None)
        if new_owner is not None and new_owner != customer.owner_id:
            _owner_for(s, actor, new_owner)
            old_owner = customer.owner_id
            # Lock the two operator rows in id order so that two opposite moves cannot deadlock.
            for op_id in sorted((old_owner, new_owner)):
                if op_id == new_owner:
                    _reserve_quota(s, new_owner)
                else:
                    s.execute(
                        update(Operator)
                        .where(Operator.id == old_owner)
                        .values(customer_count=Operator.customer_count - 1)
                        .execution_options(synchronize_session=False)
                    )
            customer.owner_id = new_owner
        for key, value in todo.items():
            setattr(customer, key, value)
        s.flush()
        return customer

    try:
        return db.write(unit)
    except IntegrityError as exc:
        raise Conflict(f"customer code {changes.get('code')!r} already exists") from exc


__all__ = [
    "RECENT_ORDERS", "like_pattern", "visible_customer", "list_customers", "count_customers", "export_pages",
    "search_customers", "get_customer",
    "create_customer", "update_customer", "new_code",
]
