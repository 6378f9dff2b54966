"""Login and operators."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request, status

from reference_app.api.deps import CurrentOperator, DatabaseDep
from reference_app.api.workers import run_blocking
from reference_app.api.schemas import LoginIn, LoginOut, OperatorIn, OperatorOut, operator_dict
from reference_app.services import operators

router = APIRouter(tags=["operators"])


@router.post("/auth/login", response_model=LoginOut)
async def login(body: LoginIn, db: DatabaseDep, request: Request):
    """Exchange username and password for a bearer token."""
    ttl = dt.timedelta(minutes=request.app.state.settings.token_ttl_minutes)
    token, op = await run_blocking(operators.login, db, body.username, body.password,
                                        secret=request.app.state.secret_key(), ttl=ttl)
    return {"access_token": token, "token_type": "bearer", "operator": operator_dict(op)}


@router.get("/operators/me", response_model=OperatorOut)
async def me(db: DatabaseDep, actor: CurrentOperator):
    """The logged-in operator, with its quota and how much of it is used."""
    return operator_dict(await run_blocking(operators.get_operator, db, actor.operator_id))


@router.post("/operators", response_model=OperatorOut, status_code=status.HTTP_201_CREATED)
async def create_operator(body: OperatorIn, db: DatabaseDep, actor: CurrentOperator):
    """Create an operator (admin only)."""
    return operator_dict(await run_blocking(operators.create_operator, db, actor, body.model_dump()))


__all__ = ["router"]
