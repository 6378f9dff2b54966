"""The JXC workload: salesperson, clerk, manager and back-office personas against the reference app's API.

Each operation makes one named request (the name is the Locust request name and the ``operation``
column of the raw samples). Default weights sit beside the names; a profile may override them per
persona (``workload.weights`` when the profile schema has it). What the operator works on is real:
a salesperson pages through, views, edits and sells to *its own* customers (row-level scoping costs
what it costs), learnt from the API after login; catalogue ids (products, warehouses, suppliers) come
from the plan's context, read from the database before the step.

Which of its customers a salesperson works on follows a Zipf-like popularity over *all* its
customers (``workload.customer_zipf``, in the plan's context as ``zipf_s``): the k-th most popular
gets weight 1/k^s, and which customers are popular is a permutation drawn from the operator's own
seeded rng. A customer it has not met yet is found first by opening its customer list at that
customer (a ``customer_list`` request), as a person scrolls to it, and remembered.

The back office (finance / owner, role ``admin``) works on the whole book: a contains-search over
every customer (order entry picks a customer from the whole book), the receivables aging and the
sales ranking over every customer, the paged customer list with its total count, and the export of
the whole customer list (CSV or XLSX, streamed). Default weights follow TPC-C's mix (clause 5.2.3):
the interactive lookups take ~85 % (New-Order 45 % + Payment 43 % there), each report or batch
transaction a few percent (Order-Status, Delivery, Stock-Level: 4 % each).

Refusable operations (409 is a correct business answer, counted as ``refusal``):
``customer_create`` (over quota), ``sales_order_create`` (out of stock, credit limit),
``purchase_order_receive`` (already received), ``payment_create``.
"""

from __future__ import annotations

import bisect
import itertools

from loadgen.workload.runtime import LoginFailed
from loadgen.workload.session import Session
from loadgen.workload.spec import Persona, Workload

API = "/api/v1"
PAGE = 20
KNOWN_MAX = 2000  # customers an operator remembers (bounded memory per operator)
OFFICE_PAGE = 50


# -- login and preparation ------------------------------------------------------------------------
def login(s: Session, username: str, password: str) -> None:
    status, body = s.call("login", "POST", f"{API}/auth/login", json={"username": username, "password": password})
    if status != 200 or not body:
        raise LoginFailed(f"POST /auth/login answered {status}")
    s.set_token(body["access_token"])
    s.operator = body.get("operator") or {}


def prepare(s: Session) -> None:
    s.state.setdefault("ctx", {})
    s.state.setdefault("customers", [])
    s.state.setdefault("after", 0)
    s.state.setdefault("open_pos", [])
    s.state.setdefault("by_pos", {})       # position in the own list (id order) -> customer


def _popularity(s: Session) -> None:
    """Zipf weights over the operator's ``count`` customers and which positions are the popular ones."""
    count = max(1, int(s.operator.get("customer_count") or 0) or len(s.state["customers"]) or 1)
    zipf = float(s.state.get("ctx", {}).get("zipf_s", 1.0))
    positions = list(range(count))
    s.rng.shuffle(positions)
    s.state["popular"] = positions                       # rank -> position
    s.state["cum"] = list(itertools.accumulate(1.0 / (k + 1) ** zipf for k in range(count)))


def _ctx(s: Session, key: str) -> list:
    return s.state.get("ctx", {}).get(key) or [1]


def _remember(s: Session, items: list[dict]) -> None:
    known: list = s.state["customers"]
    for c in items:
        known.append((c["id"], c.get("name") or "", c.get("phone") or ""))
    if len(known) > KNOWN_MAX:
        del known[: len(known) - KNOWN_MAX]


def _remember_at(s: Session, items: list[dict]) -> None:
    """Remember customers by their position in the own list (id order, counted from the first)."""
    first = s.state.get("first_id")
    if first is None and items:
        first = s.state["first_id"] = items[0]["id"]
    by_pos = s.state["by_pos"]
    for c in items:
        by_pos[c["id"] - first] = (c["id"], c.get("name") or "", c.get("phone") or "")
    if len(by_pos) > KNOWN_MAX:
        for k in list(by_pos)[: len(by_pos) - KNOWN_MAX]:
            del by_pos[k]


def _a_customer(s: Session):
    """A customer by popularity (Zipf over all own customers); one not met yet is looked up first
    by opening the customer list at it. Without popularity data: any customer met so far."""
    if "cum" not in s.state:
        known = s.state["customers"]
        return s.rng.choice(known) if known else None
    cum = s.state["cum"]
    rank = bisect.bisect_left(cum, s.rng.random() * cum[-1])
    pos = s.state["popular"][min(rank, len(cum) - 1)]
    by_pos = s.state["by_pos"]
    if pos not in by_pos and s.state.get("first_id") is not None:
        status, body = s.call("customer_list", "GET", f"{API}/customers",
                              params={"after": s.state["first_id"] + pos - 1, "limit": PAGE})
        if status == 200 and body:
            _remember(s, body["items"])
            _remember_at(s, body["items"])
    if pos in by_pos:
        return by_pos[pos]
    known = s.state["customers"]
    return s.rng.choice(known) if known else None


# -- salesperson ----------------------------------------------------------------------------------
def customer_list(s: Session) -> None:
    status, body = s.call("customer_list", "GET", f"{API}/customers", params={"after": s.state["after"], "limit": PAGE})
    if status == 200 and body:
        _remember(s, body["items"])
        _remember_at(s, body["items"])
        s.state["after"] = body.get("next_after") or 0  # wrap around at the end


def customer_search(s: Session) -> None:
    c = _a_customer(s)
    if c is None:
        q = str(s.rng.randint(10, 99))
    elif s.rng.random() < 0.5 and len(c[2]) >= 4:
        q = c[2][-4:]                                  # the last digits of a phone number
    else:
        name = c[1] or "a"
        i = s.rng.randrange(max(1, len(name) - 1))
        q = name[i:i + 2]                              # two characters of a name
    s.call("customer_search", "GET", f"{API}/customers/search", params={"q": q, "limit": PAGE})


def customer_view(s: Session) -> None:
    c = _a_customer(s)
    if c is None:
        return customer_list(s)
    s.call("customer_view", "GET", f"{API}/customers/{c[0]}")


def customer_create(s: Session) -> None:
    n = s.rng.randrange(10**8)
    status, body = s.call("customer_create", "POST", f"{API}/customers", refusable=True, json={
        "name": f"LT客户{n:08d}", "phone": f"1{s.rng.randrange(10**10):010d}",
        "region": s.rng.choice(["华东", "华南", "华北", "西南"]), "credit_limit": "50000.00"})
    if status == 201 and body:
        _remember(s, [body])


def customer_edit(s: Session) -> None:
    c = _a_customer(s)
    if c is None:
        return customer_list(s)
    s.call("customer_edit", "PATCH", f"{API}/customers/{c[0]}",
           json={"address": f"测试路{s.rng.randrange(1, 999)}号", "level": s.rng.choice(["regular", "vip"])})


def sales_order_create(s: Session) -> None:
    c = _a_customer(s)
    if c is None:
        return customer_list(s)
    products = _ctx(s, "product_ids")
    lines = [{"product_id": p, "qty": s.rng.randint(1, 3)}
             for p in {s.rng.choice(products) for _ in range(s.rng.randint(1, 3))}]
    s.call("sales_order_create", "POST", f"{API}/sales-orders", refusable=True, json={
        "customer_id": c[0], "warehouse_id": s.rng.choice(_ctx(s, "warehouse_ids")), "lines": lines})


def payment_create(s: Session) -> None:
    c = _a_customer(s)
    if c is None:
        return customer_list(s)
    amount = f"{s.rng.randint(1, 500)}.{s.rng.randint(0, 99):02d}"
    s.call("payment_create", "POST", f"{API}/payments", refusable=True,
           json={"customer_id": c[0], "amount": amount})


# -- clerk ----------------------------------------------------------------------------------------
def stock_check(s: Session) -> None:
    s.call("stock_check", "GET", f"{API}/stock", params={"product_id": s.rng.choice(_ctx(s, "product_ids"))})


def product_browse(s: Session) -> None:
    params = {"limit": PAGE}
    if s.rng.random() < 0.5:
        params["after"] = s.rng.choice(_ctx(s, "product_ids"))
    s.call("product_browse", "GET", f"{API}/products", params=params)


def purchase_order_create(s: Session) -> None:
    products = _ctx(s, "product_ids")
    lines = [{"product_id": p, "qty": s.rng.randint(10, 100)}
             for p in {s.rng.choice(products) for _ in range(s.rng.randint(1, 4))}]
    status, body = s.call("purchase_order_create", "POST", f"{API}/purchase-orders", json={
        "supplier_id": s.rng.choice(_ctx(s, "supplier_ids")),
        "warehouse_id": s.rng.choice(_ctx(s, "warehouse_ids")), "lines": lines})
    if status == 201 and body:
        s.state["open_pos"].append(body["id"])


def purchase_order_receive(s: Session) -> None:
    if not s.state["open_pos"]:
        return purchase_order_create(s)
    po = s.state["open_pos"].pop(0)
    s.call("purchase_order_receive", "POST", f"{API}/purchase-orders/{po}/receive", refusable=True)


# -- manager --------------------------------------------------------------------------------------
def report_top_customers(s: Session) -> None:
    s.call("report_top_customers", "GET", f"{API}/reports/top-customers",
           params={"days": s.rng.choice([7, 30, 90]), "limit": 10})


def report_receivables_aging(s: Session) -> None:
    s.call("report_receivables_aging", "GET", f"{API}/reports/receivables-aging")


def report_stock_levels(s: Session) -> None:
    s.call("report_stock_levels", "GET", f"{API}/reports/stock-levels",
           params={"warehouse_id": s.rng.choice(_ctx(s, "warehouse_ids")), "limit": 50})


# -- back office (finance / owner: role admin, the whole book) -------------------------------------
def _a_fragment(s: Session) -> str:
    """What someone keys to find a customer: 2 characters of a name or the last 4 digits of a phone."""
    known = s.state["customers"]
    if not known:
        return f"{s.rng.randrange(10000):04d}"
    _, name, phone = s.rng.choice(known)
    if s.rng.random() < 0.5 and len(phone) >= 4:
        return phone[-4:]
    name = name or "a"
    i = s.rng.randrange(max(1, len(name) - 1))
    return name[i:i + 2]


def company_customer_search(s: Session) -> None:
    s.call("company_customer_search", "GET", f"{API}/customers/search", params={"q": _a_fragment(s), "limit": PAGE})


def company_customer_list(s: Session) -> None:
    status, body = s.call("company_customer_list", "GET", f"{API}/customers",
                          params={"after": s.state["after"], "limit": OFFICE_PAGE, "with_total": "true"})
    if status == 200 and body:
        _remember(s, body["items"])
        s.state["after"] = body.get("next_after") or 0


def company_receivables_aging(s: Session) -> None:
    s.call("company_receivables_aging", "GET", f"{API}/reports/receivables-aging")


def company_top_customers(s: Session) -> None:
    s.call("company_top_customers", "GET", f"{API}/reports/top-customers",
           params={"days": s.rng.choice([30, 90, 365]), "limit": 50})


def company_customer_export(s: Session) -> None:
    s.call("company_customer_export", "GET", f"{API}/customers/export",
           params={"format": "csv" if s.rng.random() < 0.7 else "xlsx"}, parse=False)


SALES = Persona("sales", "sales", {
    "customer_search": (20.0, customer_search),
    "customer_list": (15.0, customer_list),
    "customer_view": (25.0, customer_view),
    "customer_create": (5.0, customer_create),
    "customer_edit": (5.0, customer_edit),
    "sales_order_create": (20.0, sales_order_create),
    "payment_create": (10.0, payment_create),
})
CLERK = Persona("clerk", "clerk", {
    "stock_check": (40.0, stock_check),
    "product_browse": (30.0, product_browse),
    "purchase_order_create": (15.0, purchase_order_create),
    "purchase_order_receive": (15.0, purchase_order_receive),
})
MANAGER = Persona("manager", "manager", {
    "report_top_customers": (40.0, report_top_customers),
    "report_receivables_aging": (30.0, report_receivables_aging),
    "report_stock_levels": (30.0, report_stock_levels),
})


BACK_OFFICE = Persona("back_office", "admin", {
    "company_customer_search": (45.0, company_customer_search),
    "company_customer_list": (39.0, company_customer_list),
    "company_receivables_aging": (6.0, company_receivables_aging),
    "company_top_customers": (6.0, company_top_customers),
    "company_customer_export": (4.0, company_customer_export),
})
PERSONAS = (SALES, CLERK, MANAGER, BACK_OFFICE)


def _prepare_sales(s: Session) -> None:
    prepare(s)
    if s.persona == "sales":
        customer_list(s)  # learn the first page of own customers (a warm-up request)
        _popularity(s)
    elif s.persona == "back_office":
        company_customer_list(s)  # the first page of the whole book (names to search for)


WORKLOAD = Workload(personas={p.name: p for p in PERSONAS}, login=login, prepare=_prepare_sales)
OPERATIONS = {name: p.name for p in PERSONAS for name in p.operations}

__all__ = ["OPERATIONS", "WORKLOAD"]
