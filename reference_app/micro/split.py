"""A seeded monolith database copied into the services' databases, as the services would have
written it.

The seeder (``loadgen/seed``) fills one monolith database fast (bulk loads, one history); running
it three times against three schemas would be three seeders. Instead the microservices start from
the same seeded book: each service's tables are copied from the monolith database into its own
(emptied first), and the bookkeeping its sagas would have left is written beside them, so that the
cross-service audit holds from the first request:

* each seeded sales order: a *done* saga (orders), a held reservation whose id is the order's id
  (inventory; the seeded ledger rows of the sale now name it, ``doc_type='reservation'``), and an
  applied balance move of its total (customers);
* each payment: a done saga and an applied move of minus its amount;
* each received purchase order: its receipt key in inventory (``po:<id>``).

Rows are streamed and written in batches; PostgreSQL's id sequences are moved past the copied ids.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine, Table, insert, select, text

from reference_app.db import make_engine
from reference_app.micro.models import Reservation
from reference_app.micro.topology import (
    OWNED, SERVICES, create_service_schemas, drop_service_databases, service_metadata,
)
from reference_app.models import AppMeta, Base, Payment, PurchaseOrder, SalesOrder
from reference_app.schema import get_meta, set_index_level

BATCH = 5000


def _stream(engine: Engine, stmt) -> Iterator[list[Any]]:  # noqa: ANN001 - a select
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=BATCH).execute(stmt)
        for part in result.partitions(BATCH):
            yield [r._mapping for r in part]
        conn.rollback()


def _write(engine: Engine, table: Table, batches) -> int:  # noqa: ANN001 - an iterable of row lists
    n = 0
    with engine.begin() as conn:
        for rows in batches:
            if rows:
                conn.execute(insert(table), [dict(r) for r in rows])
                n += len(rows)
    return n


def _ledger(rows: list[Any]) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        row = dict(r)
        if row["doc_type"] == "sales_order":
            row["doc_type"] = "reservation"  # the reservation has the order's id
        out.append(row)
    return out


def split_monolith(url: str) -> dict[str, int]:
    """Copy the monolith database at ``url`` into its service databases (see the module docstring);
    rows written per table."""
    mono = make_engine(url, pool_size=1, max_overflow=1)
    try:
        with mono.connect() as conn:
            level = get_meta(conn, "index_level") or "basic"
            secret = get_meta(conn, "secret_key")
            conn.rollback()
        drop_service_databases(url)
        urls = create_service_schemas(url, "basic")  # search indexes after the rows, not row by row
        engines = {s: make_engine(u, pool_size=1, max_overflow=1) for s, u in urls.items()}
        counts: dict[str, int] = {}
        try:
            for service in SERVICES:
                if secret:  # tokens issued before the split stay good
                    with engines[service].begin() as conn:
                        conn.execute(AppMeta.__table__.update().where(AppMeta.key == "secret_key").values(value=secret))
                md = service_metadata(service)
                for table in Base.metadata.sorted_tables:
                    if table.name not in OWNED[service] or table.name == "app_meta":
                        continue
                    batches = _stream(mono, select(table))
                    if table.name == "stock_moves":
                        batches = (_ledger(rows) for rows in batches)
                    counts[table.name] = _write(engines[service], md.tables[table.name], batches)
            counts.update(_bookkeeping(mono, engines))
            _fix_sequences(engines)
            set_index_level(engines["customers"], level)
            for service in ("inventory", "orders"):
                with engines[service].begin() as conn:
                    conn.execute(AppMeta.__table__.update().where(AppMeta.key == "index_level").values(value=level))
        finally:
            for e in engines.values():
                e.dispose()
        return counts
    finally:
        mono.dispose()


def _bookkeeping(mono: Engine, engines: dict[str, Engine]) -> dict[str, int]:
    so = SalesOrder.__table__.c
    pay = Payment.__table__.c
    po = PurchaseOrder.__table__.c
    sagas = service_metadata("orders").tables["sagas"]
    reservations = service_metadata("inventory").tables["reservations"]
    moves = service_metadata("customers").tables["balance_moves"]
    counts = {"sagas": 0, "reservations": 0, "balance_moves": 0}
    orders_stream = select(so.id, so.customer_id, so.warehouse_id, so.operator_id, so.total_cents, so.created_at)
    for rows in _stream(mono, orders_stream):
        keys = [f"seed-so-{r['id']}" for r in rows]
        counts["sagas"] += _write(engines["orders"], sagas, [[
            dict(key=k, client_key=None, kind="sale", status="done", doc_id=r["id"], created_at=r["created_at"],
                 updated_at=r["created_at"]) for k, r in zip(keys, rows, strict=True)]])
        counts["reservations"] += _write(engines["inventory"], reservations, [[
            dict(id=r["id"], key=k, kind="sale", warehouse_id=r["warehouse_id"], status="held", lines="[]",
                 operator_id=r["operator_id"], created_at=r["created_at"]) for k, r in zip(keys, rows, strict=True)]])
        counts["balance_moves"] += _write(engines["customers"], moves, [[
            dict(key=k, customer_id=r["customer_id"], amount_cents=r["total_cents"], status="applied",
                 created_at=r["created_at"]) for k, r in zip(keys, rows, strict=True)]])
    for rows in _stream(mono, select(pay.id, pay.customer_id, pay.amount_cents, pay.created_at)):
        keys = [f"seed-pay-{r['id']}" for r in rows]
        counts["sagas"] += _write(engines["orders"], sagas, [[
            dict(key=k, client_key=None, kind="payment", status="done", doc_id=r["id"], created_at=r["created_at"],
                 updated_at=r["created_at"]) for k, r in zip(keys, rows, strict=True)]])
        counts["balance_moves"] += _write(engines["customers"], moves, [[
            dict(key=k, customer_id=r["customer_id"], amount_cents=-r["amount_cents"], status="applied",
                 created_at=r["created_at"]) for k, r in zip(keys, rows, strict=True)]])
    with engines["inventory"].connect() as conn:
        top = conn.execute(select(Reservation.__table__.c.id).order_by(Reservation.__table__.c.id.desc()).limit(1)).scalar()
        conn.rollback()
    next_id = (top or 0) + 1
    for rows in _stream(mono, select(po.id, po.warehouse_id, po.operator_id, po.received_at)
                        .where(po.status == "received")):
        batch = []
        for r in rows:
            batch.append(dict(id=next_id, key=f"po:{r['id']}", kind="receipt", warehouse_id=r["warehouse_id"],
                              status="held", lines="[]", operator_id=r["operator_id"], created_at=r["received_at"]))
            next_id += 1
        counts["reservations"] += _write(engines["inventory"], reservations, [batch])
    return counts


def _fix_sequences(engines: dict[str, Engine]) -> None:
    """PostgreSQL: move each id sequence past the ids copied in (the others follow by themselves)."""
    for service, engine in engines.items():
        if engine.dialect.name != "postgresql":
            continue
        with engine.begin() as conn:
            for table in service_metadata(service).sorted_tables:
                if "id" not in table.c or not table.c.id.primary_key:
                    continue
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                  f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"))



__all__ = ["split_monolith"]
