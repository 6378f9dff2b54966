"""Secondary indexes of the big tables: dropped before a fresh bulk load, built once afterwards.

Building a B-tree once over sorted input is far cheaper than maintaining it row by row. A marker in
``app_meta`` (``seed_indexes_dropped``) is written *before* the drop, so a run killed in between
leaves a note that the next run (or any grow) finishes by rebuilding them.

MariaDB/MySQL refuses to drop an index that a foreign key needs, so there only indexes whose first
column is not a foreign key are dropped.
"""

from __future__ import annotations

from sqlalchemy.schema import CreateIndex, DropIndex

from loadgen.seed.bulk import BulkWriter
from reference_app.models import Customer, Payment, PurchaseOrder, PurchaseOrderLine, SalesOrder, SalesOrderLine, StockMove

BULK_TABLES = [m.__table__ for m in (Customer, SalesOrder, SalesOrderLine, StockMove, Payment,
                                     PurchaseOrder, PurchaseOrderLine)]
MARKER = "seed_indexes_dropped"


def bulk_indexes(dialect_name: str):
    out = []
    for table in BULK_TABLES:
        for idx in sorted(table.indexes, key=lambda i: i.name):
            first = list(idx.columns)[0]
            if dialect_name in ("mysql", "mariadb") and first.foreign_keys:
                continue
            out.append(idx)
    return out


def drop_bulk_indexes(writer: BulkWriter, dialect) -> None:
    for idx in bulk_indexes(dialect.name):
        writer.execute(str(DropIndex(idx, if_exists=True).compile(dialect=dialect)))
    writer.commit()


def create_bulk_indexes(writer: BulkWriter, dialect) -> None:
    if writer.dialect == "postgresql":
        writer.execute("SET maintenance_work_mem = '256MB'")
    for idx in bulk_indexes(dialect.name):
        writer.execute(str(CreateIndex(idx, if_not_exists=True).compile(dialect=dialect)))
    writer.commit()


__all__ = ["BULK_TABLES", "MARKER", "bulk_indexes", "drop_bulk_indexes", "create_bulk_indexes"]
