"""The JXC schema: one SQLAlchemy 2 model for SQLite, PostgreSQL and MariaDB/MySQL.

Choices that keep the three engines honest and identical:

* Money is stored as integer cents (``*_cents``, BIGINT). SQLite has no exact decimal type and the
  audit compares sums exactly; floats would make "balance = orders - payments" a rounding argument.
* Timestamps are naive UTC with microseconds (MariaDB's DATETIME defaults to whole seconds, which
  would tie orders placed in the same second and make "5 most recent orders" unstable).
* Big tables get 64-bit ids, except on SQLite where only ``INTEGER PRIMARY KEY`` is the fast rowid.
* Strings have lengths (MySQL needs them for VARCHAR and for indexing).
* Only the *basic* indexes live here (keys, foreign keys, owner lookups, hot lookups); engine-specific
  search indexes of the *tuned* level live in :mod:`reference_app.indexes`.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# 64-bit ids everywhere but SQLite, where INTEGER PRIMARY KEY is the rowid alias.
BigId = BigInteger().with_variant(Integer, "sqlite")
# Microsecond timestamps on MariaDB/MySQL too.
Timestamp = DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")

ROLES = ("admin", "manager", "sales", "clerk")
STOCK_MOVE_REASONS = ("opening", "sale", "purchase_receipt", "adjustment")
PURCHASE_STATUSES = ("open", "received")


def utcnow() -> dt.datetime:
    """Naive UTC now: the one clock every table uses."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class AppMeta(Base):
    """Key/value facts about this database: schema version, index level, token signing key.

    The signing key lives here so that every worker process of every service signs and checks
    tokens with the same key without a shared config file.
    """

    __tablename__ = "app_meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class Operator(Base):
    """A person using the system: admin, manager, salesperson (``sales``) or warehouse clerk."""

    __tablename__ = "operators"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    team: Mapped[str | None] = mapped_column(String(64), index=True)
    customer_quota: Mapped[int] = mapped_column(Integer, default=1000)
    # Maintained with the quota check in one conditional UPDATE, so that concurrent creations
    # cannot both slip under the quota; the audit checks it against COUNT(customers).
    customer_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)

    __table_args__ = (
        CheckConstraint("role IN ('admin', 'manager', 'sales', 'clerk')", name="ck_operators_role"),
        CheckConstraint("customer_quota >= 0", name="ck_operators_quota"),
    )


class Customer(Base):
    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    phone: Mapped[str] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(128))
    region: Mapped[str | None] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(String(255))
    level: Mapped[str] = mapped_column(String(16), default="regular")
    credit_limit_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    # Orders minus payments, moved in the same transaction as each order or payment.
    balance_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    owner_id: Mapped[int] = mapped_column(ForeignKey("operators.id"))
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow, onupdate=utcnow)

    owner: Mapped[Operator] = relationship(lazy="raise")

    __table_args__ = (
        # Keyset pagination of one salesperson's customers: WHERE owner_id = ? AND id > ? ORDER BY id.
        Index("ix_customers_owner_id_id", "owner_id", "id"),
        Index("ix_customers_phone", "phone"),
        CheckConstraint("credit_limit_cents >= 0", name="ck_customers_credit_limit"),
    )


class Supplier(Base):
    __tablename__ = "suppliers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    phone: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)


class Product(Base):
    __tablename__ = "products"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    category: Mapped[str] = mapped_column(String(64), index=True)
    unit: Mapped[str] = mapped_column(String(16))
    price_cents: Mapped[int] = mapped_column(BigInteger)
    cost_cents: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)

    __table_args__ = (
        CheckConstraint("price_cents >= 0", name="ck_products_price"),
        CheckConstraint("cost_cents >= 0", name="ck_products_cost"),
    )


class Warehouse(Base):
    __tablename__ = "warehouses"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    region: Mapped[str | None] = mapped_column(String(64))


class Stock(Base):
    """On-hand quantity of one product in one warehouse.

    Decremented only by a conditional ``UPDATE ... SET on_hand = on_hand - q WHERE on_hand >= q``
    so that concurrent orders cannot lose an update or drive it negative on any engine; the CHECK
    is the last line of defence.
    """

    __tablename__ = "stock"
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"), primary_key=True)
    on_hand: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        CheckConstraint("on_hand >= 0", name="ck_stock_on_hand"),
        Index("ix_stock_warehouse_id", "warehouse_id"),
    )


class StockMove(Base):
    """The stock ledger: one row per change of stock, with its reason and source document."""

    __tablename__ = "stock_moves"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    qty: Mapped[int] = mapped_column(Integer)  # signed: + into stock, - out of stock
    reason: Mapped[str] = mapped_column(String(32))
    doc_type: Mapped[str | None] = mapped_column(String(32))
    doc_id: Mapped[int | None] = mapped_column(BigInteger)
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)

    __table_args__ = (
        Index("ix_stock_moves_product_warehouse", "product_id", "warehouse_id"),
        CheckConstraint(
            "reason IN ('opening', 'sale', 'purchase_receipt', 'adjustment')",
            name="ck_stock_moves_reason",
        ),
    )


class SalesOrder(Base):
    __tablename__ = "sales_orders"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"))
    total_cents: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)

    lines: Mapped[list[SalesOrderLine]] = relationship(
        back_populates="order", lazy="raise", order_by="SalesOrderLine.id"
    )

    __table_args__ = (
        # "5 most recent orders of a customer" and per-customer sums.
        Index("ix_sales_orders_customer_created", "customer_id", "created_at"),
        # Reports over the last N days.
        Index("ix_sales_orders_created", "created_at"),
    )


class SalesOrderLine(Base):
    __tablename__ = "sales_order_lines"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_orders.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    qty: Mapped[int] = mapped_column(Integer)
    unit_price_cents: Mapped[int] = mapped_column(BigInteger)
    amount_cents: Mapped[int] = mapped_column(BigInteger)

    order: Mapped[SalesOrder] = relationship(back_populates="lines", lazy="raise")

    __table_args__ = (CheckConstraint("qty > 0", name="ck_sales_order_lines_qty"),)


class PurchaseOrder(Base):
    __tablename__ = "purchase_orders"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"), index=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"))
    status: Mapped[str] = mapped_column(String(16), default="open")
    total_cents: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)
    received_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)

    lines: Mapped[list[PurchaseOrderLine]] = relationship(
        back_populates="order", lazy="raise", order_by="PurchaseOrderLine.id"
    )

    __table_args__ = (
        CheckConstraint("status IN ('open', 'received')", name="ck_purchase_orders_status"),
    )


class PurchaseOrderLine(Base):
    __tablename__ = "purchase_order_lines"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("purchase_orders.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    qty: Mapped[int] = mapped_column(Integer)
    unit_cost_cents: Mapped[int] = mapped_column(BigInteger)
    amount_cents: Mapped[int] = mapped_column(BigInteger)

    order: Mapped[PurchaseOrder] = relationship(back_populates="lines", lazy="raise")

    __table_args__ = (CheckConstraint("qty > 0", name="ck_purchase_order_lines_qty"),)


class Payment(Base):
    __tablename__ = "payments"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)

    __table_args__ = (CheckConstraint("amount_cents > 0", name="ck_payments_amount"),)


# Tables in dependency order (parents first): what the seeder loads in this order and what a reset
# drops in reverse.
TABLES = [m.__table__ for m in (
    AppMeta, Operator, Customer, Supplier, Product, Warehouse, Stock, StockMove,
    SalesOrder, SalesOrderLine, PurchaseOrder, PurchaseOrderLine, Payment,
)]

__all__ = [
    "ROLES", "STOCK_MOVE_REASONS", "PURCHASE_STATUSES", "TABLES", "utcnow",
    "Base", "AppMeta", "Operator", "Customer", "Supplier", "Product", "Warehouse", "Stock",
    "StockMove", "SalesOrder", "SalesOrderLine", "PurchaseOrder", "PurchaseOrderLine", "Payment",
]
