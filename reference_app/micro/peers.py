"""Calls between services: one pooled ``httpx.AsyncClient`` per peer, with timeouts.

A peer's refusal (4xx) comes back as :class:`PeerRefused` carrying its status and body, which the
calling service answers as is, so a client sees the same 404/409/422 as from the monolith. A peer
that cannot be reached, times out or fails (5xx) is :class:`PeerUnavailable`: 503 with Retry-After.
:class:`PeerTimeout` is kept apart because after it the remote step *may* have happened (what the
saga compensates).

Calls made on behalf of an operator carry the operator's own bearer token, so the peer applies the
same permissions as the monolith; calls a service makes on its own (compensations, recovery) carry
the internal token derived from the signing key the three databases share.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import httpx

from reference_app.domain import DomainError

INTERNAL_HEADER = "x-jxc-internal"


class PeerRefused(DomainError):
    """A peer answered 4xx: answered to the client with the peer's own status and body."""

    def __init__(self, service: str, status: int, body: Any) -> None:
        super().__init__(f"{service} refused: {status} {body}")
        self.service, self.status, self.body = service, status, body


class PeerUnavailable(Exception):
    """A peer could not answer (connection refused, reset, 5xx)."""

    def __init__(self, service: str, detail: str) -> None:
        super().__init__(f"service {service} unavailable: {detail}")
        self.service = service


class PeerTimeout(PeerUnavailable):
    """No answer within the timeout: the call may or may not have taken effect."""


def internal_token(secret: str) -> str:
    return hmac.new(secret.encode(), b"jxc-internal-call", hashlib.sha256).hexdigest()


class Peer:
    """One service as seen by another: ``await peer.call("POST", "/internal/...", json=...)``."""

    def __init__(self, name: str, base_url: str | None = None, *, transport: httpx.AsyncBaseTransport | None = None,
                 timeout_s: float = 5.0, connections: int = 64) -> None:
        self.name = name
        self.client = httpx.AsyncClient(
            base_url=base_url or f"http://{name}", transport=transport,
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 2.0)),
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections))

    async def call(self, method: str, path: str, *, token: str | None = None, internal: str | None = None,
                   json: Any = None, params: dict[str, Any] | None = None) -> Any:
        headers = {}
        if token:
            headers["authorization"] = f"Bearer {token}"
        if internal:
            headers[INTERNAL_HEADER] = internal
        try:
            r = await self.client.request(method, path, json=json, params=params, headers=headers)
        except httpx.TimeoutException as exc:
            raise PeerTimeout(self.name, f"{exc.__class__.__name__} on {method} {path}") from exc
        except httpx.TransportError as exc:
            raise PeerUnavailable(self.name, f"{exc.__class__.__name__} on {method} {path}") from exc
        if r.status_code >= 500:
            raise PeerUnavailable(self.name, f"{r.status_code} on {method} {path}")
        body = r.json() if r.content else None
        if r.status_code >= 400:
            raise PeerRefused(self.name, r.status_code, body)
        return body

    async def aclose(self) -> None:
        await self.client.aclose()


__all__ = ["Peer", "PeerRefused", "PeerUnavailable", "PeerTimeout", "INTERNAL_HEADER", "internal_token"]
