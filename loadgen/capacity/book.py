"""The book a step works on, read before the load: operators per role, teams, catalogue ids, the
customer count; and the accounts the load needs but the book lacks, added through the app's API.
"""

from __future__ import annotations

import re
from typing import Any

from loadgen.errors import JxcError
from loadgen.workload.staffing import ACCOUNT_ROLE, USERNAME_PREFIX, describe


def read_book(db_url: str) -> dict[str, Any]:
    """Operators by role (usernames, in id order) and catalogue ids, read from the database."""
    from sqlalchemy import create_engine, func, select

    from reference_app.models import Customer, Operator, Product, Supplier, Warehouse

    eng = create_engine(db_url)
    try:
        with eng.connect() as c:
            ops: dict[str, list[str]] = {}
            idents: dict[str, tuple] = {}
            for oid, role, username, team in c.execute(
                    select(Operator.id, Operator.role, Operator.username, Operator.team).order_by(Operator.id)):
                ops.setdefault(role, []).append(username)
                idents[username] = (oid, role, team)
            teams = [t for (t,) in c.execute(select(Operator.team).where(Operator.role == "manager").order_by(Operator.id))]
            book = {
                "operators": ops,
                "idents": idents,
                "teams": [t for t in teams if t],
                "product_ids": [i for (i,) in c.execute(select(Product.id).order_by(Product.id))],
                "warehouse_ids": [i for (i,) in c.execute(select(Warehouse.id).order_by(Warehouse.id))],
                "supplier_ids": [i for (i,) in c.execute(select(Supplier.id).order_by(Supplier.id))],
                "customers": c.execute(select(func.count()).select_from(Customer)).scalar_one(),
            }
    finally:
        eng.dispose()
    return book


def ensure_operators(base_url: str, book: dict, need: dict[str, int], password: str, quota: int,
                     persona_pools: dict[str, list[str]]) -> list[str]:
    """What-if runs with a fixed operator count only: create the accounts the load needs per persona
    but the book lacks (new hires without customers), via POST /operators as admin; appended to
    ``persona_pools``. A staffed load never comes here: a short book is refused (:func:`check_staff`)."""
    import httpx

    missing = {p: n - len(persona_pools.get(p, [])) for p, n in need.items()}
    missing = {p: n for p, n in missing.items() if n > 0}
    if not missing:
        return []
    created: list[str] = []
    with httpx.Client(base_url=base_url, timeout=60) as http:
        r = http.post("/api/v1/auth/login", json={"username": "admin", "password": password})
        if r.status_code != 200:
            raise JxcError(f"the book has too few operators {missing} and the admin cannot log in to add "
                           f"them (POST /auth/login answered {r.status_code})", exit_code=1)
        headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
        teams = book.get("teams") or ["team0001"]
        for persona, n in missing.items():
            role = ACCOUNT_ROLE[persona]
            have = persona_pools.setdefault(persona, [])
            for k in range(n):
                username = f"lt{persona.replace('_', '')}{len(have) + 1:06d}"
                body = {"username": username, "password": password, "role": role,
                        "team": teams[k % len(teams)] if role in ("sales", "manager") else None,
                        "customer_quota": quota if role == "sales" else 0}
                r = http.post("/api/v1/operators", json=body, headers=headers)
                if r.status_code not in (201, 409):
                    raise JxcError(f"could not add operator {username}: POST /operators answered "
                                   f"{r.status_code} {r.text[:200]}", exit_code=1)
                have.append(username)
                created.append(username)
    return created


LOGIN_THREADS = 8


class LoginsFailed(JxcError):
    """Some of the staff could not log in before the load: ``failed`` is ``[(username, status)]``."""

    def __init__(self, failed: list[tuple[str, int]]) -> None:
        shown = ", ".join(f"{u}: {c}" for u, c in failed[:5])
        super().__init__(f"{len(failed)} operator(s) could not log in before the load: {shown}", exit_code=1)
        self.failed = failed


def log_in(base_url: str, seats: list[list], book: dict, password: str, cache: dict | None = None) -> dict:
    """Each seat's operator logs in once (POST /auth/login), before the load: the start of their shift.

    Returns ``{"logins": n, "reused": n, "s": seconds}``; each seat gets ``[token, operator]`` appended.
    ``cache`` (kept by a sweep's long-lived system) holds tokens by account *identity* (username, id,
    role, team): the same person working at the next level logs in once, and a book rebuilt with other
    ids (another growth path) never inherits a token of someone else. Tokens live 8 hours."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    cache = {} if cache is None else cache
    t0 = time.perf_counter()
    keys = {s[1]: (s[1], *book["idents"].get(s[1], ())) for s in seats if s[1] is not None}
    todo = sorted({u for u, k in keys.items() if k not in cache})
    failed: list[tuple[str, int]] = []

    def one(http: httpx.Client, username: str) -> None:
        r = http.post("/api/v1/auth/login", json={"username": username, "password": password})
        if r.status_code != 200:
            failed.append((username, r.status_code))
            return
        body = r.json()
        cache[keys[username]] = [body["access_token"], body.get("operator") or {}]

    if todo:
        with httpx.Client(base_url=base_url, timeout=120,
                          limits=httpx.Limits(max_connections=LOGIN_THREADS)) as http, \
                ThreadPoolExecutor(LOGIN_THREADS) as pool:
            list(pool.map(lambda u: one(http, u), todo))
    if failed:
        raise LoginsFailed(sorted(failed))
    for seat in seats:
        if seat[1] is not None:
            seat.extend(cache[keys[seat[1]]])
    return {"logins": len(todo), "reused": len(keys) - len(todo), "s": round(time.perf_counter() - t0, 3)}


def accounts_by_persona(book: dict) -> dict[str, list[str]]:
    """The book's accounts per persona, seeded names first in their own order (``sales000001``…),
    then any others by name. The back office is every ``admin`` account but ``admin`` itself."""
    ops = book["operators"]
    pools = {"sales": ops.get("sales", []), "manager": ops.get("manager", []), "clerk": ops.get("clerk", []),
             "back_office": [u for u in ops.get("admin", []) if u != "admin"]}
    out = {}
    for persona, names in pools.items():
        seeded = re.compile(re.escape(USERNAME_PREFIX[persona]) + r"\d+")
        out[persona] = sorted(names, key=lambda u: (not seeded.fullmatch(u), u))
    return out


def check_staff(accounts: dict[str, list[str]], staff: dict[str, int], customers: int) -> None:
    """Refuse a book with fewer accounts than its staffing asks (e.g. seeded elsewhere, another quota)."""
    have = {p: len(accounts.get(p, [])) for p in staff}
    if any(have[p] < n for p, n in staff.items()):
        raise JxcError(f"the book of {customers:,} customers has {describe(have)} but its staffing asks for "
                       f"{describe(staff)}; seed it with the profile's quota and staffing (jxcbench seed) "
                       "or give workload.operators for a fixed load", exit_code=2)


__all__ = ["accounts_by_persona", "check_staff", "ensure_operators", "log_in", "read_book"]
