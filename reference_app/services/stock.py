"""Stock and its ledger: every change of on-hand quantity goes through here, with a ledger row.

* :func:`take` decrements with ``UPDATE ... SET on_hand = on_hand - q WHERE ... AND on_hand >= q``:
  atomic on every engine (no read-modify-write, so no lost update and never negative).
* :func:`put` increments, inserting the stock row when it is missing. Two transactions may both
  find it missing; the loser's INSERT fails on the primary key and the unit of work is re-run
  (:class:`~reference_app.services.database.Retry`), now finding the row.

Both take rows in ascending product order so that concurrent multi-line documents lock in the same
order and cannot deadlock each other.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from reference_app.domain import InvalidReference, OutOfStock
from reference_app.models import Product, Stock, StockMove, Warehouse, utcnow
from reference_app.services.database import Database, Retry
from reference_app.services.prepared import Prepared


def check_warehouse(session: Session, warehouse_id: int, field: tuple[str | int, ...] = ("body", "warehouse_id")) -> None:
    if session.scalar(select(Warehouse.id).where(Warehouse.id == warehouse_id)) is None:
        raise InvalidReference(field, f"warehouse_id {warehouse_id} does not exist")


def products_by_id(session: Session, product_ids: list[int]) -> dict[int, Product]:
    """The named products, or InvalidReference naming the first line whose product is unknown."""
    found = {p.id: p for p in session.scalars(select(Product).where(Product.id.in_(set(product_ids))))}
    for i, pid in enumerate(product_ids):
        if pid not in found:
            raise InvalidReference(("body", "lines", i, "product_id"), f"product_id {pid} does not exist")
    return found


def _merged(quantities: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    total: dict[int, int] = {}
    for pid, qty in quantities:
        total[pid] = total.get(pid, 0) + qty
    return sorted(total.items())


def _ledger(session: Session, rows: list[dict]) -> None:
    session.execute(insert(StockMove), rows)


def take(session: Session, warehouse_id: int, quantities: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Remove stock, all or nothing (OutOfStock; the caller's transaction rolls back).

    Returns the (product_id, -qty) changes for :func:`record`, which the caller writes once it knows
    the document id: the document row is inserted *after* the row locks are taken, because on
    MariaDB inserting it takes shared locks on its parents (the customer) and taking those before
    the exclusive ones is how two orders of one customer would deadlock.
    """
    changes = []
    for pid, qty in _merged(quantities):
        res = session.execute(
            update(Stock)
            .where(Stock.product_id == pid, Stock.warehouse_id == warehouse_id, Stock.on_hand >= qty)
            .values(on_hand=Stock.on_hand - qty)
            .execution_options(synchronize_session=False)
        )
        if res.rowcount == 0:
            raise OutOfStock(pid, warehouse_id, qty)
        changes.append((pid, -qty))
    return changes


def record(session: Session, warehouse_id: int, changes: list[tuple[int, int]], *, reason: str, doc_type: str,
           doc_id: int, operator_id: int) -> None:
    """One ledger row per stock change of a document."""
    now = utcnow()
    _ledger(session, [
        dict(product_id=pid, warehouse_id=warehouse_id, qty=qty, reason=reason, doc_type=doc_type, doc_id=doc_id,
             operator_id=operator_id, created_at=now)
        for pid, qty in changes
    ])


def put(session: Session, warehouse_id: int, quantities: Iterable[tuple[int, int]], *, reason: str,
        doc_type: str, doc_id: int, operator_id: int) -> None:
    """Add stock for a document, creating missing stock rows."""
    moves = []
    now = utcnow()
    for pid, qty in _merged(quantities):
        res = session.execute(
            update(Stock)
            .where(Stock.product_id == pid, Stock.warehouse_id == warehouse_id)
            .values(on_hand=Stock.on_hand + qty)
            .execution_options(synchronize_session=False)
        )
        if res.rowcount == 0:
            try:
                with session.begin_nested():
                    session.execute(insert(Stock).values(product_id=pid, warehouse_id=warehouse_id, on_hand=qty))
            except IntegrityError as exc:
                raise Retry(f"stock row {pid}/{warehouse_id} inserted concurrently") from exc
        moves.append(dict(product_id=pid, warehouse_id=warehouse_id, qty=qty, reason=reason, doc_type=doc_type,
                          doc_id=doc_id, operator_id=operator_id, created_at=now))
    _ledger(session, moves)


def _stock(by_product: bool, by_warehouse: bool) -> Prepared:
    stmt = select(Stock.product_id, Stock.warehouse_id, Stock.on_hand)
    if by_product:
        stmt = stmt.where(Stock.product_id == bindparam("product_id"))
    if by_warehouse:
        stmt = stmt.where(Stock.warehouse_id == bindparam("warehouse_id"))
    return Prepared(stmt.order_by(Stock.product_id, Stock.warehouse_id).limit(bindparam("limit")))


# One statement per combination of filters, keyed (by product?, by warehouse?).
STOCK_LIST = {(p, w): _stock(p, w) for p in (False, True) for w in (False, True)}


def list_stock(db: Database, *, product_id: int | None, warehouse_id: int | None, limit: int) -> list[tuple]:
    """(product_id, warehouse_id, on_hand) rows, filtered by product and/or warehouse."""
    stmt = STOCK_LIST[(product_id is not None, warehouse_id is not None)]
    params = {"limit": limit}
    if product_id is not None:
        params["product_id"] = product_id
    if warehouse_id is not None:
        params["warehouse_id"] = warehouse_id
    with db.reading() as tx:
        return tx.tuples(stmt, **params)


__all__ = ["check_warehouse", "products_by_id", "take", "record", "put", "list_stock"]
