"""The one place where domain errors become HTTP answers.

Refusals are ``{"detail": "message"}``; an unknown id in a request body is a 422 shaped like
FastAPI's own validation errors, so clients find the field under ``detail[].loc`` either way.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from reference_app.domain import Conflict, DomainError, Forbidden, InvalidReference, NotFound, Unauthenticated

STATUS = {Unauthenticated: 401, Forbidden: 403, NotFound: 404, Conflict: 409, InvalidReference: 422}


def status_of(exc: DomainError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


async def _domain_error(_request: Request, exc: DomainError) -> JSONResponse:
    status = status_of(exc)
    if isinstance(exc, InvalidReference):
        body = {"detail": [{"loc": list(exc.field), "msg": str(exc), "type": "invalid_reference"}]}
    else:
        body = {"detail": str(exc)}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


async def _integrity_error(_request: Request, _exc: IntegrityError) -> JSONResponse:
    # Services translate the expected ones (duplicate sku/code/username) into Conflict with a
    # precise message; anything left is still the client's conflicting data, not a server fault.
    return JSONResponse({"detail": "conflicts with existing data"}, status_code=409)


async def _data_error(_request: Request, _exc: DataError) -> JSONResponse:
    return JSONResponse({"detail": "a value is out of range for its field"}, status_code=422)


async def _unavailable(_request: Request, exc: Exception) -> JSONResponse:
    # The database is down, the pool stayed empty too long, or a transaction kept deadlocking after
    # every retry: the request may succeed later, so 503 (with Retry-After), not a bare 500.
    detail = "database busy or unavailable, retry later"
    return JSONResponse({"detail": detail, "error": exc.__class__.__name__}, status_code=503,
                        headers={"Retry-After": "1"})


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(DataError, _data_error)
    app.add_exception_handler(OperationalError, _unavailable)
    app.add_exception_handler(PoolTimeout, _unavailable)


__all__ = ["STATUS", "status_of", "install_error_handlers"]
