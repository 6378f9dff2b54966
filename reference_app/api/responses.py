"""JSON answers the hot paths build themselves, serialised by orjson and returned as a Response.

FastAPI validates a handler's return value against its ``response_model`` with pydantic and then
serialises it; for a body we build ourselves from typed database columns that check buys nothing
and cost a good part of a request's CPU. Routes keep ``response_model`` (so the OpenAPI schema
still describes the answer, and the tests check the bodies against it) and return
:func:`json_response`, which FastAPI passes through untouched. The tables keep naive UTC; orjson
writes it with its offset (``2026-01-02T03:04:05.123456+00:00``, no fraction when it is zero), as
an OpenAPI date-time (RFC 3339) must be and as the pydantic models' ``UtcTime`` does.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


class JSONBytes(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NAIVE_UTC)


def json_response(body: Any, status_code: int = 200) -> Response:
    return JSONBytes(body, status_code=status_code)


__all__ = ["JSONBytes", "json_response"]
