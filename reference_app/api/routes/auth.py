"""Login and operators."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request, status

from reference_app.api.deps import CurrentOperator, DatabaseDep
from reference_app.api.schemas import LoginIn, LoginOut, OperatorIn, OperatorOut, operator_dict
from reference_app.services import operators

router = APIRouter(tags=["operators"])


@router.post("/auth/login", response_model=LoginOut)
def login(body: LoginIn, db: DatabaseDep, request: Request):
    """Exchange username and password for a bearer token."""
    settings = request.app.state.settings
    token, op = operators.login(db, body.username, body.password, secret=request.app.state.secret_key(),
                                ttl=dt.timedelta(minutes=settings.token_ttl_minutes))
    return {"access_token": token, "token_type": "bearer", "operator": operator_dict(op)}


@router.get("/operators/me", response_model=OperatorOut)
def me(db: DatabaseDep, actor: CurrentOperator):
    """The logged-in operator, with its quota and how much of it is used."""
    return operator_dict(operators.get_operator(db, actor.operator_id))


@router.post("/operators", response_model=OperatorOut, status_code=status.HTTP_201_CREATED)
def create_operator(body: OperatorIn, db: DatabaseDep, actor: CurrentOperator):
    """Create an operator (admin only)."""
    return operator_dict(operators.create_operator(db, actor, body.model_dump()))
