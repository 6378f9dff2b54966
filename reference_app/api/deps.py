"""Request dependencies: the process's :class:`Database` and the authenticated operator.

Handlers take ``db: DatabaseDep`` rather than a session: each service function is its own unit of
work (a read session, or a write transaction that is re-run after a deadlock), so the session's
lifetime belongs to the service, not to the request. The dependencies are ``async`` because they
do not block (the token is checked without a database round trip) and so cost no thread hop.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from typing import Annotated, Any

import jwt

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPBearer

from reference_app.domain import Unauthenticated
from reference_app.security import InvalidToken, decode_token
from reference_app.services.database import Database
from reference_app.services.permissions import Actor


class TokenCache:
    """Tokens already verified, with their claims, until they expire.

    An operator sends the same token with every request; checking its HMAC and claims each time
    costs more than the rest of the auth path. A hit is the exact token string that was verified
    before, so it is as good as re-verifying it, and the cached expiry is still enforced. Bounded:
    cleared when full (operators simply re-verify once).

    A valid signature only says who the operator *was* at login: with ``operator`` (operator id ->
    its current ``(role, team)``, or None when it no longer exists) a token is also checked against
    the database when first seen and again every ``recheck_s`` seconds, so that the token of a
    deleted operator, or of one whose role or team changed, stops working (401) — without a
    database round trip on the other requests. ``operator`` may be a coroutine function (a service
    whose operators live in another service asks it over HTTP).
    """

    def __init__(self, secret: Callable[[], str], size: int = 20_000, *,
                 operator: Callable[[int], Any] | None = None,
                 recheck_s: float = 30.0) -> None:
        self._secret = secret
        self._size = size
        self._operator = operator
        self.recheck_s = recheck_s
        self._claims: dict[str, tuple[Actor, float]] = {}
        self._checked: dict[str, float] = {}  # token -> when the operator was last found as claimed

    def claims(self, token: str) -> Actor:
        hit = self._claims.get(token)
        now = time.time()
        if hit is not None and hit[1] > now:
            return hit[0]
        claims = decode_token(self._secret(), token)  # raises InvalidToken
        expires = float(jwt.decode(token, options={"verify_signature": False})["exp"])
        if len(self._claims) >= self._size:
            self._claims.clear()
            self._checked.clear()
        self._claims[token] = (claims, expires)
        return claims

    async def actor(self, token: str) -> Actor:
        """:meth:`claims`, and the operator still exists with that role and team (see above)."""
        claims = self.claims(token)
        if self._operator is None or time.time() - self._checked.get(token, 0.0) < self.recheck_s:
            return claims
        if inspect.iscoroutinefunction(self._operator):  # another service asked over HTTP
            current = await self._operator(claims.operator_id)
        else:
            current = await run_in_threadpool(self._operator, claims.operator_id)
        if current != (claims.role, claims.team):
            self._claims.pop(token, None)
            self._checked.pop(token, None)
            raise InvalidToken(f"operator {claims.operator_id} no longer exists with role {claims.role!r}")
        self._checked[token] = time.time()
        return claims


class BearerOperator(HTTPBearer):
    """The authenticated operator from ``Authorization: Bearer <token>``, as one dependency.

    It *is* FastAPI's HTTPBearer scheme (so the OpenAPI document still declares the security
    scheme on every route that needs it), but resolves straight to the operator: each dependency
    FastAPI resolves costs a pass of its resolver on every request, and the hot paths have little
    else to do.
    """

    async def __call__(self, request: Request) -> Actor:  # type: ignore[override]
        scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("missing bearer token (Authorization: Bearer <token>)")
        try:
            return await request.app.state.tokens.actor(token)
        except InvalidToken as exc:
            raise Unauthenticated("invalid or expired token") from exc


current_operator = BearerOperator(auto_error=False, scheme_name="HTTPBearer",  # the name it always had
                                  description="token from POST /api/v1/auth/login")


async def get_db(request: Request) -> Database:
    return request.app.state.db


DatabaseDep = Annotated[Database, Depends(get_db)]
CurrentOperator = Annotated[Actor, Depends(current_operator)]

__all__ = ["DatabaseDep", "CurrentOperator", "TokenCache", "BearerOperator", "get_db", "current_operator"]
