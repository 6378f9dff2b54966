"""What one load-generator process holds while it runs a plan (attached to the Locust Environment).

One object for both kinds of users (issue 17, one workload path): the reference personas'
operators, and a plain locustfile's User classes (:mod:`loadgen.workload.locustfile`, whose
requests are their own). For both it keeps who started and who could not (``stats["sessions"]``,
``stats["login_failures"]``), what is in flight (``inflight``, ``running``) and the window's end:
nothing new after it, what is in flight drains for ``drain_s``, the rest is recorded as timeouts
(:meth:`Runtime.watch_drain`, :meth:`Runtime.abandon_inflight`).

For the reference operators it also keeps the measured window's closed-loop accounting for the
Little's-law check (``stats["window_*"]``, ``stats["operators_active"]``): operations started in the
window and their time, and the think time the operators really spent between operations (measured
by them, from one operation's end to the next one's start) next to the think time they drew. A
locustfile's think is its own ``wait_time``: no such check for it.
"""

from __future__ import annotations

import logging
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace

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
    next_seat: Callable[..., list | None]         # closed model: a seat for a new user (of a persona), never twice
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

    def watch_drain(self, on_drained: Callable[[], None] | None = None) -> None:
        """Greenlet: report drained once the window is over and nothing is in flight. What is still
        in flight ``drain_s`` after the window is recorded as a timeout error, not dropped."""
        import gevent

        while time.time() < self.plan.end or (self.inflight > 0 and time.time() < self.plan.end + self.plan.drain_s):
            gevent.sleep(0.05)
        if self.inflight > 0:
            self.abandon_inflight(time.time())
        self.drained = True
        if on_drained:
            on_drained()

    # -- a plain locustfile's users: their requests are their own --------------------------------
    def start_user(self, user, own_on_start) -> None:
        """Run a locustfile user's own ``on_start``, its client's requests followed
        (:meth:`track_client`). It could not start (a login failure) if ``on_start`` raised or a
        request in it failed (:meth:`note_request`); else it counts in ``stats["sessions"]`` and
        ``stats["sessions_by_class"]``. A step where fewer users started than planned is invalid,
        as for the reference operators (:func:`loadgen.measure.validity.closed_loop_problem`)."""
        self.track_client(user)
        user._jxc_starting = {"failed": False}
        try:
            own_on_start(user)
        except Exception:
            self.stats["login_failures"] += 1
            raise
        finally:
            failed, user._jxc_starting = user._jxc_starting["failed"], None
        self.stats["login_failures" if failed else "sessions"] += 1
        if not failed:
            by_class = self.stats.setdefault("sessions_by_class", {})
            by_class[type(user).__name__] = by_class.get(type(user).__name__, 0) + 1

    def track_client(self, user) -> None:
        """Route a locustfile user's client's requests through :meth:`_client_request`."""
        client = getattr(user, "client", None)
        own = getattr(client, "request", None)
        if own is None:
            return  # a User without an HTTP client: its own requests, its own events

        def request(method, url, *args, **kwargs):
            return self._client_request(user, own, method, url, *args, **kwargs)

        client.request = request

    def _client_request(self, user, own, method, url, *args, **kwargs):
        """One request of a locustfile user. Once ``plan.end`` has passed it is not sent (the user
        stops, :class:`locust.exception.StopUser`), as the reference operators start nothing new;
        else it is in flight (``running``) until it returns, so that the drain can give it up
        (:meth:`abandon_inflight`): its context is marked (``context["call"]``), so an answer that
        comes later is ignored, as :class:`loadgen.measure.collector.SampleCollector` reads it. A
        request whose ``context`` is passed positionally cannot be marked so; it is still counted
        in flight."""
        import gevent
        from locust.exception import StopUser

        now = time.time()
        if now >= self.plan.end and not getattr(user, "_jxc_starting", None):
            self.stats["stopped_at_end"] = self.stats.get("stopped_at_end", 0) + 1
            gevent.sleep(0)  # a task that swallows the exception and loops still lets the clock run
            raise StopUser("measured window over")
        flag: dict = {}
        if len(args) < 2:  # context not given positionally: mark the call, so a late answer is ignored
            ctx = dict(kwargs.get("context") or {})
            ctx["call"] = flag
            starting = getattr(user, "_jxc_starting", None)
            if starting is not None:
                ctx["jxc_starting"] = starting
            kwargs["context"] = ctx
        name = kwargs.get("name") or (args[0] if args else None) or str(url)
        key = id(flag)
        # shaped as a Session in flight (persona, current), so abandon_inflight serves both
        self.running[key] = SimpleNamespace(persona=type(user).__name__,
                                            current={"op": name, "start": now, "intended": now, "flag": flag})
        self.inflight += 1
        try:
            return own(method, url, *args, **kwargs)
        finally:
            self.inflight -= 1
            self.running.pop(key, None)

    def note_request(self, context: dict | None = None, exception=None, **_) -> None:
        """Locust's request event: a failed request while a locustfile user starts marks its start
        failed."""
        starting = (context or {}).get("jxc_starting")
        if exception is not None and starting is not None:
            starting["failed"] = True

    def chooser(self, persona: str) -> tuple[list[str], list[float]]:
        w = self.workload.personas[persona].weights(self.plan.weights.get(persona))
        names = [n for n, x in w.items() if x > 0]
        return names, [w[n] for n in names]


class Seats:
    """The closed model's seats, each handed out once: the next in the plan's order, or (a persona's
    class asking, :class:`loadgen.workload.users.PersonaUser`) the next of that persona, so a
    class's i-th user is its persona's i-th seat."""

    def __init__(self, seats: list[list]) -> None:
        self.seats = list(seats)
        self.taken = [False] * len(self.seats)
        self.next_any = 0
        self.of: dict[str, deque] = {}
        for i, seat in enumerate(self.seats):
            self.of.setdefault(seat[0], deque()).append(i)

    def take(self, persona: str | None = None) -> list | None:
        if persona is None:
            while self.next_any < len(self.seats) and self.taken[self.next_any]:
                self.next_any += 1
            if self.next_any == len(self.seats):
                return None
            i = self.next_any
        else:
            q = self.of.get(persona) or deque()
            while q and self.taken[q[0]]:
                q.popleft()
            if not q:
                return None
            i = q.popleft()
        self.taken[i] = True
        return self.seats[i]


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


__all__ = ["LoginFailed", "Runtime", "Seats", "next_operation", "seat_rng"]
