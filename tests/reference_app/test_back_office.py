"""Company-wide back-office reads (issue #11): the scoped total of a customer page, the customer export
(CSV / XLSX, streamed), and the admin's reports spanning the whole book. On every engine.

The book of this module, by owner (checked by hand):

    sales_a1: 3   sales_a2: 2   mgr_a: 1     -> team A: 6
    sales_b1: 4                              -> team B: 4
    admin:    1                              -> admin sees all 11

so: admin 11, mgr_a 6, mgr_b 4, sales_a1 3, sales_a2 2, sales_b1 4; the clerk sees no customer data.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from reference_app.services import customers
from reference_app.services.permissions import Actor

OWNED = {"sales_a1": 3, "sales_a2": 2, "mgr_a": 1, "sales_b1": 4, "admin": 1}
SCOPE = {"admin": ("sales_a1", "sales_a2", "mgr_a", "sales_b1", "admin"), "mgr_a": ("sales_a1", "sales_a2", "mgr_a"),
         "mgr_b": ("sales_b1",), "sales_a1": ("sales_a1",), "sales_a2": ("sales_a2",), "sales_b1": ("sales_b1",)}
COLUMNS = ["id", "name", "phone", "region", "level", "owner_id", "credit_limit", "balance", "created_at"]


@pytest.fixture(scope="module")
def book(world):
    """{owner username: [customer bodies]} created through the API."""
    made: dict[str, list[dict]] = {}
    for owner, n in OWNED.items():
        made[owner] = [world.new_customer(owner, credit_limit="1234.56", region="华东") for _ in range(n)]
    return made


def expected(book, who: str) -> list[dict]:
    return sorted((c for owner in SCOPE[who] for c in book[owner]), key=lambda c: c["id"])


# -- GET /customers?with_total=true --------------------------------------------------------------------
@pytest.mark.parametrize("who", list(SCOPE))
def test_page_total_is_the_count_of_the_callers_scope(world, book, who):
    want = len(expected(book, who))
    assert want == sum(OWNED[o] for o in SCOPE[who])
    first = world.get(who, "/customers", params={"limit": 2, "with_total": "true"}).json()
    assert first["total"] == want
    assert len(first["items"]) == min(2, want)
    # The total is the scope's, not the page's: the same on a later page.
    later = world.get(who, "/customers", params={"limit": 2, "after": first["next_after"] or 0,
                                                  "with_total": "true"}).json()
    assert later["total"] == want


def test_page_without_with_total_is_unchanged(world, book):
    for params in ({"limit": 3}, {"limit": 3, "with_total": "false"}):
        body = world.get("admin", "/customers", params=params).json()
        assert set(body) == {"items", "next_after"}
        assert len(body["items"]) == 3


def test_clerk_gets_no_total_either(world, book):
    assert world.get("clerk", "/customers", params={"with_total": "true"}).status_code == 403


# -- GET /customers/export ---------------------------------------------------------------------------
def _csv_rows(r) -> list[dict]:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"] == 'attachment; filename="customers.csv"'
    assert r.content.startswith(b"\xef\xbb\xbf"), "UTF-8 BOM first, so that Excel reads Chinese correctly"
    reader = csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"), newline=""))
    assert reader.fieldnames == COLUMNS
    return list(reader)


@pytest.mark.parametrize("who", list(SCOPE))
def test_csv_export_holds_exactly_the_callers_customers(world, book, who):
    rows = _csv_rows(world.get(who, "/customers/export", params={"format": "csv"}))
    want = expected(book, who)
    assert [int(r["id"]) for r in rows] == [c["id"] for c in want]
    for row, c in zip(rows, want, strict=True):
        assert row["name"] == c["name"] and row["name"].startswith("客户")
        assert (row["phone"], row["region"], row["level"]) == (c["phone"], "华东", c["level"])
        assert int(row["owner_id"]) == c["owner_id"]
        assert (row["credit_limit"], row["balance"]) == ("1234.56", "0.00")
        assert row["created_at"] == c["created_at"]


def test_csv_is_the_default_format(world, book):
    assert len(_csv_rows(world.get("sales_b1", "/customers/export"))) == 4


@pytest.mark.parametrize("who", ["admin", "mgr_a", "sales_a2"])
def test_xlsx_export_reads_back_with_openpyxl(world, book, who):
    r = world.get(who, "/customers/export", params={"format": "xlsx"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert r.headers["content-disposition"] == 'attachment; filename="customers.xlsx"'
    sheet = load_workbook(io.BytesIO(r.content), read_only=True).active
    header, *rows = list(sheet.iter_rows(values_only=True))
    assert list(header) == COLUMNS
    want = expected(book, who)
    assert [row[0] for row in rows] == [c["id"] for c in want]
    for row, c in zip(rows, want, strict=True):
        assert (row[1], row[2], row[3], row[5]) == (c["name"], c["phone"], "华东", c["owner_id"])
        assert Decimal(str(row[6])) == Decimal("1234.56") and Decimal(str(row[7])) == 0
        # A spreadsheet date is a float of days: exact to the millisecond, not the microsecond; and it
        # holds no zone: the UTC wall time of the API's created_at (which says +00:00).
        utc = dt.datetime.fromisoformat(c["created_at"]).astimezone(dt.UTC).replace(tzinfo=None)
        assert abs(row[8] - utc) < dt.timedelta(milliseconds=1)


def test_export_is_refused_to_clerks_and_unknown_formats(world, book):
    for fmt in ("csv", "xlsx"):
        r = world.get("clerk", "/customers/export", params={"format": fmt})
        assert r.status_code == 403, r.text
    assert world.get("admin", "/customers/export", params={"format": "pdf"}).status_code == 422
    assert world.client.get("/api/v1/customers/export").status_code == 401


def test_export_pages_walk_the_scope_once_in_id_order(world, book):
    """Keyset pages of any size give the same rows as one page (here 2 rows a page over 11)."""
    db = world.app_of("customers").state.db
    admin = Actor(world.ids["admin"], "admin", None)
    pages = list(customers.customer_pages(db, admin, page_size=2))
    assert [len(p) for p in pages] == [2, 2, 2, 2, 2, 1]
    one = list(customers.customer_pages(db, admin, page_size=5000))
    assert len(one) == 1 and [r for p in pages for r in p] == one[0]
    assert [r[0] for r in one[0]] == [c["id"] for c in expected(book, "admin")]


# -- the admin's reports span the whole book ---------------------------------------------------------
def test_admin_search_and_reports_span_every_owner(world, book):
    product = world.new_product(price="10.00", on_hand=100)
    a, b = book["sales_a1"][0], book["sales_b1"][0]
    assert world.order("sales_a1", a["id"], [(product["id"], 3)]).status_code == 201   # 30.00
    assert world.order("sales_b1", b["id"], [(product["id"], 5)]).status_code == 201   # 50.00

    found = world.get("admin", "/customers/search", params={"q": "客户", "limit": 100}).json()["items"]
    assert {c["owner_id"] for c in found} == {world.ids[o] for o in OWNED}

    top = {t["customer_id"]: t for t in world.get("admin", "/reports/top-customers", params={"days": 1}).json()}
    assert {a["id"], b["id"]} <= set(top) and top[b["id"]]["total"] == "50.00"
    top_a = {t["customer_id"] for t in world.get("mgr_a", "/reports/top-customers", params={"days": 1}).json()}
    assert a["id"] in top_a and b["id"] not in top_a

    def aging_total(who: str) -> Decimal:
        return Decimal(world.get(who, "/reports/receivables-aging").json()["total"])

    assert aging_total("admin") == aging_total("mgr_a") + aging_total("mgr_b") + Decimal("0.00")
    assert aging_total("mgr_b") >= Decimal("50.00") and aging_total("admin") >= Decimal("80.00")


def test_xlsx_export_drops_characters_a_spreadsheet_cannot_hold():
    """The API accepts any text; XML 1.0 (XLSX) holds no control characters but tab and newlines.
    Found by the schema fuzzer: a name with ESC made the whole download fail half-way."""
    from reference_app.api.export import COLUMNS, xlsx_chunks
    from reference_app.api.schemas import CUSTOMER_ROW

    row = {name: None for name in CUSTOMER_ROW}
    row.update(id=1, name="张\x1b三\x00", phone="138\x0700", region="华东", level="vip", owner_id=2,
               credit_limit_cents=1234, balance_cents=0, created_at=dt.datetime(2026, 1, 2, 3, 4, 5))
    data = b"".join(xlsx_chunks([[tuple(row[name] for name in CUSTOMER_ROW)]]))
    ws = load_workbook(io.BytesIO(data)).active
    got = dict(zip(COLUMNS, [c.value for c in next(ws.iter_rows(min_row=2, max_row=2))]))
    assert got["name"] == "张三" and got["phone"] == "13800"
    assert got["credit_limit"] == 12.34
