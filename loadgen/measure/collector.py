"""Turns Locust ``request`` events into raw samples (and keeps running counts for progress).

Locust computes ``response_time`` as ``(perf_counter() at end - perf_counter() at send) * 1000``, a
float; we keep it as is (``service_ms``). In the open model the request's context carries its
*intended* start (the schedule time) and ``latency_ms = service_ms + (actual send - intended)``, so
time spent waiting for a free session behind a stalled server is part of the latency
(no coordinated omission). In the closed model intended = actual and the two are equal.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from loadgen.measure.samples import SampleBuffer


class SampleCollector:
    def __init__(self, *, worker: int, measure_start: float, sink: Callable[[dict], None] | None = None,
                 flush_rows: int = 20_000) -> None:
        self.worker = worker
        self.measure_start = measure_start
        self.sink = sink
        self.flush_rows = flush_rows
        self.buffer = SampleBuffer()
        self.total = 0
        self.errors = 0
        self.refusals = 0
        self.measured = 0

    def on_request(self, request_type: str = "", name: str = "", response_time: float = 0.0,
                   response_length: int = 0, response: Any = None, context: dict | None = None,
                   exception: Any = None, start_time: float | None = None, **_: Any) -> None:
        ctx = context or {}
        service = float(response_time or 0.0)
        start = start_time if start_time is not None else time.time() - service / 1000.0
        intended = ctx.get("intended")
        if intended is None:
            intended, latency = start, service
        else:
            latency = service + max(0.0, (start - intended) * 1000.0)
        status = int(getattr(response, "status_code", 0) or 0)
        outcome = ctx.get("outcome") or ("error" if exception else "success")
        self.record(ctx.get("persona", "-"), name, intended, start, latency, service, status, outcome)

    def record(self, persona: str, operation: str, intended: float, start: float, latency_ms: float,
               service_ms: float, status: int, outcome: str) -> None:
        phase = "warmup" if intended < self.measure_start else "measure"
        self.buffer.append(self.worker, persona, operation, intended, start, latency_ms, service_ms,
                           status, outcome, phase)
        self.total += 1
        if outcome == "error":
            self.errors += 1
        elif outcome == "refusal":
            self.refusals += 1
        if phase == "measure":
            self.measured += 1
        if self.sink is not None and len(self.buffer) >= self.flush_rows:
            self.flush()

    def record_unserved(self, persona: str, operation: str, intended: float, now: float) -> None:
        """An arrival still waiting (or in flight) when the drain deadline passed: an error whose
        latency is at least the time it has waited."""
        self.record(persona, operation, intended, now, (now - intended) * 1000.0, 0.0, 0, "error")

    def flush(self) -> None:
        if self.sink is not None and len(self.buffer):
            self.sink(self.buffer.take())

    def counts(self) -> dict[str, int]:
        return {"requests": self.total, "errors": self.errors, "refusals": self.refusals,
                "measured": self.measured}


__all__ = ["SampleCollector"]
