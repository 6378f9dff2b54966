"""Stock and its ledger: every change of on-hand quantity goes through here, with a ledger row.

* :func:`take` decrements with ``UPDATE ... SET on_hand = on_hand - q WHERE ... AND on_hand >= q``:
  atomic on every engine (no read-modify-write, so no lost update and never negative).
* :func:`put` increments, inserting the stock row when it is missing. Two transactions may both
  find it missing; the loser's INSERT fails on the primary key and the unit of work is re-run
  (:class:`~reference_app.services.database.Retry`), now finding the row.

Both take rows in ascending product order so that concurrent multi-line documents lock in the same
order and cannot deadlock each other. Everything here runs inside a caller's :class:`Tx` on
statements built once (:mod:`.prepared`).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError

from reference_app.domain import InvalidReference, OutOfStock
from reference_app.models import Product, Stock, StockMove, Warehouse, utcnow
from reference_app.services.database import Database, Retry
from reference_app.services.prepared import Prepared, Tx, insert_row

# Bind names are not column names: in an UPDATE those are reserved for the SET clause.
_PRODUCT, _WAREHOUSE, _QTY = bindparam("p_product"), bindparam("p_warehouse"), bindparam("p_qty")
WAREHOUSE_EXISTS = Prepared(select(Warehouse.id).where(Warehouse.id == _WAREHOUSE))
PRODUCT_PRICES = Prepared(select(Product.price_cents, Product.cost_cents).where(Product.id == _PRODUCT))
_THIS_STOCK = (Stock.product_id == _PRODUCT, Stock.warehouse_id == _WAREHOUSE)
TAKE = Prepared(update(Stock).where(*_THIS_STOCK, Stock.on_hand >= _QTY).values(on_hand=Stock.on_hand - _QTY))
ADD = Prepared(update(Stock).where(*_THIS_STOCK).values(on_hand=Stock.on_hand + _QTY))
NEW_STOCK_ROW = insert_row(Stock.__table__, new_id=False)
LEDGER_ROW = insert_row(StockMove.__table__, new_id=False)


def check_warehouse(tx: Tx, warehouse_id: int, field: tuple[str | int, ...] = ("body", "warehouse_id")) -> None:
    if tx.scalar(WAREHOUSE_EXISTS, p_warehouse=warehouse_id) is None:
        raise InvalidReference(field, f"warehouse_id {warehouse_id} does not exist")


def product_prices(tx: Tx, product_ids: list[int]) -> dict[int, tuple[int, int]]:
    """{product_id: (price_cents, cost_cents)}, or InvalidReference naming the first line whose
    product is unknown. One indexed lookup per distinct product (documents have few lines)."""
    found = {}
    for i, pid in enumerate(product_ids):
        if pid not in found:
            rows = tx.tuples(PRODUCT_PRICES, p_product=pid)
            if not rows:
                raise InvalidReference(("body", "lines", i, "product_id"), f"product_id {pid} does not exist")
            found[pid] = rows[0]
    return found


def _merged(quantities: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    total: dict[int, int] = {}
    for pid, qty in quantities:
        total[pid] = total.get(pid, 0) + qty
    return sorted(total.items())


def take(tx: Tx, warehouse_id: int, quantities: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Remove stock, all or nothing (OutOfStock; the caller's transaction rolls back).

    Returns the (product_id, -qty) changes for :func:`record`, which the caller writes once it knows
    the document id: the document row is inserted *after* the row locks are taken, because on
    MariaDB inserting it takes shared locks on its parents (the customer) and taking those before
    the exclusive ones is how two orders of one customer would deadlock.
    """
    changes = []
    for pid, qty in _merged(quantities):
        if tx.run(TAKE, p_product=pid, p_warehouse=warehouse_id, p_qty=qty) == 0:
            raise OutOfStock(pid, warehouse_id, qty)
        changes.append((pid, -qty))
    return changes


def record(tx: Tx, warehouse_id: int, changes: list[tuple[int, int]], *, reason: str, doc_type: str,
           doc_id: int, operator_id: int) -> None:
    """One ledger row per stock change of a document."""
    now = utcnow()
    tx.insert_many(LEDGER_ROW, [
        dict(product_id=pid, warehouse_id=warehouse_id, qty=qty, reason=reason, doc_type=doc_type, doc_id=doc_id,
             operator_id=operator_id, created_at=now)
        for pid, qty in changes
    ])


def put(tx: Tx, warehouse_id: int, quantities: Iterable[tuple[int, int]], *, reason: str,
        doc_type: str, doc_id: int, operator_id: int) -> None:
    """Add stock for a document, creating missing stock rows."""
    changes = []
    for pid, qty in _merged(quantities):
        if tx.run(ADD, p_product=pid, p_warehouse=warehouse_id, p_qty=qty) == 0:
            try:
                tx.run(NEW_STOCK_ROW, product_id=pid, warehouse_id=warehouse_id, on_hand=qty)
            except IntegrityError as exc:
                # The whole unit re-runs (no savepoint needed: nothing of this attempt is kept).
                raise Retry(f"stock row {pid}/{warehouse_id} inserted concurrently") from exc
        changes.append((pid, qty))
    record(tx, warehouse_id, changes, reason=reason, doc_type=doc_type, doc_id=doc_id, operator_id=operator_id)


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


__all__ = ["check_warehouse", "product_prices", "take", "record", "put", "list_stock"]
