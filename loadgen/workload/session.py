"""One logged-in operator: an HTTP client, a bearer token, what it has learnt, and how it times.

``Session.call`` makes one named request through a Locust ``FastHttpSession`` so Locust fires its
``request`` event with the exact ``response_time`` (perf_counter milliseconds); the event's
``context`` carries the persona, the intended start (open model) and the outcome, which
:mod:`loadgen.measure.collector` turns into a raw sample.

Outcomes: an expected status is a ``success``; a 409 on an operation that can be refused (out of
stock, over quota, credit limit, already received) is a ``refusal`` — the system answered correctly
"no", which counts in throughput but not in goodput, and never as an error; anything else (other
4xx, 5xx, no response) is an ``error``.
"""

from __future__ import annotations

import random
import time
from typing import Any


class Session:
    def __init__(self, client: Any, persona: str, *, username: str | None = None,
                 rng: random.Random | None = None, refusal_statuses: tuple[int, ...] = (409,)) -> None:
        self.client = client
        self.persona = persona
        self.username = username
        self.rng = rng or random.Random()
        self.refusal_statuses = refusal_statuses
        self.headers: dict[str, str] = {}
        self.state: dict[str, Any] = {}       # ids the operator has seen, for later operations
        self.operator: dict[str, Any] = {}    # the login response's operator object
        self.intended: float | None = None    # set by the open model for the next call
        # The request in flight: {"op", "start", "intended", "flag"}; ``flag`` travels in the request's
        # context, so a request given up at the end of the window (recorded as a timeout by
        # Runtime.abandon_inflight) is not recorded a second time if its answer arrives after all.
        self.current: dict | None = None
        self.pool_wait_ms = 0.0               # open model: the next call's wait for this session
        self.pool_wait_apart = False          # ... and whether it stays out of the latency

    def set_token(self, token: str) -> None:
        self.headers = {"Authorization": f"Bearer {token}"}

    def call(self, op: str, method: str, path: str, *, json: Any = None, params: dict | None = None,
             ok: tuple[int, ...] = (200, 201), refusable: bool = False, parse: bool = True) -> tuple[int, Any]:
        """Make one request named ``op``; return (status, parsed JSON body or None). The whole body is
        read either way (its transfer is part of the latency); ``parse=False`` skips decoding it."""
        if params:
            from urllib.parse import urlencode

            path = f"{path}?{urlencode(params)}"
        ctx: dict[str, Any] = {"persona": self.persona, "call": {}}
        if self.intended is not None:
            ctx["intended"] = self.intended
            ctx["pool_wait_ms"] = self.pool_wait_ms
            ctx["pool_wait_apart"] = self.pool_wait_apart
            self.intended = None  # only the first request of an operation was scheduled
            self.pool_wait_ms, self.pool_wait_apart = 0.0, False
        start = time.time()
        self.current = {"op": op, "start": start, "intended": ctx.get("intended", start), "flag": ctx["call"]}
        try:
            return self._call(op, method, path, ctx, json, ok, refusable, parse)
        finally:
            self.current = None

    def _call(self, op: str, method: str, path: str, ctx: dict, json: Any, ok: tuple[int, ...],
              refusable: bool, parse: bool) -> tuple[int, Any]:
        with self.client.request(method, path, name=op, json=json, headers=self.headers,
                                 catch_response=True, context=ctx) as r:
            status = int(getattr(r, "status_code", 0) or 0)
            body = None
            # Locust may have copied our context into a new dict: mark the one the event carries.
            ctx = r.request_meta["context"]
            if status in ok:
                ctx["outcome"] = "success"
                r.success()
                try:
                    body = r.json() if parse else None
                except Exception:  # noqa: BLE001 - an unparsable body on success is still a success
                    body = None
            elif refusable and status in self.refusal_statuses:
                ctx["outcome"] = "refusal"
                r.success()
            else:
                ctx["outcome"] = "error"
                r.failure(f"HTTP {status}" if status else f"no response: {getattr(r, 'error', '')}")
        return status, body


__all__ = ["Session"]
