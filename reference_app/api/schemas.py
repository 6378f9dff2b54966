"""Request and response bodies. Limits come from the schema (string lengths from the model's
column sizes), so an oversized value is a 422 naming the field, never a database error (500).

Money is a JSON number or string with at most two decimals in requests and a decimal string
("123.45") in responses; services work in integer cents.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from reference_app.domain import format_money
from reference_app.models import ROLES, Customer, Operator, Product, Supplier, Warehouse

MAX_ID = 2**63 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
# Caps keep qty x price x lines far below the 64-bit range of the cents columns.
Qty = Annotated[int, Field(gt=0, le=100_000)]
Money = Annotated[Decimal, Field(ge=0, le=Decimal("10000000.00"), max_digits=11, decimal_places=2)]
PositiveMoney = Annotated[Decimal, Field(gt=0, le=Decimal("10000000.00"), max_digits=11, decimal_places=2)]
MAX_LINES = 100


def sized_str(model: type, column: str, *, min_length: int = 1) -> Any:
    """A stripped string no longer than ``model.column`` allows."""
    length = model.__table__.c[column].type.length
    return Annotated[str, StringConstraints(strip_whitespace=True, min_length=min_length, max_length=length)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- auth and operators --------------------------------------------------------------------------
class LoginIn(Body):
    username: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=128)]


class OperatorIn(Body):
    username: sized_str(Operator, "username")
    password: Annotated[str, StringConstraints(min_length=8, max_length=128)]
    role: Literal[ROLES]  # type: ignore[valid-type]
    team: sized_str(Operator, "team") | None = None
    customer_quota: Annotated[int, Field(ge=0, le=1_000_000_000)] = 1000


class OperatorOut(BaseModel):
    id: int
    username: str
    role: str
    team: str | None
    customer_quota: int
    customer_count: int


class LoginOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    operator: OperatorOut


# -- catalog -------------------------------------------------------------------------------------
class ProductIn(Body):
    sku: sized_str(Product, "sku")
    name: sized_str(Product, "name")
    category: sized_str(Product, "category")
    unit: sized_str(Product, "unit")
    price: Money
    cost: Money


class ProductOut(BaseModel):
    id: int
    sku: str
    name: str
    category: str
    unit: str
    price: str
    cost: str
    created_at: dt.datetime


class WarehouseIn(Body):
    code: sized_str(Warehouse, "code")
    name: sized_str(Warehouse, "name")
    region: sized_str(Warehouse, "region") | None = None


class WarehouseOut(BaseModel):
    id: int
    code: str
    name: str
    region: str | None


class SupplierIn(Body):
    code: sized_str(Supplier, "code")
    name: sized_str(Supplier, "name")
    phone: sized_str(Supplier, "phone") | None = None


class SupplierOut(BaseModel):
    id: int
    code: str
    name: str
    phone: str | None
    created_at: dt.datetime


class StockOut(BaseModel):
    product_id: int
    warehouse_id: int
    on_hand: int


# -- customers -----------------------------------------------------------------------------------
class CustomerIn(Body):
    name: sized_str(Customer, "name")
    phone: sized_str(Customer, "phone")
    code: sized_str(Customer, "code") | None = None
    email: sized_str(Customer, "email") | None = None
    region: sized_str(Customer, "region") | None = None
    address: sized_str(Customer, "address") | None = None
    level: sized_str(Customer, "level") | None = None
    credit_limit: Money | None = None
    owner_id: Id | None = None


class CustomerPatch(Body):
    """Only the fields present change; fields that cannot be empty refuse an explicit null."""

    name: sized_str(Customer, "name") = None
    phone: sized_str(Customer, "phone") = None
    code: sized_str(Customer, "code") = None
    email: sized_str(Customer, "email") | None = None
    region: sized_str(Customer, "region") | None = None
    address: sized_str(Customer, "address") | None = None
    level: sized_str(Customer, "level") = None
    credit_limit: Money = None
    owner_id: Id = None


class OrderSummary(BaseModel):
    id: int
    warehouse_id: int
    total: str
    created_at: dt.datetime


class CustomerOut(BaseModel):
    id: int
    code: str
    name: str
    phone: str
    email: str | None
    region: str | None
    address: str | None
    level: str
    credit_limit: str
    balance: str
    owner_id: int
    created_at: dt.datetime
    updated_at: dt.datetime


class CustomerView(CustomerOut):
    recent_orders: list[OrderSummary]


# -- documents -----------------------------------------------------------------------------------
class SalesLineIn(Body):
    product_id: Id
    qty: Qty


class SalesOrderIn(Body):
    customer_id: Id
    warehouse_id: Id
    lines: Annotated[list[SalesLineIn], Field(min_length=1, max_length=MAX_LINES)]


class SalesLineOut(BaseModel):
    id: int
    product_id: int
    qty: int
    unit_price: str
    amount: str


class SalesOrderOut(BaseModel):
    id: int
    customer_id: int
    warehouse_id: int
    operator_id: int
    total: str
    created_at: dt.datetime
    lines: list[SalesLineOut]


class PurchaseLineIn(Body):
    product_id: Id
    qty: Qty
    unit_cost: Money | None = None


class PurchaseOrderIn(Body):
    supplier_id: Id
    warehouse_id: Id
    lines: Annotated[list[PurchaseLineIn], Field(min_length=1, max_length=MAX_LINES)]


class PurchaseLineOut(BaseModel):
    id: int
    product_id: int
    qty: int
    unit_cost: str
    amount: str


class PurchaseOrderOut(BaseModel):
    id: int
    supplier_id: int
    warehouse_id: int
    operator_id: int
    status: str
    total: str
    created_at: dt.datetime
    received_at: dt.datetime | None
    lines: list[PurchaseLineOut]


class PaymentIn(Body):
    customer_id: Id
    amount: PositiveMoney


class PaymentOut(BaseModel):
    id: int
    customer_id: int
    operator_id: int
    amount: str
    created_at: dt.datetime


# -- reports -------------------------------------------------------------------------------------
class TopCustomer(BaseModel):
    customer_id: int
    name: str
    orders: int
    total: str


class AgingBucket(BaseModel):
    bucket: str
    amount: str
    customers: int


class AgingOut(BaseModel):
    as_of: dt.datetime
    buckets: list[AgingBucket]
    total: str


class StockLevel(BaseModel):
    product_id: int
    sku: str
    name: str
    warehouse_id: int
    warehouse_code: str
    on_hand: int


class Page(BaseModel):
    next_after: int | None


class CustomerPage(Page):
    items: list[CustomerOut]
    total: int | None = None   # only with ?with_total=true


class CustomerList(BaseModel):
    items: list[CustomerOut]


class ProductPage(Page):
    items: list[ProductOut]


class StockList(BaseModel):
    items: list[StockOut]


# -- presenting rows -----------------------------------------------------------------------------
def customer_dict(c: Customer) -> dict[str, Any]:
    return {
        "id": c.id, "code": c.code, "name": c.name, "phone": c.phone, "email": c.email, "region": c.region,
        "address": c.address, "level": c.level, "credit_limit": format_money(c.credit_limit_cents),
        "balance": format_money(c.balance_cents), "owner_id": c.owner_id, "created_at": c.created_at,
        "updated_at": c.updated_at,
    }


def operator_dict(o: Operator) -> dict[str, Any]:
    return {"id": o.id, "username": o.username, "role": o.role, "team": o.team,
            "customer_quota": o.customer_quota, "customer_count": o.customer_count}


def product_dict(p: Product) -> dict[str, Any]:
    return {"id": p.id, "sku": p.sku, "name": p.name, "category": p.category, "unit": p.unit,
            "price": format_money(p.price_cents), "cost": format_money(p.cost_cents), "created_at": p.created_at}


__all__ = [
    "MAX_ID", "MAX_LINES", "Id", "Qty", "Money", "PositiveMoney",
    "Body", "LoginIn", "OperatorIn", "OperatorOut", "LoginOut", "ProductIn", "ProductOut", "WarehouseIn",
    "WarehouseOut", "SupplierIn", "SupplierOut", "StockOut", "CustomerIn", "CustomerPatch", "OrderSummary",
    "CustomerOut", "CustomerView", "SalesLineIn", "SalesOrderIn", "SalesLineOut", "SalesOrderOut",
    "PurchaseLineIn", "PurchaseOrderIn", "PurchaseLineOut", "PurchaseOrderOut", "PaymentIn", "PaymentOut",
    "TopCustomer", "AgingBucket", "AgingOut", "StockLevel", "Page", "CustomerPage", "CustomerList",
    "ProductPage", "StockList", "sized_str", "customer_dict", "operator_dict", "product_dict",
]
