"""What one load-generator process holds while it runs a plan (attached to the Locust Environment)."""

from __future__ import annotations

import logging
import random
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
        "unserved": 0, "sessions": 0})
    drained: bool = False
    inflight: int = 0                              # operations started and not finished

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
        try:
            fn(s)
        except Exception as exc:  # noqa: BLE001 - a workload bug must not stop the step; counted
            self.stats["workload_exceptions"] += 1
            if self.stats["workload_exceptions"] <= 5:
                log.exception("operation %s raised %s", op_name, exc)
        finally:
            self.inflight -= 1

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
