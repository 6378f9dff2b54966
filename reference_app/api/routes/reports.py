"""Reports, scoped like customers (stock levels are open to every role)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from reference_app.api.deps import CurrentOperator, DatabaseDep
from reference_app.api.workers import run_blocking
from reference_app.api.responses import json_response
from reference_app.api.schemas import MAX_ID, AgingOut, StockLevel, TopCustomer
from reference_app.domain import format_money
from reference_app.services import reports

router = APIRouter(prefix="/reports", tags=["reports"])


@router.get("/top-customers", response_model=list[TopCustomer])
async def top_customers(db: DatabaseDep, actor: CurrentOperator,
                  days: Annotated[int, Query(ge=1, le=3660)] = 30,
                  limit: Annotated[int, Query(ge=1, le=100)] = 10):
    """The caller's customers by sales over the last `days` days."""
    rows = await run_blocking(reports.top_customers, db, actor, days=days, limit=limit)
    return json_response([{"customer_id": r["customer_id"], "name": r["name"], "orders": r["orders"],
                           "total": format_money(r["total_cents"])} for r in rows])


@router.get("/receivables-aging", response_model=AgingOut)
async def receivables_aging(db: DatabaseDep, actor: CurrentOperator):
    """Open balances of the caller's customers by age (0-30, 31-60, 61-90, 90+ days); payments settle oldest first."""
    aging = await run_blocking(reports.receivables_aging, db, actor)
    return json_response({
        "as_of": aging["as_of"], "total": format_money(aging["total_cents"]),
        "buckets": [{"bucket": b["bucket"], "amount": format_money(b["open_cents"]), "customers": b["customers"]}
                    for b in aging["buckets"]],
    })


@router.get("/stock-levels", response_model=list[StockLevel])
async def stock_levels(db: DatabaseDep, _actor: CurrentOperator,
                 warehouse_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
                 limit: Annotated[int, Query(ge=1, le=1000)] = 50):
    """Lowest on-hand first, optionally in one warehouse."""
    return json_response(await run_blocking(reports.stock_levels, db, warehouse_id=warehouse_id, limit=limit))


__all__ = ["router"]
