"""The two Locust user classes: closed-model operators and the open-model driver.

* :class:`OperatorUser` (closed model): one Locust user = one operator. It takes a seat (persona +
  its own seeded account) on start, logs in, then loops: pick an operation by the persona's weights,
  make it, think for ``uniform(think_time_s)``. Throughput follows the server (a slow server gets
  fewer requests) — the classic closed loop.
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


class OperatorUser(FastHttpUser):
    """Closed model: one operator, logged in as its own account."""

    host = "http://127.0.0.1"
    network_timeout = 60.0
    connection_timeout = 60.0

    def wait_time(self) -> float:
        lo, hi = self.think
        return self.rng.uniform(lo, hi) if hi > 0 else 0.0

    def on_start(self) -> None:
        self.rt = _runtime(self.environment)
        seat = self.rt.next_seat()
        if seat is None:
            self.rt.stats["no_seat"] += 1
            raise StopUser("no free operator seat")
        persona, username = seat[0], seat[1]
        self.rng = seat_rng(self.rt.plan, seat)
        self.think = self.rt.plan.think(persona)
        self.session = self.rt.open_session(self.client, persona, username, self.rng, auth=seat[3:5] or None)
        if self.session is None:
            raise StopUser(f"operator {username} could not log in")
        self.chooser = self.rt.chooser(persona)

    @task
    def operate(self) -> None:
        if time.time() >= self.rt.plan.end:
            # The window is over: start nothing new; what is in flight finishes and is recorded
            # (stopping users mid-request would drop exactly the slow ones).
            raise StopUser("measured window over")
        self.rt.run_operation(self.session, next_operation(self.rng, self.chooser))


def watch_closed_drain(rt: Runtime, on_drained) -> None:
    """Closed model: report drained once the window is over and no operation is in flight."""
    while time.time() < rt.plan.end or (rt.inflight > 0 and time.time() < rt.plan.end + rt.plan.drain_s):
        gevent.sleep(0.05)
    rt.drained = True
    if on_drained:
        on_drained()


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

    logins = [gevent.spawn(make, seat) for seat in plan.seats]
    gevent.joinall(logins)
    sessions = [g.value for g in logins if g.value is not None]
    personas = sorted({s.persona for s in sessions})
    if not personas or not plan.rate:
        return
    # Only personas with a session in this process get arrivals (their mix renormalised).
    mix_w = [float(plan.mix.get(p, 1.0)) for p in personas]
    queues: dict[str, Queue] = {p: Queue() for p in personas}
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
            intended, op = item
            if stopped():
                # Waited until after the stop: not started then (the schedule drops the rest).
                unserved(s.persona, op, intended, time.time(), at_stop=True)
                continue
            inflight[id(s)] = (s.persona, op, intended)
            s.intended = intended
            try:
                rt.run_operation(s, op)
            finally:
                inflight.pop(id(s), None)

    servers = [gevent.spawn(serve, s) for s in sessions]
    idle = {p: sum(1 for s in sessions if s.persona == p) for p in personas}
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
            if busy + q.qsize() >= idle[persona]:
                rt.stats["arrivals_waited"] += 1
            q.put((t, rng.choices(names, weights)[0]))
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
        gevent.killall(servers, block=False)


__all__ = ["OpenDriver", "OperatorUser", "run_open", "watch_closed_drain"]
