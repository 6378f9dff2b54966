"""Turns Locust ``request`` events into raw samples (and keeps running counts for progress).

Locust computes ``response_time`` as ``(perf_counter() at end - perf_counter() at send) * 1000``, a
float; we keep it as is (``service_ms``). In the open model the request's context carries its
*intended* start (the schedule time) and ``latency_ms = service_ms + (actual send - intended)``, so
time spent waiting for a free session behind a stalled server is part of the latency (no coordinated
omission) — except a wait for a pooled session while the pool could still grow
(:class:`loadgen.workload.users.SessionPool`): that wait is the generator's, lagging behind the
response time it measures, and is left out. Every wait is recorded apart (``pool_wait_ms``). In the
closed model intended = actual and the two are equal.

:class:`WindowTally` keeps, apart from the raw samples, what the step process needs once a second to
decide whether the SLO is already lost (:class:`loadgen.workload.load_run.EarlyStop`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from loadgen.measure.samples import SampleBuffer


# Not counted with the workload's operations: each operator logs in once, during the warm-up. Defined
# here, in the light module every load-generator process imports; loadgen.measure.percentiles (which
# needs pandas) takes it from here.
EXCLUDED_OPERATIONS = ("login",)


class WindowTally:
    """Measured-window latencies (ms, per operation) and errors that finished since the last
    :meth:`take`, counted exactly as the step's figures count them: workload operations only, any
    outcome; refusals (an expected business 409) are answers, not errors."""

    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = {}
        self.errors = 0
        # Epoch seconds up to which every finished request is in: None = up to now (this process
        # made them); the master sets it from the workers' shipments.
        self.upto: float | None = None

    def add(self, operation: str, latency_ms: float, outcome: str) -> None:
        if operation in EXCLUDED_OPERATIONS:
            return
        # 1 µs is the resolution step.json reports; it keeps the progress lines short.
        self.latencies.setdefault(operation, []).append(round(latency_ms, 3))
        if outcome == "error":
            self.errors += 1

    def add_columns(self, cols: dict[str, list[Any]]) -> None:
        """The measured rows of a batch of raw-sample columns (what a worker ships the master)."""
        for op, lat, outcome, phase in zip(cols["operation"], cols["latency_ms"], cols["outcome"], cols["phase"],
                                           strict=True):
            if phase == "measure":
                self.add(op, lat, outcome)

    def take(self) -> dict[str, Any]:
        """``{"lat": {operation: [ms, ...]}, "errors": n}``, leaving the tally empty."""
        out = {"lat": self.latencies, "errors": self.errors}
        self.latencies, self.errors = {}, 0
        return out


class SampleCollector:
    def __init__(self, *, worker: int, measure_start: float, sink: Callable[[dict], None] | None = None,
                 flush_rows: int = 20_000, tally: WindowTally | None = None) -> None:
        self.worker = worker
        self.tally = tally
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
        if (ctx.get("call") or {}).get("abandoned"):
            return  # already recorded as a timeout at the end of the window (Runtime.abandon_inflight)
        service = float(response_time or 0.0)
        start = start_time if start_time is not None else time.time() - service / 1000.0
        intended = ctx.get("intended")
        pool_wait = float(ctx.get("pool_wait_ms") or 0.0)
        if intended is None:
            intended, latency = start, service
        else:
            # a wait for a pooled session that could have grown is the generator's: recorded apart
            # (pool_wait_ms) and kept out of the latency
            apart = pool_wait if ctx.get("pool_wait_apart") else 0.0
            latency = service + max(0.0, (start - intended) * 1000.0 - apart)
        status = int(getattr(response, "status_code", 0) or 0)
        outcome = ctx.get("outcome") or ("error" if exception else "success")
        self.record(ctx.get("persona", "-"), name, intended, start, latency, service, status, outcome,
                    pool_wait_ms=pool_wait)

    def record(self, persona: str, operation: str, intended: float, start: float, latency_ms: float,
               service_ms: float, status: int, outcome: str, *, pool_wait_ms: float = 0.0) -> None:
        phase = "warmup" if intended < self.measure_start else "measure"
        self.buffer.append(self.worker, persona, operation, intended, start, latency_ms, service_ms,
                           status, outcome, phase, pool_wait_ms)
        self.total += 1
        if outcome == "error":
            self.errors += 1
        elif outcome == "refusal":
            self.refusals += 1
        if phase == "measure":
            self.measured += 1
            if self.tally is not None:
                self.tally.add(operation, latency_ms, outcome)
        if self.sink is not None and len(self.buffer) >= self.flush_rows:
            self.flush()

    def record_unserved(self, persona: str, operation: str, intended: float, now: float) -> None:
        """An arrival still waiting (or in flight) when the drain deadline passed: an error whose
        latency is at least the time it has waited."""
        self.record(persona, operation, intended, now, (now - intended) * 1000.0, 0.0, 0, "error")

    def record_timeout(self, persona: str, operation: str, intended: float, start: float, now: float) -> None:
        """A request still in flight when the window's drain bound passed: an error whose latency
        is at least the time it has waited (the slowest requests must not vanish)."""
        self.record(persona, operation, intended, start, (now - intended) * 1000.0, (now - start) * 1000.0, 0, "error")

    def flush(self) -> None:
        if self.sink is not None and len(self.buffer):
            self.sink(self.buffer.take())

    def counts(self) -> dict[str, int]:
        return {"requests": self.total, "errors": self.errors, "refusals": self.refusals,
                "measured": self.measured}


__all__ = ["EXCLUDED_OPERATIONS", "SampleCollector", "WindowTally"]
