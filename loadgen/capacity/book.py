"""The book a step works on, read before the load: operators per role, teams, catalogue ids, the
customer count; and the accounts the load needs but the book lacks, added through the app's API.
"""

from __future__ import annotations

from typing import Any

from loadgen.errors import JxcError


def read_book(db_url: str) -> dict[str, Any]:
    """Operators by role (usernames, in id order) and catalogue ids, read from the database."""
    from sqlalchemy import create_engine, func, select

    from reference_app.models import Customer, Operator, Product, Supplier, Warehouse

    eng = create_engine(db_url)
    try:
        with eng.connect() as c:
            ops: dict[str, list[str]] = {}
            for role, username in c.execute(select(Operator.role, Operator.username).order_by(Operator.id)):
                ops.setdefault(role, []).append(username)
            teams = [t for (t,) in c.execute(select(Operator.team).where(Operator.role == "manager").order_by(Operator.id))]
            book = {
                "operators": ops,
                "teams": [t for t in teams if t],
                "product_ids": [i for (i,) in c.execute(select(Product.id).order_by(Product.id))],
                "warehouse_ids": [i for (i,) in c.execute(select(Warehouse.id).order_by(Warehouse.id))],
                "supplier_ids": [i for (i,) in c.execute(select(Supplier.id).order_by(Supplier.id))],
                "customers": c.execute(select(func.count()).select_from(Customer)).scalar_one(),
            }
    finally:
        eng.dispose()
    return book


def ensure_operators(base_url: str, book: dict, need: dict[str, int], password: str, quota: int) -> list[str]:
    """Create the accounts the load needs but the book lacks, via POST /operators as admin."""
    import httpx

    missing = {role: n - len(book["operators"].get(role, [])) for role, n in need.items()}
    missing = {r: n for r, n in missing.items() if n > 0}
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
        for role, n in missing.items():
            have = book["operators"].setdefault(role, [])
            for k in range(n):
                username = f"lt{role}{len(have) + 1:06d}"
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


__all__ = ["ensure_operators", "read_book"]
