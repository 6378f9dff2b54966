"""Customers: scoped listing, contains-search, the customer view, creation under quota, edits.

Every read carries the operator's scope as a SQL condition (:class:`~reference_app.services.permissions.Scoped`), so a customer
outside the operator's scope is simply not found. Creation reserves a quota slot with one
conditional UPDATE on ``operators.customer_count`` (never count-then-insert, which two concurrent
requests would both pass).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Integer, bindparam, column, func, or_, select, text, update
from sqlalchemy.exc import IntegrityError

from reference_app.domain import Conflict, InvalidReference, NotFound, QuotaExceeded
from reference_app.models import Customer, Operator, SalesOrder, utcnow
from reference_app.services.database import Database
from reference_app.services.permissions import (
    CUSTOMER_ROLES, Actor, Owner, Scoped, may_own, require_role,
)
from reference_app.services.prepared import Prepared, Tx, insert_row

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


# The hot reads run statements built once (:mod:`.prepared`), one per shape of the operator's scope
# (:class:`~reference_app.services.permissions.Scoped`), and return plain tuples of these columns.
CUSTOMER_COLUMNS = tuple(Customer.__table__.c)  # api.schemas.CUSTOMER_ROW names them in this order
_C = Customer.__table__.c

CUSTOMER_PAGE = Scoped(lambda scope: select(*CUSTOMER_COLUMNS)
                       .where(scope, _C.id > bindparam("after")).order_by(_C.id).limit(bindparam("limit")))
CUSTOMER_COUNT = Scoped(lambda scope: select(func.count()).select_from(Customer.__table__).where(scope))
CUSTOMER_ONE = Scoped(lambda scope: select(*CUSTOMER_COLUMNS).where(_C.id == bindparam("customer_id"), scope))
RECENT = Prepared(
    select(SalesOrder.id, SalesOrder.warehouse_id, SalesOrder.total_cents, SalesOrder.created_at)
    .where(SalesOrder.customer_id == bindparam("customer_id"))
    .order_by(SalesOrder.created_at.desc(), SalesOrder.id.desc())
    .limit(RECENT_ORDERS)
)
_PATTERN = bindparam("pattern")
_SEARCH_CONDITIONS = {
    "fts": _C.id.in_(_FTS_IDS.bindparams(bindparam("match"))),
    # ILIKE is what the tuned pg_trgm GIN indexes serve.
    "ilike": or_(_C.name.ilike(_PATTERN, escape=_LIKE_ESCAPE), _C.phone.ilike(_PATTERN, escape=_LIKE_ESCAPE)),
    # SQLite LIKE is case-insensitive for ASCII; MariaDB's utf8mb4_unicode_ci collation is too.
    "like": or_(_C.name.like(_PATTERN, escape=_LIKE_ESCAPE), _C.phone.like(_PATTERN, escape=_LIKE_ESCAPE)),
}
CUSTOMER_SEARCH = {
    kind: Scoped(lambda scope, cond=cond: select(*CUSTOMER_COLUMNS).where(scope, cond)
                 .order_by(_C.id).limit(bindparam("limit")))
    for kind, cond in _SEARCH_CONDITIONS.items()
}


CUSTOMER_VISIBLE = Scoped(lambda scope: select(_C.id).where(_C.id == bindparam("customer_id"), scope))


def require_visible(tx: Tx, actor: Actor, customer_id: int) -> None:
    """NotFound unless ``actor`` may see the customer (whether or not it exists)."""
    stmt, scope = CUSTOMER_VISIBLE.for_actor(actor)
    if tx.scalar(stmt, customer_id=customer_id, **scope) is None:
        raise NotFound("customer", customer_id)


def list_customers(db: Database, actor: Actor, *, after: int, limit: int,
                   with_total: bool = False) -> tuple[list[tuple], int | None, int | None]:
    """One page in id order (keyset: ``id > after``); ``next_after`` is None on the last page;
    ``total`` (customers in the actor's scope) only when asked, counted in the same transaction."""
    page, scope = CUSTOMER_PAGE.for_actor(actor)
    with db.reading() as tx:
        rows = tx.tuples(page, after=after, limit=limit + 1, **scope)
        total = None
        if with_total:
            count, scope = CUSTOMER_COUNT.for_actor(actor)
            total = int(tx.scalar(count, **scope))
    next_after = rows[limit - 1][0] if len(rows) > limit else None
    return rows[:limit], next_after, total


def customer_pages(db: Database, actor: Actor, *, page_size: int = 5000) -> Iterator[list[tuple]]:
    """Every customer in the actor's scope, in id order, a keyset page at a time: each page is its
    own short read transaction, so a slow reader holds no connection and no snapshot between pages."""
    page, scope = CUSTOMER_PAGE.for_actor(actor)
    after = 0
    while True:
        with db.reading() as tx:
            rows = tx.tuples(page, after=after, limit=page_size, **scope)
        if rows:
            yield rows
        if len(rows) < page_size:
            return
        after = rows[-1][0]


def _search_kind(db: Database, q: str) -> tuple[str, dict[str, str]]:
    if db.backend == "sqlite" and db.index_level == "tuned" and len(q) >= _FTS_MIN_CHARS:
        return "fts", {"match": '"' + q.replace('"', '""') + '"'}
    return ("ilike" if db.backend == "postgresql" else "like"), {"pattern": like_pattern(q)}


def search_customers(db: Database, actor: Actor, q: str, *, limit: int) -> list[tuple]:
    """Visible customers whose name or phone contains ``q`` (lowest ids first)."""
    kind, params = _search_kind(db, q)
    stmt, scope = CUSTOMER_SEARCH[kind].for_actor(actor)
    with db.reading() as tx:
        return tx.tuples(stmt, limit=limit, **params, **scope)


def get_customer(db: Database, actor: Actor, customer_id: int) -> tuple[tuple, list[tuple]]:
    """The customer and its newest orders: two indexed queries, whatever the history."""
    one, scope = CUSTOMER_ONE.for_actor(actor)
    with db.reading() as tx:
        customer = tx.tuples(one, customer_id=customer_id, **scope)
        if not customer:
            raise NotFound("customer", customer_id)
        orders = tx.tuples(RECENT, customer_id=customer_id)
    return customer[0], orders


OWNER = Prepared(select(Operator.id, Operator.role, Operator.team).where(Operator.id == bindparam("p_operator")))
RESERVE_QUOTA = Prepared(
    update(Operator)
    .where(Operator.id == bindparam("p_operator"), Operator.customer_count < Operator.customer_quota)
    .values(customer_count=Operator.customer_count + 1)
)
RELEASE_QUOTA = Prepared(update(Operator).where(Operator.id == bindparam("p_operator"))
                         .values(customer_count=Operator.customer_count - 1))
QUOTA = Prepared(select(Operator.customer_quota).where(Operator.id == bindparam("p_operator")))
NEW_CUSTOMER = insert_row(Customer.__table__)
_EDITABLE = ("code", "name", "phone", "email", "region", "address", "level", "credit_limit_cents", "owner_id")
_edits: dict[tuple[str, ...], Prepared] = {}  # one UPDATE per set of edited fields (at most 2^9), built on first use


def _edit(fields: tuple[str, ...]) -> Prepared:
    found = _edits.get(fields)
    if found is None:
        values = {f: bindparam(f"v_{f}") for f in fields}
        found = _edits[fields] = Prepared(update(Customer).where(_C.id == bindparam("p_customer"))
                                          .values(**values, updated_at=bindparam("v_updated_at")))
    return found


def _owner_for(tx: Tx, actor: Actor, owner_id: int) -> None:
    owner = tx.tuples(OWNER, p_operator=owner_id)
    if not owner or not may_own(actor, Owner(*owner[0])):
        raise InvalidReference(("body", "owner_id"), f"owner_id {owner_id} is not an operator you may assign customers to")


def _reserve_quota(tx: Tx, owner_id: int) -> None:
    """Take one slot of the owner's quota: one conditional UPDATE, never count-then-insert."""
    if tx.run(RESERVE_QUOTA, p_operator=owner_id) == 0:
        raise QuotaExceeded(owner_id, tx.scalar(QUOTA, p_operator=owner_id) or 0)


def new_code() -> str:
    return "C" + secrets.token_hex(8).upper()


def create_customer(db: Database, actor: Actor, fields: dict[str, Any], *, default_credit_limit_cents: int) -> tuple:
    """The new customer as a :data:`CUSTOMER_COLUMNS` tuple."""
    require_role(actor, CUSTOMER_ROLES, "create customers")
    owner_id = fields.pop("owner_id", None) or actor.operator_id
    if fields.get("credit_limit_cents") is None:
        fields["credit_limit_cents"] = default_credit_limit_cents
    if not fields.get("code"):
        fields["code"] = new_code()
    if fields.get("level") is None:
        fields["level"] = Customer.__table__.c.level.default.arg
    row = {k: fields.get(k) for k in ("code", "name", "phone", "email", "region", "address", "level",
                                      "credit_limit_cents")}

    def unit(tx: Tx) -> tuple:
        if owner_id != actor.operator_id:
            _owner_for(tx, actor, owner_id)
        _reserve_quota(tx, owner_id)
        now = utcnow()
        values = dict(row, balance_cents=0, owner_id=owner_id, created_at=now, updated_at=now)
        values["id"] = tx.insert(NEW_CUSTOMER, **values)
        return tuple(values[c.key] for c in CUSTOMER_COLUMNS)

    try:
        return db.writing(unit)
    except IntegrityError as exc:
        raise Conflict(f"customer code {fields['code']!r} already exists") from exc


def update_customer(db: Database, actor: Actor, customer_id: int, changes: dict[str, Any]) -> tuple:
    """Change the given fields of a visible customer; moving it to another owner takes a quota slot.
    The customer as a :data:`CUSTOMER_COLUMNS` tuple afterwards."""
    one, scope = CUSTOMER_ONE.for_actor(actor)
    keys = [c.key for c in CUSTOMER_COLUMNS]

    def unit(tx: Tx) -> tuple:
        found = tx.tuples(one, customer_id=customer_id, **scope)
        if not found:
            raise NotFound("customer", customer_id)
        customer = dict(zip(keys, found[0], strict=True))
        todo = dict(changes)  # a retried unit must start from the request again
        new_owner = todo.pop("owner_id", None)
        if new_owner is not None and new_owner != customer["owner_id"]:
            _owner_for(tx, actor, new_owner)
            old_owner = customer["owner_id"]
            # Lock the two operator rows in id order so that two opposite moves cannot deadlock.
            for op_id in sorted((old_owner, new_owner)):
                if op_id == new_owner:
                    _reserve_quota(tx, new_owner)
                else:
                    tx.run(RELEASE_QUOTA, p_operator=old_owner)
            todo["owner_id"] = new_owner
        if todo:  # as the ORM did: no UPDATE (and no new updated_at) when nothing is given
            fields = tuple(f for f in _EDITABLE if f in todo)
            now = utcnow()
            tx.run(_edit(fields), p_customer=customer_id, v_updated_at=now, **{f"v_{f}": todo[f] for f in fields})
            customer.update(todo, updated_at=now)
        return tuple(customer[k] for k in keys)

    try:
        return db.writing(unit)
    except IntegrityError as exc:
        raise Conflict(f"customer code {changes.get('code')!r} already exists") from exc


__all__ = [
    "RECENT_ORDERS", "CUSTOMER_COLUMNS", "like_pattern", "require_visible", "list_customers", "customer_pages",
    "search_customers", "get_customer",
    "create_customer", "update_customer", "new_code",
]
