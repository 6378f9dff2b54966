"""Products, warehouses and suppliers: created by admins and clerks, read by everyone."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import bindparam, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from reference_app.domain import Conflict
from reference_app.models import Product, Supplier, Warehouse
from reference_app.services.customers import like_pattern
from reference_app.services.database import Database
from reference_app.services.permissions import CATALOG_ROLES, Actor, require_role
from reference_app.services.prepared import Prepared

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


PRODUCT_COLUMNS = tuple(Product.__table__.c)  # api.schemas.product_row_dict reads them in this order
_P = Product.__table__.c
_PATTERN = bindparam("pattern")


def _products(match) -> Prepared:  # noqa: ANN001 - a condition or None
    stmt = select(*PRODUCT_COLUMNS).where(_P.id > bindparam("after"))
    if match is not None:
        stmt = stmt.where(match)
    return Prepared(stmt.order_by(_P.id).limit(bindparam("limit")))


PRODUCT_PAGE = {
    None: _products(None),
    # Case-insensitive everywhere: ILIKE on PostgreSQL, LIKE elsewhere (SQLite ASCII, MariaDB's _ci collation).
    "ilike": _products(or_(_P.name.ilike(_PATTERN, escape="!"), _P.sku.ilike(_PATTERN, escape="!"))),
    "like": _products(or_(_P.name.like(_PATTERN, escape="!"), _P.sku.like(_PATTERN, escape="!"))),
}


def list_products(db: Database, q: str | None, *, after: int, limit: int) -> tuple[list[tuple], int | None]:
    """Products in id order, optionally those whose name or sku contains ``q``."""
    params = {"after": after, "limit": limit + 1}
    kind = None
    if q:
        kind = "ilike" if db.backend == "postgresql" else "like"
        params["pattern"] = like_pattern(q)
    with db.reading() as tx:
        rows = tx.tuples(PRODUCT_PAGE[kind], **params)
    next_after = rows[limit - 1][0] if len(rows) > limit else None
    return rows[:limit], next_after


__all__ = ["PRODUCT_COLUMNS", "create_product", "create_warehouse", "create_supplier", "list_products"]
