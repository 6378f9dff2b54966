"""The Locust user classes: closed-model operators, one class per persona, and the open-model driver.

* :class:`PersonaUser` (closed model), made one subclass per persona by :func:`persona_classes`
  (Locust's ``fixed_count``: the persona's seats): one Locust user = one operator. It takes its
  persona's next seat (its own seeded account) on start, logs in, then loops: pick an operation by
  the persona's weights, make it, think for ``uniform(think_time_s)``. Throughput follows the server
  (a slow server gets fewer requests) — the classic closed loop. The reference personas are so User
  classes like a plain locustfile's, run through the same engine entry
  (:func:`loadgen.workload.engine.run_users`; issue 17, one workload path).
* :class:`OpenDriver` (open model): one per load-generator process. It logs in its share of the
  seats as a pool of sessions, then issues arrivals on a schedule (Poisson or constant, at the plan's
  rate) whatever the server does. Each arrival picks a persona by the mix and waits for an idle
  session of that persona (bounded concurrency; the wait is counted as backlog and is part of the
  latency, measured from the arrival's intended start). After the window the backlog may drain for
  ``drain_s``; what is still waiting or in flight then is recorded as an error with the time it has
  waited, so a server that stops answering cannot make requests disappear. The schedule reads the
  window's end afresh (``plan.end``): when the step is stopped early (``plan.stop_at``) arrivals end
  at once; what is in flight finishes as at a normal end, and the backlog is not started after the
  stop: it is recorded then as unserved (an error with the time it had waited), as at the drain
  deadline.
"""

from __future__ import annotations

import math
import random
import time

import gevent
from gevent.queue import Queue
from locust import User, task
from locust.contrib.fasthttp import FastHttpSession, FastHttpUser
from locust.exception import StopUser

from loadgen.workload.runtime import Runtime, next_operation, seat_rng
from loadgen.workload.staffing import operator_seed


def _runtime(env) -> Runtime:
    rt = getattr(env, "jxc", None)
    if rt is None:
        raise StopUser("no load plan received")
    return rt


class PersonaUser(FastHttpUser):
    """Closed model, one class per persona (:func:`persona_classes`): one operator of the class's
    ``persona``, logged in as its own account (each user takes its persona's next seat, never one
    taken before), then loops: pick an operation by the persona's weights from the seat's own seeded
    rng, make it, think ``uniform(think_time_s)`` drawn from the same rng — the same requests for the
    same seed, level and seat whatever process runs it."""

    abstract = True
    persona = ""
    host = "http://127.0.0.1"
    network_timeout = 60.0
    connection_timeout = 60.0

    def wait_time(self) -> float:
        lo, hi = self.think
        self._think_planned = self.rng.uniform(lo, hi) if hi > 0 else 0.0
        return self._think_planned * self.rt.plan.think_scale  # think_scale: a test hook, 1.0 in use

    def on_start(self) -> None:
        self.rt = _runtime(self.environment)
        seat = self.rt.next_seat(self.persona)
        if seat is None:
            self.rt.stats["no_seat"] += 1
            raise StopUser(f"no free {self.persona} seat")
        username = seat[1]
        self.rng = seat_rng(self.rt.plan, seat)
        self.think = self.rt.plan.think(self.persona)
        self.session = self.rt.open_session(self.client, self.persona, username, self.rng, auth=seat[3:5] or None)
        if self.session is None:
            raise StopUser(f"operator {username} could not log in")
        self.chooser = self.rt.chooser(self.persona)
        self._last_end: float | None = None
        self._think_planned = 0.0

    @task
    def operate(self) -> None:
        now = time.time()
        if self._last_end is not None:
            # The think really spent since the last operation, as this operator measures it.
            self.rt.count_think(self.session, self._think_planned, now - self._last_end, now)
        if now >= self.rt.plan.end:
            # The window is over: start nothing new; what is in flight finishes and is recorded
            # (stopping users mid-request would drop exactly the slow ones).
            raise StopUser("measured window over")
        self.rt.run_operation(self.session, next_operation(self.rng, self.chooser))
        self._last_end = time.time()


def persona_classes(workload_ref: str, seats: list[list]) -> list[type]:
    """One :class:`PersonaUser` class per persona of the workload that has seats, named as the
    persona, with Locust's ``fixed_count`` its number of seats (the staffing's online count of the
    role): the same classes in every process, since a worker finds a class by its name."""
    from loadgen.workload.spec import load_workload

    personas = load_workload(workload_ref).personas
    counts: dict[str, int] = {}
    for seat in seats:
        if seat[0] not in personas:
            raise ValueError(f"seat {seat[:2]}: persona {seat[0]!r} is not one of workload {workload_ref!r}'s "
                             f"({', '.join(personas)})")
        counts[seat[0]] = counts.get(seat[0], 0) + 1
    return [type(name, (PersonaUser,), {"persona": name, "fixed_count": counts[name], "abstract": False,
                                        "__module__": __name__})
            for name in personas if counts.get(name)]


class OpenDriver(User):
    """Open model: a schedule of arrivals served by a pool of logged-in sessions."""

    host = "http://127.0.0.1"

    def wait_time(self) -> float:
        return 3600.0

    @task
    def drive(self) -> None:
        rt = _runtime(self.environment)
        try:
            run_open(rt, self.environment)
        finally:
            rt.drained = True
            done = getattr(self.environment, "jxc_on_drained", None)
            if done:
                done()
        gevent.sleep(3600)  # stay idle until the runner stops us


NAP_S = 0.05  # the schedule sleeps in naps this long at most: a stop ends it that soon
POOL_CHECK_S = 0.5  # how often the open model's pool is resized


class SessionPool:
    """The open model's logged-in sessions per persona, sized by Little's law.

    With ``plan.pool_headroom`` > 0 a persona starts with ``max(1, ceil(rate x share x
    plan.pool_initial_response_s x headroom))`` sessions (at least one for every persona with
    seats), and every ``POOL_CHECK_S`` the keeper grows it to ``rate x share x R x headroom`` where R
    is the persona's measured response time (a moving mean of finished operations, or the age of
    those in flight when that is longer), logging in more of the plan's seats while any are left.
    With headroom 0 every seat is logged in at the start (a fixed pool). Time an arrival waits for an
    idle session is the generator's, recorded apart (``pool_wait_ms``), summarised in :meth:`report`.
    """

    def __init__(self, plan, make) -> None:
        self.plan, self.make = plan, make
        self.reserve: dict[str, list] = {}
        for seat in plan.seats:
            self.reserve.setdefault(seat[0], []).append(seat)
        self.sessions: dict[str, list] = {p: [] for p in self.reserve}
        self.pending: dict[str, int] = dict.fromkeys(self.reserve, 0)
        self.response_s: dict[str, float | None] = dict.fromkeys(self.reserve)
        self.busy_since: dict[int, tuple[str, float]] = {}  # session -> (persona, start of its operation)
        self.finished: dict[str, int] = {}  # operations finished since the keeper's last look
        self.waits: list[float] = []          # measured window, ms, every arrival served
        self.exhausted = False                # wanted more sessions than the plan has seats
        self.on_new = lambda s: None
        total = sum(float(plan.mix.get(p, 1.0)) for p in self.reserve) or 1.0
        self.rate = {p: (plan.rate or 0.0) * float(plan.mix.get(p, 1.0)) / total for p in self.reserve}

    def target(self, persona: str, response_s: float) -> int:
        return max(1, math.ceil(self.rate[persona] * response_s * self.plan.pool_headroom - 1e-9))

    def start(self) -> list:
        """Log in the initial pool (every seat when the pool is fixed); the sessions that worked."""
        want = {p: (len(seats) if self.plan.pool_headroom <= 0 else self.target(p, self.plan.pool_initial_response_s))
                for p, seats in self.reserve.items()}
        logins = [gevent.spawn(self.make, seat) for p in self.reserve for seat in self._take(p, want[p])]
        gevent.joinall(logins)
        out = [g.value for g in logins if g.value is not None]
        for s in out:
            self.sessions[s.persona].append(s)
        return out

    def _take(self, persona: str, n: int) -> list:
        seats, self.reserve[persona] = self.reserve[persona][:n], self.reserve[persona][n:]
        return seats

    def size(self, persona: str) -> int:
        return len(self.sessions.get(persona, []))

    def begin(self, s) -> None:
        self.busy_since[id(s)] = (s.persona, time.time())

    def end(self, s) -> None:
        persona, t0 = self.busy_since.pop(id(s), (s.persona, time.time()))
        self.finished[persona] = self.finished.get(persona, 0) + 1
        seconds, prev = time.time() - t0, self.response_s.get(persona)
        self.response_s[persona] = seconds if prev is None else 0.8 * prev + 0.2 * seconds

    def estimate(self, persona: str) -> float:
        """The persona's response time: a moving mean of finished operations; when none finished
        since the last look, the mean age of those in flight if that is longer (a server that stops
        answering finishes nothing, and its arrivals need sessions all the same)."""
        measured = self.response_s.get(persona) or self.plan.pool_initial_response_s
        finished, self.finished[persona] = self.finished.get(persona, 0), 0
        if finished:
            return measured
        ages = [time.time() - t for p, t in self.busy_since.values() if p == persona]
        return max(measured, sum(ages) / len(ages) if ages else 0.0)

    def can_grow(self, persona: str) -> bool:
        """Whether the persona's pool may still grow: a wait for a session is then the generator's
        (it lags behind the measured response time) and is kept out of the latency. A pool that
        cannot grow (fixed, or out of seats) is a team of that size: arrivals queue for the system,
        and the wait is part of their latency (still recorded apart in ``pool_wait_ms``)."""
        return self.plan.pool_headroom > 0 and bool(self.reserve.get(persona))

    def waited(self, persona: str, ms: float, measured: bool) -> None:
        if ms >= 1.0 and not self.reserve.get(persona):
            self.exhausted = True  # it waited and no seat was left to grow the pool with
        if measured:
            self.waits.append(ms)

    def keep(self, running) -> None:
        """Grow each persona's pool to its Little's-law size while the schedule runs."""
        if self.plan.pool_headroom <= 0:
            return
        while running():
            gevent.sleep(POOL_CHECK_S)
            for p in self.sessions:
                need = self.target(p, self.estimate(p)) - self.size(p) - self.pending[p]
                if need <= 0:
                    continue
                seats = self._take(p, need)
                if len(seats) < need:
                    self.exhausted = True
                for seat in seats:
                    self.pending[p] += 1
                    gevent.spawn(self._grow, p, seat)

    def _grow(self, persona: str, seat) -> None:
        try:
            s = self.make(seat)
        finally:
            self.pending[persona] -= 1
        if s is not None:
            self.sessions[persona].append(s)
            self.on_new(s)

    def report(self) -> dict:
        w = sorted(self.waits)

        def q(f: float) -> float | None:
            return round(w[min(len(w) - 1, int(f * len(w)))], 3) if w else None

        return {"sessions": {p: len(v) for p, v in self.sessions.items()},
                "seats_left": {p: len(v) for p, v in self.reserve.items()},
                "response_s": {p: (round(v, 4) if v is not None else None) for p, v in self.response_s.items()},
                "headroom": self.plan.pool_headroom, "exhausted": self.exhausted,
                "measured_arrivals": len(w), "waited": sum(1 for x in w if x >= 1.0),
                "wait_ms_p50": q(0.5), "wait_ms_p99": q(0.99), "wait_ms_max": w[-1] if w else None}


def run_open(rt: Runtime, env) -> None:
    plan = rt.plan
    rng = random.Random(operator_seed(plan.seed, plan.customers, "open-schedule", plan.worker_index))

    def stopped() -> bool:
        """The step was stopped early and its (shortened) window is over."""
        return plan.stop_at is not None and time.time() >= plan.end

    def unserved(persona: str, op: str, intended: float, now: float, *, at_stop: bool = False) -> None:
        rt.collector.record_unserved(persona, op, intended, now)
        rt.stats["unserved"] += 1
        if at_stop:
            rt.stats["unserved_at_stop"] = rt.stats.get("unserved_at_stop", 0) + 1

    def make(seat):
        persona, username = seat[0], seat[1]
        client = FastHttpSession(plan.base_url, request_event=env.events.request, user=None,
                                 network_timeout=plan.request_timeout_s,
                                 connection_timeout=plan.request_timeout_s)
        return rt.open_session(client, persona, username, seat_rng(plan, seat), auth=seat[3:5] or None)

    pool = SessionPool(plan, make)
    sessions = pool.start()
    personas = sorted({s.persona for s in sessions})
    if not personas or not plan.rate:
        return
    # Only personas with a session in this process get arrivals (their mix renormalised).
    mix_w = [float(plan.mix.get(p, 1.0)) for p in personas]
    queues: dict[str, Queue] = {p: Queue() for p in personas}
    rt.queued = lambda: sum(x.qsize() for x in queues.values())
    choosers = {p: rt.chooser(p) for p in personas}
    inflight: dict[int, tuple] = {}

    def drop_backlog() -> None:
        """After a stop: what is still waiting is not started; unserved, as at the drain deadline."""
        now = time.time()
        for p, q in queues.items():
            while q.qsize():
                item = q.get_nowait()
                if item is not None:
                    unserved(p, item[1], item[0], now, at_stop=True)

    def serve(s) -> None:
        q = queues[s.persona]
        while True:
            item = q.get()
            if item is None:
                return
            intended, op, queued = item
            if stopped():
                # Waited until after the stop: not started then (the schedule drops the rest).
                unserved(s.persona, op, intended, time.time(), at_stop=True)
                continue
            inflight[id(s)] = (s.persona, op, intended)
            s.intended = intended
            s.pool_wait_ms = max(0.0, (time.time() - queued) * 1000.0)
            s.pool_wait_apart = pool.can_grow(s.persona)
            pool.waited(s.persona, s.pool_wait_ms, intended >= plan.measure_start)
            pool.begin(s)
            try:
                rt.run_operation(s, op)
            finally:
                inflight.pop(id(s), None)
                pool.end(s)

    servers = [gevent.spawn(serve, s) for s in sessions]
    pool.on_new = lambda s: servers.append(gevent.spawn(serve, s)) if s.persona in queues else None
    keeper = gevent.spawn(pool.keep, lambda: time.time() < plan.end)
    try:
        t = max(time.time(), plan.t0 or time.time())
        while True:
            t += rng.expovariate(plan.rate) if plan.arrival == "poisson" else 1.0 / plan.rate
            # plan.end is read afresh each time: a stop (plan.stop_at) moves it earlier.
            if t >= plan.end:
                break
            delay = t - time.time()
            if delay > 0:
                # In naps, so that a stop during a long gap ends the schedule at once.
                while t < plan.end and (delay := t - time.time()) > 0:
                    gevent.sleep(min(delay, NAP_S))
                if t >= plan.end:
                    break
            else:
                rt.stats["scheduler_lag_max_ms"] = max(rt.stats["scheduler_lag_max_ms"], -delay * 1000.0)
            persona = rng.choices(personas, mix_w)[0]
            names, weights = choosers[persona]
            q = queues[persona]
            busy = sum(1 for v in inflight.values() if v[0] == persona)
            if busy + q.qsize() >= pool.size(persona):
                rt.stats["arrivals_waited"] += 1
            q.put((t, rng.choices(names, weights)[0], time.time()))
            rt.stats["arrivals"] += 1
            backlog = sum(x.qsize() for x in queues.values())
            if backlog > rt.stats["backlog_max"]:
                rt.stats["backlog_max"] = backlog
        # The last arrival may come before the end: a stop can still arrive while we drain. The
        # deadline follows the current end; after a stop only what is in flight may finish.
        while inflight or any(x.qsize() for x in queues.values()):
            if stopped():
                drop_backlog()
                if not inflight:
                    break
            if time.time() >= plan.end + plan.drain_s:
                break
            gevent.sleep(0.05)
    finally:
        now = time.time()
        for p, q in queues.items():
            while q.qsize():
                item = q.get_nowait()
                unserved(p, item[1], item[0], now)
        for persona, op, intended in list(inflight.values()):
            unserved(persona, op, intended, now)
        inflight.clear()
        gevent.killall([keeper, *servers], block=False)
        rt.stats["pool"] = pool.report()


__all__ = ["OpenDriver", "PersonaUser", "SessionPool", "persona_classes", "run_open"]
