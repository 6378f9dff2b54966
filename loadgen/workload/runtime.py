"""What one load-generator process holds while it runs a plan (attached to the Locust Environment).

Besides the plan and the collector it keeps the measured window's closed-loop accounting for the
Little's-law check (``stats["window_*"]``, ``stats["operators_active"]``): operations started in the
window and their time, and the think time the operators really spent between operations (measured
by them, from one operation's end to the next one's start) next to the think time they drew.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from loadgen.measure.collector import SampleCollector
from loadgen.workload.plan import LoadPlan
from loadgen.workload.session import Session
from loadgen.workload.spec import Workload
from loadgen.workload.staffing import operator_seed

log = logging.getLogger("jxcbench.load")


@dataclass
class Runtime:
    plan: LoadPlan
    workload: Workload
    collector: SampleCollector
    next_seat: Callable[[], list | None]          # closed model: a seat for a new user, never twice
    stats: dict = field(default_factory=lambda: {
        "workload_exceptions": 0, "login_failures": 0, "no_seat": 0,
        "backlog_max": 0, "arrivals": 0, "arrivals_waited": 0, "scheduler_lag_max_ms": 0.0,
        "unserved": 0, "sessions": 0, "timed_out_at_end": 0, "operators_active": 0,
        "window_ops": 0, "window_op_s": 0.0, "window_thinks": 0, "window_think_s": 0.0,
        "window_think_planned_s": 0.0})
    drained: bool = False
    inflight: int = 0                              # operations started and not finished
    running: dict = field(default_factory=dict)    # id(session) -> session, while an operation runs
    active: set = field(default_factory=set)       # ids of sessions that worked in the window
    queued: Callable[[], int] = lambda: 0          # open model: arrivals waiting for a session

    def pending(self) -> int:
        """Requests the window holds that have not finished: in flight, and (open model) queued."""
        return self.inflight + self.queued()

    def open_session(self, client, persona: str, username: str | None, rng: random.Random,
                     auth: list | None = None) -> Session | None:
        """A session logged in as ``username`` and prepared; None (counted) if login failed.
        ``auth``: ``[token, operator]`` of a login made before the load (then no login request)."""
        s = Session(client, persona, username=username, rng=rng,
                    refusal_statuses=self.workload.refusal_statuses)
        s.state["ctx"] = self.plan.context
        try:
            if auth:
                s.set_token(auth[0])
                s.operator = auth[1] or {}
            elif self.workload.login is not None and username is not None:
                self.workload.login(s, username, self.plan.password or "")
            if self.workload.prepare is not None:
                self.workload.prepare(s)
        except LoginFailed as exc:
            self.stats["login_failures"] += 1
            log.error("operator %s (%s) could not start: %s", username, persona, exc)
            return None
        self.stats["sessions"] += 1
        return s

    def run_operation(self, s: Session, op_name: str) -> None:
        fn = self.workload.personas[s.persona].operations[op_name][1]
        self.inflight += 1
        self.running[id(s)] = s
        t0 = time.time()
        try:
            fn(s)
        except Exception as exc:  # noqa: BLE001 - a workload bug must not stop the step; counted
            self.stats["workload_exceptions"] += 1
            if self.stats["workload_exceptions"] <= 5:
                log.exception("operation %s raised %s", op_name, exc)
        finally:
            self.inflight -= 1
            self.running.pop(id(s), None)
            self._count_operation(s, t0, time.time())

    def _count_operation(self, s: Session, t0: float, t1: float) -> None:
        start, end = self.plan.measure_start, self.plan.end
        if t0 < end and t1 > start:
            self._active(s)  # worked in the window (also: in flight across its start)
        if start <= t0 < end:
            self.stats["window_ops"] += 1
            self.stats["window_op_s"] += t1 - t0

    def _active(self, s: Session) -> None:
        if id(s) not in self.active:
            self.active.add(id(s))
            self.stats["operators_active"] = len(self.active)

    def count_think(self, s: Session, planned_s: float, slept_s: float, next_start: float) -> None:
        """A think between two operations of one operator: drawn ``planned_s``, really ``slept_s``
        (up to ``next_start``, the next operation's start, or the moment it found the window over);
        counted when that start is in the window. An operator thinking across the window's start or
        end worked in it too."""
        if next_start > self.plan.measure_start and next_start - slept_s < self.plan.end:
            self._active(s)
        if self.plan.measure_start <= next_start < self.plan.end:
            self.stats["window_thinks"] += 1
            self.stats["window_think_s"] += slept_s
            self.stats["window_think_planned_s"] += planned_s

    def abandon_inflight(self, now: float) -> int:
        """Record every request still in flight as a timeout error (latency: the time it has waited
        so far) and ignore its answer should it come; returns how many. Called when the drain bound
        after the window has passed: the slowest requests are exactly the ones that would vanish."""
        n = 0
        for s in list(self.running.values()):
            cur = s.current
            if cur is None or cur["flag"].get("abandoned"):
                continue
            cur["flag"]["abandoned"] = True
            self.collector.record_timeout(s.persona, cur["op"], cur["intended"], cur["start"], now)
            n += 1
        self.stats["timed_out_at_end"] += n
        return n

    def chooser(self, persona: str) -> tuple[list[str], list[float]]:
        w = self.workload.personas[persona].weights(self.plan.weights.get(persona))
        names = [n for n, x in w.items() if x > 0]
        return names, [w[n] for n in names]


def seat_rng(plan: LoadPlan, seat: list) -> random.Random:
    """An operator's own random choices (which operation, which customer, what it types, how long it
    thinks): from the plan's seed, the level and the operator's index among its persona's accounts —
    the same in every process and run (never ``hash()`` of strings, which Python salts per process)."""
    persona, index = seat[0], (seat[2] if len(seat) > 2 else 0)
    return random.Random(operator_seed(plan.seed, plan.customers, persona, index))


def next_operation(rng: random.Random, chooser: tuple[list[str], list[float]]) -> str:
    """The operator's next operation, by its persona's weights."""
    names, weights = chooser
    return rng.choices(names, weights)[0]


class LoginFailed(Exception):
    """An operator could not log in or prepare (wrong password, missing account, server down)."""


__all__ = ["LoginFailed", "Runtime", "next_operation", "seat_rng"]
