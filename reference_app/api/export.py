"""Customer export: CSV or XLSX, streamed from keyset pages so the table is never held in memory.

* CSV: UTF-8 with a byte-order mark (without it Excel reads UTF-8 as the local code page and shows
  Chinese names as mojibake); one chunk per page of rows.
* XLSX: openpyxl's write-only mode streams rows into the sheet's XML on disk; the finished file
  (a zip needs its directory at the end) is spooled to a temporary file and sent in chunks.

XLSX cannot hold the control characters below U+0020 other than tab and newlines (the XML 1.0
character set): a name or address containing one (the API accepts any text) is written with those
characters removed, not refused half-way through a download.

Times are UTC: CSV writes the offset (``+00:00``, as the JSON answers do); an XLSX cell holds no
time zone, so there ``created_at`` is the UTC wall time.

Money is a decimal string in CSV ("123.45", as in the JSON API) and a number in XLSX (so that the
spreadsheet can sum it).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import tempfile
from collections.abc import Iterable, Iterator
from decimal import Decimal

from fastapi.responses import StreamingResponse
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from reference_app.api.schemas import CUSTOMER_ROW
from reference_app.domain import format_money

COLUMNS = ("id", "name", "phone", "region", "level", "owner_id", "credit_limit", "balance", "created_at")
_SOURCE = {"credit_limit": "credit_limit_cents", "balance": "balance_cents"}
_PICK = tuple(CUSTOMER_ROW.index(_SOURCE.get(name, name)) for name in COLUMNS)
_MONEY = tuple(i for i, name in enumerate(COLUMNS) if name in _SOURCE)
_CREATED = COLUMNS.index("created_at")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"
_CHUNK = 64 * 1024

RESPONSES = {200: {"description": "the customers in the caller's scope, as a file download", "content": {
    "text/csv": {"schema": {"type": "string"}},
    XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}},
}}}


def _record(row: tuple, money) -> list:  # noqa: ANN001 - cents -> str or Decimal
    out = [row[i] for i in _PICK]
    for i in _MONEY:
        out[i] = money(out[i])
    return out


def _utc_text(value: dt.datetime) -> str:
    """The tables keep naive UTC; the file says so, as the JSON answers do (``...+00:00``)."""
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat()


def csv_chunks(pages: Iterable[list[tuple]]) -> Iterator[bytes]:
    yield ("\ufeff" + ",".join(COLUMNS) + "\r\n").encode("utf-8")
    for rows in pages:
        buf = io.StringIO()
        writer = csv.writer(buf)
        for row in rows:
            rec = _record(row, format_money)
            rec[_CREATED] = _utc_text(rec[_CREATED])
            writer.writerow(rec)
        yield buf.getvalue().encode("utf-8")


def _xlsx_safe(rec: list) -> list:
    return [ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in rec]


def xlsx_chunks(pages: Iterable[list[tuple]]) -> Iterator[bytes]:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("customers")
    ws.append(COLUMNS)
    for rows in pages:
        for row in rows:
            ws.append(_xlsx_safe(_record(row, lambda cents: Decimal(cents).scaleb(-2))))
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as out:
        wb.save(out)
        out.seek(0)
        while chunk := out.read(_CHUNK):
            yield chunk


def streaming(fmt: str, pages: Iterable[list[tuple]]) -> StreamingResponse:
    """The download answer for ``fmt`` ("csv" or "xlsx")."""
    chunks, media_type = (csv_chunks, CSV_TYPE) if fmt == "csv" else (xlsx_chunks, XLSX_TYPE)
    return StreamingResponse(chunks(pages), media_type=media_type,
                             headers={"Content-Disposition": f'attachment; filename="customers.{fmt}"'})


__all__ = ["COLUMNS", "CSV_TYPE", "XLSX_TYPE", "RESPONSES", "csv_chunks", "xlsx_chunks", "streaming"]
