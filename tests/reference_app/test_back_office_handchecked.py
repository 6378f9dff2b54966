"""Company-wide work of the back office (role admin) on a small book checked by hand: a
contains-search over all customers, the paged list with its total, the export of the whole list
(CSV and XLSX), receivables aging and the sales ranking over every customer; and their scopes."""

from __future__ import annotations

import csv
import io

import pytest

from reference_app.api.export import COLUMNS


@pytest.fixture(scope="module")
def book(world):
    """6 customers: 3 of sales_a1, 1 of sales_a2 (team A), 2 of sales_b1 (team B); orders on 3."""
    product = world.new_product(price="10.00", on_hand=100)
    owners = ["sales_a1", "sales_a1", "sales_a1", "sales_a2", "sales_b1", "sales_b1"]
    made = [world.new_customer(who, name=f"全局客户{i}号", phone=f"1390000{i:04d}") for i, who in enumerate(owners)]
    # orders: customer 0 buys 3 x 10.00, customer 4 buys 5 x 10.00, customer 5 buys 1 x 10.00; 4 pays 20.00
    for i, qty in ((0, 3), (4, 5), (5, 1)):
        r = world.order(owners[i], made[i]["id"], [(product["id"], qty)])
        assert r.status_code == 201, r.text
    assert world.post("sales_b1", "/payments", {"customer_id": made[4]["id"], "amount": "20.00"}).status_code == 201
    return made


def test_list_with_total_counts_the_callers_scope(world, book):
    for who, total in (("admin", 6), ("mgr_a", 4), ("sales_a1", 3), ("mgr_b", 2), ("sales_a2", 1)):
        r = world.get(who, "/customers", params={"with_total": "true", "limit": 2})
        assert r.status_code == 200, r.text
        assert r.json()["total"] == total, who
        assert len(r.json()["items"]) == min(2, total)
    assert "total" not in world.get("admin", "/customers").json()
    assert world.get("clerk", "/customers", params={"with_total": "true"}).status_code == 403


def test_back_office_searches_every_customer(world, book):
    found = world.get("admin", "/customers/search", params={"q": "全局客户", "limit": 100}).json()["items"]
    assert [c["id"] for c in found] == [c["id"] for c in book]
    assert [c["id"] for c in world.get("admin", "/customers/search", params={"q": "00005"}).json()["items"]] == [book[5]["id"]]
    mine = world.get("sales_a1", "/customers/search", params={"q": "全局客户", "limit": 100}).json()["items"]
    assert [c["id"] for c in mine] == [c["id"] for c in book[:3]]


def test_export_csv_holds_every_visible_customer(world, book):
    r = world.get("admin", "/customers/export", params={"format": "csv"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert tuple(rows[0]) == COLUMNS
    assert [int(x[0]) for x in rows[1:]] == [c["id"] for c in book]
    assert [x[COLUMNS.index("name")] for x in rows[1:]] == [f"全局客户{i}号" for i in range(6)]
    by_id = {int(x[0]): x for x in rows[1:]}
    assert by_id[book[4]["id"]][COLUMNS.index("balance")] == "30.00"   # balance: 50.00 ordered - 20.00 paid
    team_b = world.get("mgr_b", "/customers/export").content.decode("utf-8-sig").splitlines()
    assert len(team_b) == 3
    assert world.get("clerk", "/customers/export").status_code == 403
    assert world.get("admin", "/customers/export", params={"format": "pdf"}).status_code == 422


def test_export_xlsx_opens_in_openpyxl(world, book):
    from openpyxl import load_workbook

    r = world.get("admin", "/customers/export", params={"format": "xlsx"})
    assert r.status_code == 200, r.text
    ws = load_workbook(io.BytesIO(r.content), read_only=True)["customers"]
    rows = list(ws.values)
    assert rows[0] == COLUMNS
    assert [row[0] for row in rows[1:]] == [c["id"] for c in book]


def test_aging_and_ranking_cover_every_customer(world, book):
    aging = world.get("admin", "/reports/receivables-aging").json()
    assert aging["total"] == "70.00"      # 30.00 + 30.00 + 10.00 open
    assert world.get("mgr_a", "/reports/receivables-aging").json()["total"] == "30.00"
    top = world.get("admin", "/reports/top-customers", params={"days": 30, "limit": 10}).json()
    assert [(t["customer_id"], t["total"]) for t in top] == [
        (book[4]["id"], "50.00"), (book[0]["id"], "30.00"), (book[5]["id"], "10.00")]
