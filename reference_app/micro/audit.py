"""The cross-service audit: the monolith's checks in each service's database, and the links between
the databases reconciled key by key.

Local (as :mod:`reference_app.audit`, each in the database that holds its tables):
``stock_matches_ledger``, ``stock_not_negative`` (inventory), ``sales_order_total``,
``purchase_order_total`` (orders), ``operator_customer_count`` (customers).

Across services:

* ``sale_stock``: every committed sales order took exactly its lines' quantities from stock, in its
  warehouse, through a held reservation under its saga's key; no reservation holds stock without a
  committed order; a released reservation's ledger nets to zero.
* ``customer_balance``: each customer's balance = its orders' totals − its payments (orders) and =
  the sum of its applied balance moves (customers); each committed order or payment has exactly its
  move applied, and no move is applied without one.
* ``purchase_receipt``: a purchase order is received in orders exactly when its goods were put into
  stock in inventory, with its lines' quantities.
* ``saga_unfinished``: sagas still pending or being compensated. After load and a recovery pass
  there are none; while requests run, these are the in-flight ones.

The reconciliation pulls per-key aggregates into Python (one query per table and database): meant
for after a run, not for the hot path.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Engine, func, select

from reference_app.audit import DEFAULT_SAMPLE, AuditResult, _checks
from reference_app.micro.models import BalanceMove, Reservation, Saga
from reference_app.models import (
    Customer, Payment, PurchaseOrder, PurchaseOrderLine, SalesOrder, SalesOrderLine, StockMove,
)

LOCAL = {
    "inventory": ("stock_matches_ledger", "stock_not_negative"),
    "orders": ("sales_order_total", "purchase_order_total"),
    "customers": ("operator_customer_count",),
}


def _rows(engine: Engine, stmt) -> list[tuple]:  # noqa: ANN001 - a select
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(stmt)]
        conn.rollback()
    return rows


def audit_services(engines: dict[str, Engine], *, sample: int = DEFAULT_SAMPLE) -> AuditResult:
    """Every check above over the three databases (``{"customers": engine, ...}``)."""
    result = AuditResult()
    checks = dict(_checks())
    found: dict[str, list[dict[str, Any]]] = {}
    for service, names in LOCAL.items():
        with engines[service].connect() as conn:
            for name in names:
                found[name] = [dict(r._mapping) for r in conn.execute(checks[name])]
            conn.rollback()
    found.update(_cross(engines))
    for name, rows in found.items():
        result.counts[name] = len(rows)
        result.violations.extend({"check": name, **row} for row in rows[:sample])
    return result


def _cross(engines: dict[str, Engine]) -> dict[str, list[dict[str, Any]]]:
    inv, orders, cust = engines["inventory"], engines["orders"], engines["customers"]
    sagas = _rows(orders, select(Saga.key, Saga.kind, Saga.status, Saga.doc_id))
    done = {(kind, doc): key for key, kind, status, doc in sagas if status == "done"}
    unfinished = [{"key": k, "kind": kind, "status": s} for k, kind, s, _ in sagas if s in ("pending", "aborting")]

    # -- stock taken by sales orders ---------------------------------------------------------------------
    order_rows = _rows(orders, select(SalesOrder.id, SalesOrder.warehouse_id, SalesOrder.customer_id,
                                      SalesOrder.total_cents))
    lines: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for oid, pid, qty in _rows(orders, select(SalesOrderLine.order_id, SalesOrderLine.product_id, SalesOrderLine.qty)):
        lines[oid][pid] += qty
    reservations = {key: (rid, kind, wh, status) for rid, key, kind, wh, status in _rows(inv, select(
        Reservation.id, Reservation.key, Reservation.kind, Reservation.warehouse_id, Reservation.status))}
    moved: dict[tuple[str, int], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for doc_type, doc_id, pid, wh, qty in _rows(inv, select(StockMove.doc_type, StockMove.doc_id, StockMove.product_id,
                                                            StockMove.warehouse_id, func.sum(StockMove.qty))
                                                .where(StockMove.doc_type.in_(("reservation", "purchase_order")))
                                                .group_by(StockMove.doc_type, StockMove.doc_id, StockMove.product_id,
                                                          StockMove.warehouse_id)):
        moved[(doc_type, doc_id)][pid] += qty
    sale_stock = []
    committed_keys = set()
    for oid, wh, _cid, _total in order_rows:
        key = done.get(("sale", oid))
        res = reservations.get(key) if key else None
        want = {p: q for p, q in lines[oid].items()}
        if key is None:
            sale_stock.append({"order_id": oid, "problem": "no committed saga"})
            continue
        committed_keys.add(key)
        if res is None or res[3] != "held":
            sale_stock.append({"order_id": oid, "key": key, "problem": f"reservation {res[3] if res else 'missing'}"})
            continue
        got = {p: -q for p, q in moved[("reservation", res[0])].items() if q}
        if res[2] != wh or got != want:
            sale_stock.append({"order_id": oid, "key": key, "problem": "ledger differs from the order's lines",
                               "lines": want, "ledger": got})
    for key, (rid, kind, _wh, status) in reservations.items():
        net = {p: q for p, q in moved[("reservation", rid)].items() if q}
        if kind == "sale" and status == "held" and key not in committed_keys:
            sale_stock.append({"key": key, "problem": "stock held without a committed order", "ledger": net})
        elif kind == "sale" and status == "released" and net:
            sale_stock.append({"key": key, "problem": "released reservation does not net to zero", "ledger": net})

    # -- balances --------------------------------------------------------------------------------------
    expected: dict[int, int] = defaultdict(int)
    for _oid, _wh, cid, total in order_rows:
        expected[cid] += total
    payments = _rows(orders, select(Payment.id, Payment.customer_id, Payment.amount_cents))
    for _pid, cid, amount in payments:
        expected[cid] -= amount
    moves = {key: (cid, amount, status) for key, cid, amount, status in _rows(cust, select(
        BalanceMove.key, BalanceMove.customer_id, BalanceMove.amount_cents, BalanceMove.status))}
    applied: dict[int, int] = defaultdict(int)
    for cid, amount, status in moves.values():
        if status == "applied":
            applied[cid] += amount
    balance = []
    for cid, bal in _rows(cust, select(Customer.id, Customer.balance_cents)):
        if bal != expected.get(cid, 0) or bal != applied.get(cid, 0):
            balance.append({"customer_id": cid, "balance_cents": bal, "orders_minus_payments": expected.get(cid, 0),
                            "applied_moves": applied.get(cid, 0)})
    owed = {done[("sale", oid)]: total for oid, _wh, _c, total in order_rows if ("sale", oid) in done}
    owed.update({done[("payment", pid)]: -amount for pid, _c, amount in payments if ("payment", pid) in done})
    for key, amount in owed.items():
        move = moves.get(key)
        if move is None or move[2] != "applied" or move[1] != amount:
            balance.append({"key": key, "problem": "committed document without its balance move", "move": move})
    for key, (cid, amount, status) in moves.items():
        if status == "applied" and key not in owed:
            balance.append({"key": key, "customer_id": cid, "problem": "balance moved without a committed document"})
    for pid, _cid, _amount in payments:
        if ("payment", pid) not in done:
            balance.append({"payment_id": pid, "problem": "no committed saga"})

    # -- purchase receipts -----------------------------------------------------------------------------
    receipt = []
    po_lines: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for oid, pid, qty in _rows(orders, select(PurchaseOrderLine.order_id, PurchaseOrderLine.product_id,
                                              PurchaseOrderLine.qty)):
        po_lines[oid][pid] += qty
    received = {}
    for oid, status in _rows(orders, select(PurchaseOrder.id, PurchaseOrder.status)):
        received[oid] = status == "received"
    for key, (_rid, kind, _wh, _status) in reservations.items():
        if kind == "receipt":
            oid = int(key.split(":", 1)[1])
            if not received.get(oid):
                receipt.append({"purchase_order_id": oid, "problem": "goods in stock, order not received"})
    for oid, is_received in received.items():
        got = {p: q for p, q in moved[("purchase_order", oid)].items() if q}
        if is_received and got != dict(po_lines[oid]):
            receipt.append({"purchase_order_id": oid, "problem": "ledger differs from the order's lines",
                            "lines": dict(po_lines[oid]), "ledger": got})
    return {"sale_stock": sale_stock, "customer_balance": balance, "purchase_receipt": receipt,
            "saga_unfinished": unfinished}


__all__ = ["audit_services", "LOCAL"]
