"""The customer list as a spreadsheet, streamed: CSV (UTF-8 with a BOM, so Excel reads Chinese names
right) or XLSX (openpyxl's write-only workbook). Rows come from keyset pages
(:func:`reference_app.services.customers.export_pages`), never the whole list in memory at once.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator

from reference_app.domain import format_money

EXPORT_COLUMNS = ("id", "code", "name", "phone", "email", "region", "address", "level", "credit_limit",
                  "balance", "owner_id", "created_at")
BOM = "\ufeff"


def _values(c) -> list:
    return [c.id, c.code, c.name, c.phone, c.email or "", c.region or "", c.address or "", c.level,
            format_money(c.credit_limit_cents), format_money(c.balance_cents), c.owner_id,
            c.created_at.isoformat(sep=" ") if c.created_at else ""]


def csv_chunks(pages: Iterable[list]) -> Iterator[bytes]:
    """A header line (after the BOM), then one chunk of CSV per page of rows."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(EXPORT_COLUMNS)
    yield (BOM + buf.getvalue()).encode("utf-8")
    for rows in pages:
        buf.seek(0)
        buf.truncate()
        w.writerows(_values(c) for c in rows)
        yield buf.getvalue().encode("utf-8")


def xlsx_chunks(pages: Iterable[list], *, chunk: int = 64 * 1024) -> Iterator[bytes]:
    """An XLSX file (a zip, so written whole to a spooled temp file first), then read out in chunks."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("customers")
    ws.append(list(EXPORT_COLUMNS))
    for rows in pages:
        for c in rows:
            ws.append(_values(c))
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as f:
        wb.save(f)
        f.seek(0)
        while data := f.read(chunk):
            yield data


__all__ = ["BOM", "EXPORT_COLUMNS", "csv_chunks", "xlsx_chunks"]
