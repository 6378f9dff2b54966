"""Operators: login (Argon2id check, signed token) and creation by an admin."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from reference_app.domain import Conflict, NotFound, Unauthenticated
from reference_app.models import Operator
from reference_app.security import TokenClaims, create_token, hash_password, verify_password
from reference_app.services.database import Database
from reference_app.services.permissions import Actor, require_role


def login(db: Database, username: str, password: str, *, secret: str, ttl: dt.timedelta) -> tuple[str, Operator]:
    with db.read() as s:
        operator = s.scalars(select(Operator).where(Operator.username == username)).one_or_none()
    if operator is None or not verify_password(operator.password_hash, password):
        raise Unauthenticated("invalid username or password")  # one message: usernames are not leaked
    token = create_token(secret, TokenClaims(operator.id, operator.role, operator.team), ttl)
    return token, operator


def get_operator(db: Database, operator_id: int) -> Operator:
    with db.read() as s:
        operator = s.get(Operator, operator_id)
    if operator is None:
        raise NotFound("operator", operator_id)
    return operator


def role_and_team(db: Database, operator_id: int) -> tuple[str, str | None] | None:
    """The operator's current role and team; None if there is no such operator (deleted)."""
    with db.read() as s:
        row = s.execute(select(Operator.role, Operator.team).where(Operator.id == operator_id)).one_or_none()
    return None if row is None else (row.role, row.team)


def create_operator(db: Database, actor: Actor, fields: dict[str, Any]) -> Operator:
    require_role(actor, ("admin",), "create operators")
    password_hash = hash_password(fields.pop("password"))

    def unit(s: Session) -> Operator:
        operator = Operator(**fields, password_hash=password_hash, customer_count=0)
        s.add(operator)
        s.flush()
        return operator

    try:
        return db.write(unit)
    except IntegrityError as exc:
        raise Conflict(f"operator username {fields['username']!r} already exists") from exc


__all__ = ["login", "get_operator", "create_operator", "role_and_team"]
