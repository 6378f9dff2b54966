"""Runs a load plan with Locust as a library, in this process (and worker processes).

Process layout:

* ``processes == 1`` and no remote workers: a Locust ``LocalRunner`` here.
* otherwise a ``MasterRunner`` here, ``processes`` local worker processes started by us
  (``python -m loadgen.workload.engine worker``) and ``expect_workers`` remote ones started by hand
  with ``jxcbench worker --master HOST``. Every worker gets its share of the plan (seats, rate) in a
  ``jxc_plan`` message; it ships its raw samples to the master in ``jxc_samples`` messages once a
  second, plus its own CPU use, and a final batch on ``jxc_finish``; the master writes ONE samples
  file. Closed-model users (one class per persona, the same names in every process) ask the master
  for a seat of their persona (``jxc_seat``), so no operator is used twice whatever way Locust
  spreads the users over the workers.

Clocks: phases are decided by wall-clock time against the master's ``t0``; workers on other machines
need synchronised clocks (NTP), as for any distributed measurement.

Run as a module, it is what the step process starts (so the step process never imports gevent):
``python -m loadgen.workload.engine run PLAN.json OUT_DIR`` prints one JSON progress line a second
and writes ``OUT_DIR/samples.parquet`` and ``OUT_DIR/load.json``.

Stopping early: with ``plan.report_window`` each progress line of the measured window carries
``"window": {"at_s": seconds into the window, "lat": {operation: [ms, ...]}, "errors": n}``, what
finished since the previous line. A parent that sees the SLO is already lost sends SIGUSR1: the
window ends then (``plan.stop_at``; the master passes it on to every worker in a ``jxc_stop``
message), users start nothing new, what is in flight drains as at a normal end, and ``load.json``
records the real ``end`` and ``stopped_at``. SIGUSR2 ends an extended window that the parent judged
conclusive the same way but as a normal end (``plan.end_at``, ``ended_at``): the open model's backlog
then drains as usual. Both models: closed-model users and the open model's
arrival schedule (``loadgen.workload.users.run_open``) read the window's end afresh; the open model
starts no arrival after the stop, lets what is in flight finish and records its backlog as unserved.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import functools  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402
import psutil  # noqa: E402
from gevent.event import AsyncResult  # noqa: E402
from locust.env import Environment  # noqa: E402

from loadgen import lifeline  # noqa: E402
from loadgen.measure.collector import SampleCollector, WindowTally  # noqa: E402
from loadgen.measure.samples import SampleWriter  # noqa: E402
from loadgen.workload.plan import LoadPlan  # noqa: E402
from loadgen.workload.runtime import Runtime, Seats  # noqa: E402
from loadgen.workload.spec import load_workload  # noqa: E402
from loadgen.workload.users import OpenDriver, persona_classes  # noqa: E402

START_MARGIN_S = 1.0        # between sending plans and t0, so every worker has its plan
WORKER_WAIT_S = 60.0


class CpuMonitor:
    """This process's CPU % of one core, once a second, as [(epoch s, pct)], and the event loop's
    lag: how late a 0.1 s sleep wakes up, averaged per second, as [(epoch s, ms)]. A generator whose
    loop is late sends late and times late, even when the OS gives it less than a full core."""

    PROBE_S = 0.1

    def __init__(self) -> None:
        self.proc = psutil.Process()
        self.series: list[tuple[float, float]] = []
        self.lag: list[tuple[float, float]] = []
        self._lags: list[float] = []
        self.proc.cpu_percent(None)
        self._g = [gevent.spawn(self._run), gevent.spawn(self._probe)]

    def _run(self) -> None:
        while True:
            gevent.sleep(1.0)
            now = time.time()
            self.series.append((now, self.proc.cpu_percent(None)))
            lags, self._lags = self._lags, []
            self.lag.append((now, round(sum(lags) / len(lags) * 1000.0, 3) if lags else 0.0))

    def _probe(self) -> None:
        while True:
            t = time.perf_counter()
            gevent.sleep(self.PROBE_S)
            self._lags.append(max(0.0, time.perf_counter() - t - self.PROBE_S))

    def take(self) -> tuple[list, list]:
        out, self.series = self.series, []
        lag, self.lag = self.lag, []
        return out, lag

    def stop(self) -> None:
        gevent.killall(self._g, block=False)


def _user_classes(plan: LoadPlan) -> list[type]:
    """Closed model: one User class per persona with seats (``fixed_count``: its seats); open
    model: one driver per process."""
    return [OpenDriver] if plan.mode == "open" else persona_classes(plan.workload, plan.seats)


def _spawn_count(plan: LoadPlan, workers: int) -> int:
    return workers if plan.mode == "open" else len(plan.seats)


def _spawn_rate(plan: LoadPlan, n: int) -> float:
    """Users per second: the staff start over the first half of the warm-up (nobody's shift starts at
    the same millisecond as everyone else's), at least 10 per second, and all within 0.1 s when there
    is no warm-up to ramp in."""
    ramp_s = plan.warmup_s / 2 if plan.mode == "closed" else 0.0
    return max(n / ramp_s, 10.0) if ramp_s > 0.1 else max(n, 1) * 10.0


def _emit(progress, **kw) -> None:
    if progress:
        print(json.dumps(kw), flush=True)


def _on_stop_signal(plan: LoadPlan, passed_on=lambda at, kind: None) -> None:
    """On SIGUSR1 (the parent judged the SLO lost) stop the measured window now; on SIGUSR2 (the
    parent judged an extended window conclusive) end it now as at a normal end. Either way tell
    ``passed_on(at, kind)`` (the master: its workers). Outside the window nothing changes."""

    def handler(kind: str):
        def stop() -> None:
            now = time.time()
            if plan.stop_now(now, kind=kind):
                passed_on(now, kind)
        return stop

    # gevent runs the handler in a greenlet of its own, so passing the stop on may block.
    gevent.signal_handler(signal.SIGUSR1, handler("stop"))
    gevent.signal_handler(signal.SIGUSR2, handler("end"))


def _wait_until(t: float, done=lambda: False) -> None:
    while time.time() < t and not done():
        gevent.sleep(min(0.2, max(0.0, t - time.time())))


# -- local ----------------------------------------------------------------------------------------
def run_local(plan: LoadPlan, out_dir: Path, progress: bool) -> dict:
    """One process. Closed model: the reference personas' User classes (:func:`persona_classes`) or a
    plain locustfile's, through one entry (:func:`run_users`); open model: the driver."""
    if plan.locustfile:
        return run_locustfile(plan, out_dir, progress)
    workload = load_workload(plan.workload)
    if plan.mode == "closed":
        seats = Seats(plan.seats)
        return run_users(plan, out_dir, progress, _user_classes(plan), len(plan.seats),
                         lambda collector: Runtime(plan, workload, collector, next_seat=seats.take),
                         start_margin_s=START_MARGIN_S)
    writer = SampleWriter(out_dir / "samples.parquet")
    plan.t0 = time.time() + START_MARGIN_S
    tally = WindowTally() if plan.report_window else None
    collector = SampleCollector(worker=0, measure_start=plan.measure_start, sink=writer.add, tally=tally)
    rt = Runtime(plan, workload, collector, next_seat=lambda persona=None: None)
    _on_stop_signal(plan)  # rt.plan is this plan: the open schedule and the clock see the new end
    env = Environment(user_classes=[OpenDriver], host=plan.base_url)
    env.jxc = rt
    env.events.request.add_listener(collector.on_request)
    runner = env.create_local_runner()
    cpu = CpuMonitor()
    n = _spawn_count(plan, 1)
    runner.start(n, spawn_rate=_spawn_rate(plan, n))
    _run_clock(plan, lambda: {**collector.counts(), "inflight": rt.pending()}, lambda: rt.drained, progress, tally)
    runner.stop()
    runner.quit()
    cpu.stop()
    collector.flush()
    writer.close()
    return {"workers": [{"index": 0, "stats": rt.stats, "cpu": cpu.series, "lag": cpu.lag, "pid": os.getpid()}],
            "samples_rows": writer.rows}


def run_locustfile(plan: LoadPlan, out_dir: Path, progress: bool) -> dict:
    """A plain locustfile's User classes, ``plan.users`` of them, through the same entry, clock,
    samples, stop signals and :class:`Runtime` as the reference personas (one with no personas of
    its own: the classes make their own requests, :meth:`Runtime.start_user`). Users that could not
    start (``on_start`` raised or a request in it failed) are counted as login failures; every user
    that started worked (its think is its own ``wait_time``: no Little's-law figures)."""
    from loadgen.workload.locustfile import read_credentials, user_classes
    from loadgen.workload.logins import deal_by_class
    from loadgen.workload.spec import Workload

    logins = plan.credentials_csv or plan.credentials_json
    credentials = read_credentials(Path(logins)) if logins else []
    # system.personas: each class counts its own users and logs them in as its role's accounts
    by_class = (deal_by_class(credentials, plan.class_counts, plan.class_roles)
                if plan.class_counts and credentials else None)
    classes = user_classes(Path(plan.locustfile), credentials, by_class)
    if plan.class_counts:  # the staffing's count of each class's role, exactly
        classes = [c for c in classes if plan.class_counts.get(c.__name__, 0) > 0]
        for c in classes:
            c.fixed_count = int(plan.class_counts[c.__name__])
    n = sum(c.fixed_count for c in classes) if plan.class_counts else max(1, int(plan.users))

    def runtime(collector: SampleCollector) -> Runtime:
        rt = Runtime(plan, Workload(personas={}), collector, next_seat=lambda persona=None: None)
        rt.stats.update(stopped_at_end=0, sessions_by_class={})
        return rt

    # one process, no worker to hand a plan to: no START_MARGIN_S; the ramp starts at t0
    load = run_users(plan, out_dir, progress, classes, n, runtime, start_margin_s=0.2, start_at_t0=True,
                     own_requests=True)
    stats = load["workers"][0]["stats"]
    stats.update(operators_active=stats["sessions"], users_planned=n, personas=[c.__name__ for c in classes])
    return load


def run_users(plan: LoadPlan, out_dir: Path, progress: bool, classes: list[type], n: int, make_runtime,
              *, start_margin_s: float, start_at_t0: bool = False, own_requests: bool = False) -> dict:
    """The closed model in one process, whoever the users are: ``n`` users of ``classes`` (the
    reference personas' or a locustfile's), one :class:`Runtime` (``make_runtime(collector)``) for
    their starts, what they have in flight and the drain: at the window's end nothing new starts,
    what is in flight may finish for ``drain_s``, the rest is recorded as timeouts.
    ``own_requests``: the users make their own requests (a locustfile's), followed through Locust's
    request event (:meth:`Runtime.note_request`)."""
    writer = SampleWriter(out_dir / "samples.parquet")
    plan.t0 = time.time() + start_margin_s
    tally = WindowTally() if plan.report_window else None
    collector = SampleCollector(worker=0, measure_start=plan.measure_start, sink=writer.add, tally=tally)
    rt = make_runtime(collector)
    _on_stop_signal(plan)  # rt.plan is this plan: users and the drain watcher see the new end
    env = Environment(user_classes=classes, host=plan.base_url)
    env.jxc = rt
    if own_requests:
        env.events.request.add_listener(rt.note_request)
    env.events.request.add_listener(collector.on_request)
    runner = env.create_local_runner()
    cpu = CpuMonitor()
    if start_at_t0:
        _wait_until(plan.t0)
    runner.start(n, spawn_rate=_spawn_rate(plan, n))
    gevent.spawn(rt.watch_drain)
    _run_clock(plan, lambda: {**collector.counts(), "inflight": rt.pending()}, lambda: rt.drained, progress, tally)
    if not rt.drained:  # the clock's own deadline came first
        rt.abandon_inflight(time.time())
    runner.stop()
    runner.quit()
    cpu.stop()
    collector.flush()
    writer.close()
    return {"workers": [{"index": 0, "stats": rt.stats, "cpu": cpu.series, "lag": cpu.lag, "pid": os.getpid()}],
            "samples_rows": writer.rows}


def _run_clock(plan: LoadPlan, counts, drained, progress: bool, tally: WindowTally | None = None) -> None:
    """Wait out warm-up and window, then until what is in flight (closed model) or the backlog
    (open model) has drained, at most ``drain_s`` (+5 s for the open model's own deadline).

    ``plan.end`` is read afresh on every turn: a stop request moves it earlier. ``tally``: the
    measured window's latencies, sent along with each progress line of the window (see the module
    docstring)."""
    last_emit = 0.0
    # With an extension cap (plan.planned_s), one line goes out right when the planned window is
    # over, so that a parent can end a conclusive window there rather than up to a second later.
    judge_at = (plan.measure_start + plan.planned_s
                if tally is not None and plan.planned_s is not None and plan.planned_s < plan.duration_s else None)
    while True:
        now = time.time()
        deadline = plan.end + plan.drain_s + (5.0 if plan.mode == "open" else 1.0)
        if now >= deadline or (now >= plan.end and drained()):
            break
        at_judge = judge_at is not None and now >= judge_at
        if now - last_emit >= 1.0 or at_judge:
            judge_at = None if at_judge else judge_at
            phase = "warmup" if now < plan.measure_start else ("measure" if now < plan.end else "drain")
            extra = {}
            if tally is not None and phase == "measure":
                upto = now if tally.upto is None else tally.upto
                extra["window"] = {"at_s": round(upto - plan.measure_start, 3), "lag_s": round(max(0.0, now - upto), 3),
                                   "in_flight": counts().get("inflight"), **tally.take()}
            _emit(progress, t=round(now - (plan.t0 or now), 2), phase=phase, **counts(), **extra)
            last_emit = now
        nap = min(1.0, max(0.05, plan.end - now)) if now < plan.end else 0.05
        if judge_at is not None:
            nap = min(nap, max(0.01, judge_at - now))
        gevent.sleep(nap)
    _emit(progress, t=round(time.time() - (plan.t0 or 0), 2), phase="done", **counts())


# -- master -----------------------------------------------------------------------------------------
def run_master(plan: LoadPlan, out_dir: Path, progress: bool) -> dict:
    load_workload(plan.workload)  # fail here, not in every worker, if it does not exist
    writer = SampleWriter(out_dir / "samples.parquet")
    env = Environment(user_classes=_user_classes(plan), host=plan.base_url)
    runner = env.create_master_runner(master_bind_host="*", master_bind_port=plan.master_port)
    workers: dict[str, dict] = {}
    counts = {"requests": 0, "errors": 0, "refusals": 0, "measured": 0, "inflight": 0}
    seats = Seats(plan.seats)
    finished: set[str] = set()
    drained: set[str] = set()
    # The workers ship every raw sample here anyway: the master tallies the window from them.
    tally = WindowTally() if plan.report_window else None
    shipped: dict[str, float] = {}

    def on_samples(environment, msg, **_):
        w = workers.setdefault(msg.node_id, {"cpu": [], "lag": [], "stats": {}})
        cols = msg.data["cols"]
        if cols["worker"]:
            writer.add(cols)
            if tally is not None:
                tally.add_columns(cols)
        if tally is not None:
            # Workers ship once a second: the tally holds everything up to the oldest last shipment
            # only; timing the window by the clock would make the rate so far look too low.
            shipped[msg.node_id] = time.time()
            if len(shipped) >= runner.worker_count:
                tally.upto = min(shipped.values())
        w["cpu"].extend(msg.data.get("cpu", []))
        w["lag"].extend(msg.data.get("lag", []))
        for k, v in msg.data.get("counts", {}).items():
            w.setdefault("counts", {})[k] = v
        for k in counts:
            counts[k] = sum(x.get("counts", {}).get(k, 0) for x in workers.values())

    def on_done(environment, msg, **_):
        workers.setdefault(msg.node_id, {"cpu": [], "lag": [], "stats": {}})["stats"] = msg.data["stats"]
        workers[msg.node_id]["pid"] = msg.data.get("pid")
        workers[msg.node_id]["index"] = msg.data.get("index")
        finished.add(msg.node_id)

    def on_drained(environment, msg, **_):
        drained.add(msg.node_id)

    def on_seat(environment, msg, **_):
        runner.send_message("jxc_seat", {"req": msg.data["req"], "seat": seats.take(msg.data.get("persona"))},
                            client_id=msg.node_id)

    runner.register_message("jxc_samples", on_samples)
    runner.register_message("jxc_done", on_done)
    runner.register_message("jxc_drained", on_drained)
    runner.register_message("jxc_seat", on_seat)
    _on_stop_signal(plan, lambda at, kind: [runner.send_message("jxc_stop", {"at": at, "kind": kind}, client_id=cid)
                                            for cid in list(runner.clients.keys())])

    enter = None
    if plan.worker_netns:  # the workers' own "host": they join its network namespace before exec
        from loadgen.namespaces import enter_named

        enter = functools.partial(enter_named, plan.worker_netns)
    procs = [subprocess.Popen([sys.executable, "-m", "loadgen.workload.engine", "worker",
                               "--master", plan.master_host, "--master-port", str(plan.master_port)],
                              # same process group as this engine: killing the group ends them too;
                              # and they die with it (parent-death signal) if it is killed alone
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              preexec_fn=lifeline.preexec(enter))
             for _ in range(plan.processes if plan.processes > 1 else 0)]
    total = plan.workers_total
    cpu = CpuMonitor()
    try:
        t_wait = time.time() + WORKER_WAIT_S
        while runner.worker_count < total:
            if time.time() > t_wait:
                raise RuntimeError(f"only {runner.worker_count} of {total} load-generator workers connected "
                                   f"to port {plan.master_port} within {WORKER_WAIT_S:.0f} s")
            if any(p.poll() is not None for p in procs):
                raise RuntimeError("a local load-generator worker process exited before connecting")
            gevent.sleep(0.2)
        clients = sorted(runner.clients.keys())
        plan.t0 = time.time() + START_MARGIN_S
        for i, cid in enumerate(clients):
            runner.send_message("jxc_plan", plan.share(i, len(clients)).to_dict(), client_id=cid)
        gevent.sleep(0.2)
        n = _spawn_count(plan, len(clients))
        runner.start(n, spawn_rate=_spawn_rate(plan, n))
        _run_clock(plan, lambda: dict(counts), lambda: len(drained) >= len(clients), progress, tally)
        runner.stop()
        for cid in clients:
            runner.send_message("jxc_finish", None, client_id=cid)
        _wait_until(time.time() + 30.0, lambda: len(finished) >= len(clients))
        runner.quit()
    finally:
        cpu.stop()
        writer.close()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    missing = len(clients) - len(finished)
    return {"workers": [{"index": w.get("index"), "stats": w["stats"], "cpu": w["cpu"], "lag": w["lag"],
                         "pid": w.get("pid")}
                        for w in workers.values()],
            "master": {"cpu": cpu.series, "lag": cpu.lag, "pid": os.getpid()},
            "workers_missing_final_report": missing, "samples_rows": writer.rows}


# -- worker -----------------------------------------------------------------------------------------
def run_worker(master_host: str, master_port: int) -> None:
    # The closed model's classes are the plan's workload's personas: set when the plan comes (before
    # the master spawns any user), found by name as the master's.
    env = Environment(user_classes=[OpenDriver])
    runner = env.create_worker_runner(master_host, master_port)
    pending: dict[int, AsyncResult] = {}
    req_ids = itertools.count()
    state: dict = {}

    def ship(final: bool = False) -> None:
        rt: Runtime | None = getattr(env, "jxc", None)
        if rt is None:
            return
        cpu, lag = state["cpu"].take()
        runner.send_message("jxc_samples", {"cols": rt.collector.buffer.take(), "cpu": cpu, "lag": lag,
                                            "counts": {**rt.collector.counts(), "inflight": rt.pending()}})

    def shipper() -> None:
        while True:
            gevent.sleep(1.0)
            ship()

    def next_seat(persona: str | None = None):
        rid = next(req_ids)
        pending[rid] = res = AsyncResult()
        runner.send_message("jxc_seat", {"req": rid, "persona": persona})
        try:
            return res.get(timeout=30)
        finally:
            pending.pop(rid, None)

    def on_seat(environment, msg, **_):
        res = pending.get(msg.data["req"])
        if res is not None:
            res.set(msg.data["seat"])

    def on_plan(environment, msg, **_):
        plan = LoadPlan.from_dict(msg.data)
        collector = SampleCollector(worker=plan.worker_index + 1, measure_start=plan.measure_start)
        workload = load_workload(plan.workload)
        rt = Runtime(plan, workload, collector, next_seat=next_seat)
        if plan.mode == "closed":
            env.user_classes = persona_classes(plan.workload, [[p] for p in workload.personas]) + [OpenDriver]
        if getattr(env, "jxc", None) is None:
            env.events.request.add_listener(lambda **kw: env.jxc.collector.on_request(**kw))
            state["cpu"] = CpuMonitor()
            state["shipper"] = gevent.spawn(shipper)
        env.jxc = rt
        env.jxc_on_drained = lambda: runner.send_message("jxc_drained", None)
        if plan.mode == "closed":
            gevent.spawn(rt.watch_drain, env.jxc_on_drained)

    def on_stop(environment, msg, **_):
        # The master's stop time, not ours: every process ends the window at the same instant.
        rt = getattr(env, "jxc", None)
        if rt is not None:
            rt.plan.stop_now(msg.data["at"], kind=msg.data.get("kind", "stop"))

    def on_finish(environment, msg, **_):
        ship(final=True)
        rt = env.jxc
        runner.send_message("jxc_done", {"stats": rt.stats, "pid": os.getpid(), "index": rt.plan.worker_index})

    runner.register_message("jxc_plan", on_plan)
    runner.register_message("jxc_seat", on_seat, concurrent=True)
    runner.register_message("jxc_stop", on_stop)
    runner.register_message("jxc_finish", on_finish)
    runner.greenlet.join()


# -- entry ------------------------------------------------------------------------------------------
def run_plan(plan: LoadPlan, out_dir: Path, *, progress: bool = False) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    t_start = time.time()
    if plan.workers_total == 0:
        result = run_local(plan, out_dir, progress)
    else:
        result = run_master(plan, out_dir, progress)
    result.update({"t0": plan.t0, "measure_start": plan.measure_start, "end": plan.end, "stopped_at": plan.stop_at,
                   "ended_at": plan.end_at,
                   "wall_s": round(time.time() - t_start, 3), "plan": plan.to_dict()})
    (out_dir / "load.json").write_text(json.dumps(result, default=str))
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m loadgen.workload.engine")
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("plan", type=Path)
    r.add_argument("out_dir", type=Path)
    r.add_argument("--progress", action="store_true")
    w = sub.add_parser("worker")
    w.add_argument("--master", required=True)
    w.add_argument("--master-port", type=int, default=5557)
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if a.cmd == "worker":
        run_worker(a.master, a.master_port)
        return 0
    try:
        run_plan(LoadPlan.load(a.plan), a.out_dir, progress=a.progress)
    except (RuntimeError, ValueError) as exc:
        print(json.dumps({"error": str(exc)}), flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
