"""Customers: scoped to the operator (someone else's customer is a 404)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, status
from fastapi.responses import StreamingResponse

from reference_app.api import export
from reference_app.api.deps import CurrentOperator, DatabaseDep
from reference_app.api.workers import run_blocking
from reference_app.api.responses import json_response
from reference_app.api.schemas import (
    CUSTOMER_ROW, MAX_ID, CustomerIn, CustomerList, CustomerOut, CustomerPage, CustomerPatch, CustomerView,
    customer_row_dict,
)
from reference_app.domain import format_money, to_cents
from reference_app.services import customers
from reference_app.services.permissions import scope_of

if tuple(c.key for c in customers.CUSTOMER_COLUMNS) != CUSTOMER_ROW:  # the presenter unpacks by position
    raise RuntimeError("api.schemas.CUSTOMER_ROW no longer matches the customers table's columns")

router = APIRouter(prefix="/customers", tags=["customers"])
CustomerId = Annotated[int, Path(ge=1, le=MAX_ID)]


def _money_fields(fields: dict) -> dict:
    if "credit_limit" in fields:
        limit = fields.pop("credit_limit")
        fields["credit_limit_cents"] = None if limit is None else to_cents(limit)
    return fields


@router.get("", response_model=CustomerPage)
async def list_customers(db: DatabaseDep, actor: CurrentOperator,
                         after: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
                         limit: Annotated[int, Query(ge=1, le=100)] = 20,
                         with_total: Annotated[bool, Query(description="also count the customers in scope")] = False):
    """The operator's customers in id order; pass next_after as after for the next page. With
    with_total=true the page also carries total, the number of customers in the operator's scope."""
    rows, next_after, total = await run_blocking(customers.list_customers, db, actor, after=after, limit=limit,
                                                      with_total=with_total)
    body = {"items": [customer_row_dict(r) for r in rows], "next_after": next_after}
    if with_total:
        body["total"] = total
    return json_response(body)


@router.get("/search", response_model=CustomerList)
async def search_customers(db: DatabaseDep, actor: CurrentOperator,
                           q: Annotated[str, Query(min_length=1, max_length=64, pattern=r"^[^\x00]+$",
                                                   description="text to find; no NUL character (SQLite's "
                                                               "full-text index and PostgreSQL cannot take one)")],
                           limit: Annotated[int, Query(ge=1, le=100)] = 20):
    """The operator's customers whose name or phone contains q (a NUL in q is a 422, not a database error)."""
    found = await run_blocking(customers.search_customers, db, actor, q, limit=limit)
    return json_response({"items": [customer_row_dict(r) for r in found]})


@router.get("/export", response_class=StreamingResponse, responses=export.RESPONSES)
async def export_customers(db: DatabaseDep, actor: CurrentOperator,
                           fmt: Annotated[Literal["csv", "xlsx"], Query(alias="format")] = "csv"):
    """Every customer in the operator's scope (admin: the whole book) as CSV (UTF-8 with BOM, for
    Excel) or XLSX, streamed: columns id, name, phone, region, level, owner_id, credit_limit,
    balance, created_at."""
    scope_of(actor)  # a clerk is refused (403) before the answer starts
    return export.streaming(fmt, customers.customer_pages(db, actor))


@router.get("/{customer_id}", response_model=CustomerView)
async def get_customer(customer_id: CustomerId, db: DatabaseDep, actor: CurrentOperator):
    """One customer with its balance and its 5 most recent orders."""
    customer, orders = await run_blocking(customers.get_customer, db, actor, customer_id)
    view = customer_row_dict(customer)
    view["recent_orders"] = [
        {"id": oid, "warehouse_id": wid, "total": format_money(total), "created_at": created}
        for oid, wid, total, created in orders
    ]
    return json_response(view)


@router.post("", response_model=CustomerOut, status_code=status.HTTP_201_CREATED)
async def create_customer(body: CustomerIn, db: DatabaseDep, actor: CurrentOperator, request: Request):
    """Create a customer owned by the caller (or by owner_id); 409 beyond the owner's customer_quota."""
    fields = _money_fields(body.model_dump())
    default_limit = request.app.state.settings.default_credit_limit_cents
    created = await run_blocking(customers.create_customer, db, actor, fields,
                                      default_credit_limit_cents=default_limit)
    return json_response(customer_row_dict(created), status.HTTP_201_CREATED)


@router.patch("/{customer_id}", response_model=CustomerOut)
async def update_customer(customer_id: CustomerId, body: CustomerPatch, db: DatabaseDep, actor: CurrentOperator):
    """Change some fields of a customer the caller may see."""
    changes = _money_fields(body.model_dump(exclude_unset=True))
    return json_response(customer_row_dict(await run_blocking(customers.update_customer, db, actor, customer_id,
                                                              changes)))


__all__ = ["router"]
