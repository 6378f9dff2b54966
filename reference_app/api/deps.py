"""Request dependencies: the process's :class:`Database` and the authenticated operator.

Handlers take ``db: DatabaseDep`` rather than a session: each service function is its own unit of
work (a read session, or a write transaction that is re-run after a deadlock), so the session's
lifetime belongs to the service, not to the request. The dependencies are ``async`` because they
do not block (the token is checked without a database round trip) and so cost no thread hop.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from reference_app.domain import Unauthenticated
from reference_app.security import InvalidToken, decode_token
from reference_app.services.database import Database
from reference_app.services.permissions import Actor

_bearer = HTTPBearer(auto_error=False, description="token from POST /api/v1/auth/login")


async def get_db(request: Request) -> Database:
    return request.app.state.db


async def current_operator(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Actor:
    if credentials is None:
        raise Unauthenticated("missing bearer token (Authorization: Bearer <token>)")
    try:
        return decode_token(request.app.state.secret_key(), credentials.credentials)
    except InvalidToken as exc:
        raise Unauthenticated("invalid or expired token") from exc


DatabaseDep = Annotated[Database, Depends(get_db)]
CurrentOperator = Annotated[Actor, Depends(current_operator)]

__all__ = ["DatabaseDep", "CurrentOperator", "get_db", "current_operator"]
