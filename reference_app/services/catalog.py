"""Products, warehouses and suppliers: created by admins and clerks, read by everyone."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from reference_app.domain import Conflict
from reference_app.models import Product, Supplier, Warehouse
from reference_app.services.customers import like_pattern
from reference_app.services.database import Database
from reference_app.services.permissions import CATALOG_ROLES, Actor, require_role

M = TypeVar("M", Product, Warehouse, Supplier)


def _create(db: Database, actor: Actor, model: type[M], fields: dict[str, Any], key: str) -> M:
    require_role(actor, CATALOG_ROLES, f"create {model.__tablename__}")

    def unit(s: Session) -> M:
        obj = model(**fields)
        s.add(obj)
        s.flush()
        return obj

    try:
        return db.write(unit)
    except IntegrityError as exc:
        raise Conflict(f"{model.__tablename__[:-1]} {key} {fields[key]!r} already exists") from exc


def create_product(db: Database, actor: Actor, fields: dict[str, Any]) -> Product:
    return _create(db, actor, Product, fields, "sku")


def create_warehouse(db: Database, actor: Actor, fields: dict[str, Any]) -> Warehouse:
    return _create(db, actor, Warehouse, fields, "code")


def create_supplier(db: Database, actor: Actor, fields: dict[str, Any]) -> Supplier:
    return _create(db, actor, Supplier, fields, "code")


def list_products(db: Database, q: str | None, *, after: int, limit: int) -> tuple[list[Product], int | None]:
    """Products in id order, optionally those whose name or sku contains ``q``."""
    stmt = select(Product).where(Product.id > after)
    if q:
        pattern = like_pattern(q)
        like = "ilike" if db.backend == "postgresql" else "like"  # case-insensitive everywhere
        stmt = stmt.where(or_(getattr(Product.name, like)(pattern, escape="!"),
                              getattr(Product.sku, like)(pattern, escape="!")))
    with db.read() as s:
        rows = list(s.scalars(stmt.order_by(Product.id).limit(limit + 1)))
    next_after = rows[limit - 1].id if len(rows) > limit else None
    return rows[:limit], next_after


__all__ = ["create_product", "create_warehouse", "create_supplier", "list_products"]
