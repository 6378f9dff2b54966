"""Customers: scoped to the operator (someone else's customer is a 404)."""

from __future__ import annotations

from typing import Annotated

from fastapi.concurrency import run_in_threadpool
from fastapi import APIRouter, Path, Query, Request, status
from fastapi.responses import StreamingResponse

from reference_app.api.deps import CurrentOperator, DatabaseDep
from reference_app.api.export import csv_chunks, xlsx_chunks
from reference_app.api.schemas import (
    MAX_ID, CustomerIn, CustomerList, CustomerOut, CustomerPage, CustomerPatch, CustomerView, customer_dict,
)
from reference_app.domain import format_money, to_cents
from reference_app.services import customers

router = APIRouter(prefix="/customers", tags=["customers"])
CustomerId = Annotated[int, Path(ge=1, le=MAX_ID)]


def _money_fields(fields: dict) -> dict:
    if "credit_limit" in fields:
        limit = fields.pop("credit_limit")
        fields["credit_limit_cents"] = None if limit is None else to_cents(limit)
    return fields


@router.get("", response_model=CustomerPage, response_model_exclude_unset=True)
async def list_customers(db: DatabaseDep, actor: CurrentOperator,
                   after: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
                   limit: Annotated[int, Query(ge=1, le=100)] = 20,
                   with_total: bool = False):
    """The operator's customers in id order; pass next_after as after for the next page. With
    with_total=true the page also carries "total", how many customers the operator may see."""
    rows, next_after = await run_in_threadpool(customers.list_customers, db, actor, after=after, limit=limit)
    page = {"items": [customer_dict(c) for c in rows], "next_after": next_after}
    if with_total:
        page["total"] = await run_in_threadpool(customers.count_customers, db, actor)
    return page


EXPORT_TYPES = {"csv": "text/csv; charset=utf-8",
                "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


@router.get("/export")
async def export_customers(db: DatabaseDep, actor: CurrentOperator,
                           format: Annotated[str, Query(pattern="^(csv|xlsx)$")] = "csv"):
    """Every customer the operator may see, as a streamed CSV (UTF-8 with BOM) or XLSX file."""
    pages = customers.export_pages(db, actor)
    first = await run_in_threadpool(next, pages, None)  # the scope check (clerk: 403) before any byte

    def all_pages():
        if first is not None:
            yield first
            yield from pages

    chunks = csv_chunks(all_pages()) if format == "csv" else xlsx_chunks(all_pages())
    return StreamingResponse(chunks, media_type=EXPORT_TYPES[format],
                             headers={"Content-Disposition": f'attachment; filename="customers.{format}"'})


@router.get("/search", response_model=CustomerList)
async def search_customers(db: DatabaseDep, actor: CurrentOperator,
                     q: Annotated[str, Query(min_length=1, max_length=64)],
                     limit: Annotated[int, Query(ge=1, le=100)] = 20):
    """The operator's customers whose name or phone contains q."""
    found = await run_in_threadpool(customers.search_customers, db, actor, q, limit=limit)
    return {"items": [customer_dict(c) for c in found]}


@router.get("/{customer_id}", response_model=CustomerView)
async def get_customer(customer_id: CustomerId, db: DatabaseDep, actor: CurrentOperator):
    """One customer with its balance and its 5 most recent orders."""
    customer, orders = await run_in_threadpool(customers.get_customer, db, actor, customer_id)
    view = customer_dict(customer)
    view["recent_orders"] = [
        {"id": o.id, "warehouse_id": o.warehouse_id, "total": format_money(o.total_cents), "created_at": o.created_at}
        for o in orders
    ]
    return view


@router.post("", response_model=CustomerOut, status_code=status.HTTP_201_CREATED)
async def create_customer(body: CustomerIn, db: DatabaseDep, actor: CurrentOperator, request: Request):
    """Create a customer owned by the caller (or by owner_id); 409 beyond the owner's customer_quota."""
    fields = _money_fields(body.model_dump())
    default_limit = request.app.state.settings.default_credit_limit_cents
    created = await run_in_threadpool(customers.create_customer, db, actor, fields,
                                      default_credit_limit_cents=default_limit)
    return customer_dict(created)


@router.patch("/{customer_id}", response_model=CustomerOut)
async def update_customer(customer_id: CustomerId, body: CustomerPatch, db: DatabaseDep, actor: CurrentOperator):
    """Change some fields of a customer the caller may see."""
    changes = _money_fields(body.model_dump(exclude_unset=True))
    return customer_dict(await run_in_threadpool(customers.update_customer, db, actor, customer_id, changes))


__all__ = ["router"]
