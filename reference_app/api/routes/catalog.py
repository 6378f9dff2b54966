"""Products, warehouses, suppliers and stock."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from reference_app.api.deps import CurrentOperator, DatabaseDep
from reference_app.api.workers import run_blocking
from reference_app.api.schemas import (
    MAX_ID, ProductIn, ProductOut, ProductPage, StockList, SupplierIn, SupplierOut, WarehouseIn, WarehouseOut,
    PRODUCT_ROW, product_dict, product_row_dict,
)
from reference_app.api.responses import json_response
from reference_app.domain import to_cents
from reference_app.services import catalog, stock

router = APIRouter(tags=["catalog"])

if tuple(c.key for c in catalog.PRODUCT_COLUMNS) != PRODUCT_ROW:  # the presenter unpacks by position
    raise RuntimeError("api.schemas.PRODUCT_ROW no longer matches the products table's columns")


@router.post("/products", response_model=ProductOut, status_code=status.HTTP_201_CREATED)
async def create_product(body: ProductIn, db: DatabaseDep, actor: CurrentOperator):
    """Create a product (admin or clerk); 409 if the sku exists."""
    fields = body.model_dump(exclude={"price", "cost"})
    fields.update(price_cents=to_cents(body.price), cost_cents=to_cents(body.cost))
    return product_dict(await run_blocking(catalog.create_product, db, actor, fields))


@router.get("/products", response_model=ProductPage)
async def list_products(db: DatabaseDep, _actor: CurrentOperator,
                  q: Annotated[str | None, Query(max_length=64)] = None,
                  after: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
                  limit: Annotated[int, Query(ge=1, le=100)] = 20):
    """Products in id order, optionally whose name or sku contains q."""
    rows, next_after = await run_blocking(catalog.list_products, db, q, after=after, limit=limit)
    return json_response({"items": [product_row_dict(p) for p in rows], "next_after": next_after})


@router.post("/warehouses", response_model=WarehouseOut, status_code=status.HTTP_201_CREATED)
async def create_warehouse(body: WarehouseIn, db: DatabaseDep, actor: CurrentOperator):
    """Create a warehouse (admin or clerk)."""
    return await run_blocking(catalog.create_warehouse, db, actor, body.model_dump())


@router.post("/suppliers", response_model=SupplierOut, status_code=status.HTTP_201_CREATED)
async def create_supplier(body: SupplierIn, db: DatabaseDep, actor: CurrentOperator):
    """Create a supplier (admin or clerk)."""
    return await run_blocking(catalog.create_supplier, db, actor, body.model_dump())


@router.get("/stock", response_model=StockList)
async def list_stock(db: DatabaseDep, _actor: CurrentOperator,
               product_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
               warehouse_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
               limit: Annotated[int, Query(ge=1, le=1000)] = 100):
    """On-hand quantities, filtered by product and/or warehouse."""
    rows = await run_blocking(stock.list_stock, db, product_id=product_id, warehouse_id=warehouse_id,
                                   limit=limit)
    return json_response({"items": [{"product_id": p, "warehouse_id": w, "on_hand": n} for p, w, n in rows]})


__all__ = ["router"]
