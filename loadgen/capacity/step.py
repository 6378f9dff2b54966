"""One step: the profile's system with N customers, loaded by its staff (or U operators, or a rate), measured.

``run_step`` (the contract the sweep calls) brings the system up (:mod:`loadgen.sut`), grows its
database to N customers (:mod:`loadgen.seed`), then ``measure_step``:

1. reads the book before the load: operators per role (each Locust user logs in as its own account),
   catalogue ids. By default the load is the book's **staff** (:mod:`loadgen.workload.staffing`):
   the online share of every role of the book of N, drawn across the whole book from
   ``(workload.seed, N, role)``; a book with fewer accounts than its staffing is refused with the
   numbers. A fixed ``operators=U`` (what-if runs, the operator frontier) takes U accounts the same
   way and creates what the book lacks through the app's admin API (new hires without customers,
   counted in ``operators_created``). step.json's ``staffing`` records staff, online and the
   operators used (indices into the book's accounts of each persona);
2. runs the load (:mod:`loadgen.workload.load_run`) while sampling app, DB and load generator;
3. audits the books (:func:`reference_app.audit.audit`): any violation fails the step with
   "books not consistent";
4. judges validity and the SLO, writes ``step.json`` (contract fields + ``"schema": 1`` + extras),
   next to ``samples.parquet`` (raw samples) and ``resources.csv`` (1 s resource samples).

The SLO verdict (``verdict``: pass / fail / inconclusive, beside the boolean ``passed``) reads each
operation's 95 % confidence bounds (:func:`loadgen.measure.slo.judge_operations`). A window whose
verdict is still open at its planned end goes on, up to ``(1 + sweep.max_extension)`` times its length,
until every reachable verdict is reached; a step still inconclusive then is reported so and the
search re-runs it. An invalid step's ``verdict`` is ``inconclusive`` too: it concludes nothing.

A step that is invalid has ``valid: false`` and ``passed: false``; the sweep counts it as neither.

Load models: ``operators=U`` (closed: U operators with think times) or ``rate=R`` (open: R arrivals
per second on a Poisson schedule, latency from the intended start). In the open model ``operators``,
if given, is a fixed pool of logged-in sessions serving the arrivals; by default the pool is sized
by Little's law as it runs (:class:`loadgen.workload.users.SessionPool`: per persona, rate x share x
measured response time x 2, at least one session each) out of :func:`open_pool_seats` accounts;
``step.json`` reports the seats as ``operators`` and the pool (sessions, waits) as ``open_pool``.
Time an arrival waits for a session is recorded apart (``pool_wait_ms``); it is the generator's
and stays out of the latency while the pool can grow, and counts once the pool is out of seats.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from loadgen.capacity.book import LoginsFailed, accounts_by_persona, check_staff, ensure_operators, log_in, read_book
from loadgen.capacity.machine import machine_info, tool_version
from loadgen.errors import JxcError
from loadgen.measure.db_size import db_size_fn
from loadgen.measure.slo import (
    FAIL,
    INCONCLUSIVE,
    field_of as _get,
    PASS,
    inconclusive_reasons,
    judge_operations,
    slo_failures,
    slo_thresholds,
    step_verdict,
)
from loadgen.workload.load_run import EarlyStop, LoadFailed, measure_load
from loadgen.workload.plan import LoadPlan, open_pool, persona_counts, staffed_seats
from loadgen.workload.staffing import ACCOUNT_ROLE, Staffing, choose_online, online_of, staff_of_book

SCHEMA_VERSION = 1
ROLES_OF_PERSONAS = ACCOUNT_ROLE


# -- judging ------------------------------------------------------------------------------------------

POOL_HEADROOM = 2.0
POOL_MAX_RESPONSE_S = 1.0


def open_pool_seats(rate: float, mix: dict[str, float], slo: Any) -> int:
    """Open model: the seats (accounts) the session pool may grow to — Little's law at a response
    time of twice the largest p99 threshold (at least 1 s), with headroom; beyond that the step
    fails its SLO on the server's own latency anyway. At least one per persona."""
    t = slo_thresholds(slo)
    p99s = [t["p99_ms"]] + [_get(o, "p99_ms") or 0 for o in (t["operations"] or {}).values()]
    response_s = max(POOL_MAX_RESPONSE_S, 2 * max(p99s) / 1000.0)
    return sum(open_pool(float(rate), mix, response_s, POOL_HEADROOM).values())


def _open_pool(workers: list[dict]) -> dict | None:
    """The open model's pool as the load processes report it: sessions per persona, arrivals that
    waited for a session and how long, whether it ran out of seats (``exhausted``: from then on the
    waits are in the latency, see :meth:`loadgen.workload.users.SessionPool.can_grow`)."""
    reports = [(w.get("stats") or {}).get("pool") for w in workers]
    reports = [r for r in reports if r]
    if not reports:
        return None
    arrivals = sum(r["measured_arrivals"] for r in reports)
    waited = sum(r["waited"] for r in reports)
    p99 = max((r["wait_ms_p99"] or 0.0) for r in reports)
    sessions: dict[str, int] = {}
    for r in reports:
        for p, n in r["sessions"].items():
            sessions[p] = sessions.get(p, 0) + n
    return {"sessions": sessions, "measured_arrivals": arrivals, "waited": waited, "wait_ms_p99": p99,
            "wait_ms_max": max((r["wait_ms_max"] or 0.0) for r in reports),
            "exhausted": any(r["exhausted"] for r in reports), "processes": reports}


class ShiftFailed(JxcError):
    """The system failed its staff's logins before the load: it stopped answering, answered 5xx, or
    the kernel's OOM killer took a process of the profile's cgroup meanwhile. The level is not held:
    :func:`measure_step` records a failed step (the search goes on below it), not an error of the run."""

    def __init__(self, message: str, *, failed: int, online: int, oom_kills: int) -> None:
        super().__init__(message, exit_code=1)
        self.failed, self.online, self.oom_kills = failed, online, oom_kills


def _shift_logins(base_url: str, seats: list, book: dict, password: str, tokens: dict | None, customers: int,
                  cgroup_stats: Callable[[], dict] | None) -> dict:
    """:func:`log_in` the staff. When the system fails them (:class:`ShiftFailed`) say how, and
    whether the kernel's OOM killer took a process of the profile's cgroup, instead of a transport
    traceback; a refusal (401, 403, 404: the accounts, not the load) stays an error of the run."""
    import httpx

    def ooms() -> int | None:
        try:
            return (cgroup_stats() or {}).get("oom_kill") if cgroup_stats else None
        except OSError:
            return None

    before = ooms()
    try:
        return log_in(base_url, seats, book, password, tokens)
    except (httpx.TransportError, LoginsFailed) as exc:
        failure = exc
    after = ooms()
    oom = after - before if before is not None and after is not None and after > before else 0
    if isinstance(failure, LoginsFailed):
        if not oom and not any(c >= 500 for _, c in failure.failed):
            raise failure
        failed = len(failure.failed)
        answers = ", ".join(f"{n} x {c}" for c, n in sorted(Counter(c for _, c in failure.failed).items()))
        cause = (f"{failed} of its {len(seats)} online staff could not log in before the load (answers: {answers}; "
                 f"first: {', '.join(u for u, _ in failure.failed[:3])})")
    else:
        failed = len(seats)
        cause = (f"the app stopped answering while its {len(seats)} online staff logged in before the load "
                 f"({type(failure).__name__}: {failure})")
    why = (f"; the kernel's OOM killer killed {oom} process(es) of the profile's cgroup meanwhile "
           "(the memory limit does not hold the app and its database with this level's staff)" if oom else "")
    raise ShiftFailed(f"at {customers:,} customers {cause}{why}", failed=failed, online=len(seats), oom_kills=oom)


def no_load_step(profile: Any, *, customers: int, operators: int, duration_s: float, warmup_s: float,
                 out_dir: Path, valid: bool, reason: str, staffing: dict | None = None,
                 sut_events: dict | None = None, allowance: dict | None = None, extra: dict | None = None) -> dict:
    """step.json of a level where no load ran: the system failed before it (``valid``: a failed step,
    the system's answer at that size) or could not be prepared (not ``valid``: measured again). No
    samples; the reason where every step records one (``fail_reason`` / ``invalid_reason``)."""
    profile_dump = profile.model_dump(mode="json") if hasattr(profile, "model_dump") else profile
    step = {
        "schema": SCHEMA_VERSION, "customers": int(customers), "operators": int(operators),
        "duration_s": float(duration_s), "requests": 0, "rps": 0.0, "error_rate": 0.0, "passed": False,
        "latency_ms": {}, "operations": {}, "resources": dict(allowance or cpu_allowance(None, None, None)),
        "valid": valid, "invalid_reason": None if valid else reason, "model": "closed", "rate": None,
        "staffing": staffing, "warmup_s": float(warmup_s), "measured_s": 0.0, "stopped_early": None,
        "early_stopped": False, "verdict": FAIL if valid else INCONCLUSIVE, "error_rate_within_slo": True,
        "unjudged_operations": {}, "inconclusive_reason": None,
        "window": {"planned_s": float(duration_s), "cap_s": float(duration_s), "measured_s": 0.0,
                   "extension_s": 0.0, "ended": "no load ran"},
        "extension_s": 0.0, "fail_reason": reason if valid else None, "slo_failures": [reason] if valid else [],
        "refusals": 0, "errors": 0, "goodput_rps": 0.0, "sut_events": sut_events or {},
        "audit": None, "profile": profile_dump, "machine": machine_info(), "tool_version": tool_version(),
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "files": {},
    }
    if extra:
        step.update(extra)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    (Path(out_dir) / "step.json").write_text(json.dumps(step, indent=2, default=str) + "\n")
    return step


def _failed_at_shift(exc: ShiftFailed, *, profile: Any, customers: int, seats_total: int, duration_s: float,
                     warmup_s: float, staff_record: dict, allowance: dict | None, out_dir: Path,
                     extra: dict | None) -> dict:
    """A level whose system failed the staff's logins (:class:`ShiftFailed`): a failed step, the
    failure and any OOM kill recorded (``shift_failure``, ``sut_events``), so the search goes on below
    it and the limiting factor names memory when the OOM killer struck."""
    shift = {"shift_failure": {"reason": str(exc), "failed": exc.failed, "online": exc.online,
                               "oom_kills": exc.oom_kills}, "logins": exc.online - exc.failed}
    return no_load_step(profile, customers=customers, operators=seats_total, duration_s=duration_s,
                        warmup_s=warmup_s, out_dir=out_dir, valid=True, reason=str(exc), staffing=staff_record,
                        sut_events={"oom_kills": exc.oom_kills} if exc.oom_kills else {}, allowance=allowance,
                        extra={**shift, **(extra or {})})


def audit_after_load(books: Callable[[], Any] | None, db_url: str) -> tuple[Any, str | None]:
    """The books' audit after the load (``books``, else :func:`reference_app.audit.audit` of
    ``db_url``): ``(result, None)``, or ``(None, why)`` when the database cannot be reached (a
    server the OOM killer took during the load) instead of a driver traceback that ends the sweep."""
    from sqlalchemy import create_engine
    from sqlalchemy.exc import DBAPIError

    from reference_app.audit import audit

    try:
        if books is not None:
            return books(), None
        eng = create_engine(db_url)
        try:
            return audit(eng), None
        finally:
            eng.dispose()
    except DBAPIError as exc:
        return None, f"{type(exc.orig).__name__ if exc.orig is not None else type(exc).__name__}: {str(exc.orig or exc).strip()[:200]}"


def cpu_allowance(cpus: float | None, cpuset: str | None, memory: int | None) -> dict:
    """What the profile grants the system under test, as the kernel applied it: the CPU quota in
    CPUs, else the cpuset's CPU count, else this machine's cores (unconstrained: the load generator
    shares them); and the memory limit in bytes (None: none)."""
    import os

    machine = float(os.cpu_count() or 1)
    if cpus:
        cores, source = float(cpus), "quota"
    elif cpuset:
        from profiles.schema import parse_cpuset

        cores = float(len(parse_cpuset(str(cpuset))))
        source = "machine" if cores >= machine else "cpuset"  # a group's cpuset copied whole from its parent
    else:
        cores, source = machine, "machine"
    return {"cpu_allowance_cores": cores, "cpu_allowance_source": source, "memory_allowance_bytes": memory}


def judge_load(res: dict, slo: Any, duration_s: float, also: list[str] = ()) -> tuple[list[str], str, dict, str | None]:
    """A measured load (:func:`loadgen.workload.load_run.measure_load`'s result) against the SLO, the
    same for every system and workload: ``(failures, verdict, unjudged operations, inconclusive
    reason)``; each operation's verdict is written into ``res["figures"]["operations"]``. ``also``:
    the caller's own failures (the reference app's audit), after the system's (out of memory, a
    dead worker) and before the early stop and the SLO's."""
    fig, validity, stopped = res["figures"], res["validity"], res["stopped_early"]
    failures = list(res.get("sut_failures") or []) + list(also)
    if stopped:
        # Failed whatever the partial figures say: the full window could not have met the SLO.
        failures.append(f"stopped early at {stopped['at_s']:.1f} s of {float(duration_s):g} s: {stopped['reason']}")
    failures += slo_failures(fig, slo)
    verdicts, unjudged = judge_operations(fig["operations"], slo)
    for name, v in verdicts.items():
        fig["operations"][name]["verdict"] = v["verdict"]
    verdict = step_verdict(verdicts, unjudged, failures) if validity.valid else INCONCLUSIVE
    window = res["window"]
    inconclusive = None
    if validity.valid and verdict == INCONCLUSIVE:
        inconclusive = (f"after {window['measured_s']:g} s (window {float(duration_s):g} s, cap {window['cap_s']:g} s): "
                        + "; ".join(inconclusive_reasons(fig, slo, unjudged)))
    return failures, verdict, unjudged, inconclusive


# -- one measured step on a running system ------------------------------------------------------------
def measure_step(profile: Any, *, base_url: str, db_url: str, customers: int, operators: int | None = None,
                 rate: float | None = None, duration_s: float, warmup_s: float, out_dir: Path,
                 app_pids: Iterable[int] | Callable[[], Iterable[int]] = (),
                 db_pids: Iterable[int] | Callable[[], Iterable[int]] = (),
                 health: Callable[[], bool] | None = None, processes: int = 1, expect_workers: int = 0,
                 master_port: int = 5557, on_progress: Callable[[dict], None] | None = None,
                 min_requests: int | None = None, extra: dict | None = None, early_stop: bool = True,
                 max_extension: float | None = None,
                 cgroup_stats: Callable[[], dict] | None = None, max_foreign_cpu: float | str | None = None,
                 allowance: dict | None = None, tokens: dict | None = None,
                 shared_pids: Iterable[int] | Callable[[], Iterable[int]] = (),
                 breakdown: dict[str, Callable[[], Iterable[int]]] | None = None,
                 books: Callable[[], Any] | None = None, load_network: Any = None,
                 network_pids: Iterable[int] | Callable[[], Iterable[int]] = ()) -> dict:
    """Measure one step on a running system and write ``step.json`` (see the module docstring).

    ``early_stop`` (closed and open model): end the window as soon as the profile's SLO is clearly
    lost (:class:`loadgen.workload.load_run.EarlyStop`); the step is then failed, its figures cover
    the real window (``measured_s``) and ``stopped_early`` says when and why. ``max_extension``
    (default: the profile's ``sweep.max_extension``): how far past ``duration_s`` an inconclusive
    window may go, as a fraction of it.

    ``cgroup_stats``: the run's cgroup counters, sampled every second (OOM kills fail the step with
    "out of memory"; throttling and memory charge go to ``resources``). ``max_foreign_cpu``: the
    busy-machine threshold (``None``: ``$JXCBENCH_MAX_FOREIGN_CPU`` or 10 % of a core).
    ``allowance``: what the profile grants (:func:`cpu_allowance`), recorded in ``resources``.
    ``shared_pids``: roots of processes the step uses but does not own (an external database server
    on this machine): sampled apart as ``shared``, never counted as foreign.
    ``breakdown``: the app's services (microservices), each's CPU and memory in ``resources.services``.
    ``books``: the audit after the load (default: :func:`reference_app.audit.audit` of ``db_url``;
    a microservices system audits its three databases and the links between them).
    """
    from loadgen.synth import LOADTEST_PASSWORD

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    wl = _get(profile, "workload")
    if rate is None and operators is None:
        operators = _get(wl, "operators")
        rate = _get(wl, "rate") if operators is None else None
    model = "open" if rate is not None else "closed"
    staffed = model == "closed" and not operators
    seed = int(_get(wl, "seed", 42) or 42)
    quota = int(_get(wl, "customer_quota", 1000))
    staffing = Staffing.of(_get(wl, "staffing")).with_quota(quota)
    staff = staff_of_book(customers, staffing)
    book = read_book(db_url)
    accounts = accounts_by_persona(book)
    created: list[str] = []
    if staffed:
        # The book's own staff: the online share of every role, drawn across the whole book.
        check_staff(accounts, staff, customers)
        online = online_of(staff, staffing.online_share)
        if not sum(online.values()):
            raise JxcError(f"workload.staffing.online_share {staffing.online_share:g} puts nobody online at "
                           f"{customers:,} customers")
        mix = {p: n / sum(online.values()) for p, n in online.items() if n}
        pools = {p: accounts[p][:staff[p]] for p in staff}
    else:
        # What-if: a fixed number of operators (or the open model's session pool), in the profile's
        # mix when it fixes the load itself, else in the proportions of the book's staff.
        if _get(wl, "operators") is not None or model == "open":
            mix = dict(_get(wl, "mix") or {"sales": 0.7, "clerk": 0.2, "manager": 0.1})
        else:
            mix = {p: n / sum(staff.values()) for p, n in staff.items()}
        mix = {p: w for p, w in mix.items() if p in ROLES_OF_PERSONAS and w > 0}
        seats_total = operators if operators else open_pool_seats(rate, mix, _get(profile, "slo"))
        online = persona_counts(mix, seats_total)
        created = ensure_operators(base_url, book, online, LOADTEST_PASSWORD, quota, persona_pools=accounts)
        pools = accounts
    chosen = {p: [(i, pools[p][i]) for i in choose_online(n, len(pools[p]), seed=seed, customers=customers, role=p)]
              for p, n in online.items() if n}
    seats = staffed_seats(chosen)
    seats_total = len(seats)
    # Staff start their shift logged in: one login each before the load (logins are not part of the
    # measurement, and a sweep's system keeps the tokens for the next level: ``tokens``).
    staff_record = {
        "mode": "staffed" if staffed else ("open" if model == "open" else "fixed"),
        "staff": staff if staffed else None,
        "online": {p: len(v) for p, v in chosen.items()},
        "online_share": staffing.online_share if staffed else None,
        "operators_used": {p: [i for i, _ in v] for p, v in chosen.items()},
        "seed": seed,
        "shift_logins": None,  # filled below, once the staff have logged in
    }
    try:
        staff_record["shift_logins"] = _shift_logins(base_url, seats, book, LOADTEST_PASSWORD, tokens, customers,
                                                     cgroup_stats)
    except ShiftFailed as exc:
        return _failed_at_shift(exc, profile=profile, customers=customers, seats_total=seats_total,
                                duration_s=duration_s, warmup_s=warmup_s, staff_record=staff_record,
                                allowance=allowance, out_dir=out_dir, extra=extra)
    think = _get(wl, "think_time_s", None) or {}
    if isinstance(think, (list, tuple)):
        think = {p: tuple(think) for p in ROLES_OF_PERSONAS}
    plan = LoadPlan(
        base_url=base_url, mode=model, seats=seats, password=LOADTEST_PASSWORD, mix=mix,
        weights=dict(_get(wl, "weights", None) or {}),
        think_times={p: tuple(v) for p, v in think.items()}, customers=int(customers), seed=seed,
        rate=rate, warmup_s=float(warmup_s), duration_s=float(duration_s), processes=processes,
        expect_workers=expect_workers, master_port=master_port,
        context={**{k: book[k] for k in ("product_ids", "warehouse_ids", "supplier_ids")},
                 "zipf_s": float(_get(wl, "customer_zipf", 1.0))},
        # open model without an explicit pool (--operators): sized by Little's law as it runs
        pool_headroom=POOL_HEADROOM if model == "open" and not operators else 0.0,
    )
    if load_network is not None:
        # The local workers on their own "host" (a netns.Link of role "load generators"): inside its
        # namespace, reaching the app across the link (through the delay relay where there is no
        # netem) and the master at our end of it.
        from urllib.parse import urlsplit

        app = urlsplit(base_url)
        far_host, far_port = load_network.inward(app.port, host=app.hostname)
        plan.base_url = f"http://{far_host}:{far_port}"
        plan.worker_netns, plan.master_host = load_network.name, load_network.host_addr
    size = db_size_fn(db_url, _get(_get(profile, "architecture"), "kind", "monolith") or "monolith")
    kwargs: dict[str, Any] = {"min_requests": min_requests} if min_requests is not None else {}
    slo = _get(profile, "slo")
    if max_extension is None:
        max_extension = float(_get(_get(profile, "sweep"), "max_extension", 0.0) or 0.0)
    if early_stop or max_extension > 0:
        # The thresholds slo_failures judges by. In flight: at most one request per seat (closed:
        # per operator; open: per session); the open model's window also holds every arrival its
        # schedule plans, backlog included.
        kwargs["early_stop"] = EarlyStop(slo_thresholds(slo), duration_s, in_flight_max=len(seats),
                                         planned_total=float(rate) * float(duration_s) if model == "open" else 0.0,
                                         cap_s=float(duration_s) * (1.0 + max_extension), lost_rule=early_stop)
    try:
        groups = {"app": app_pids, "db": db_pids, **({"shared": shared_pids} if shared_pids else {}),
                  # the delay relays (loadgen.sut.delay_relay) stand for the wire: sampled on their own,
                  # neither the system's CPU nor a foreign process that would make the machine "busy"
                  **({"network": network_pids} if network_pids else {})}
        res = measure_load(plan, out_dir, sut_groups=groups, db_size=size,
                           on_progress=on_progress, health=health, cgroup_stats=cgroup_stats,
                           max_foreign_cpu=max_foreign_cpu, breakdown=breakdown, **kwargs)
    except LoadFailed as exc:
        raise JxcError(str(exc), exit_code=1) from None
    finally:
        getattr(size, "dispose", lambda: None)()

    books, audit_error = audit_after_load(books, db_url)
    fig, validity, stopped = res["figures"], res["validity"], res["stopped_early"]
    if audit_error is not None:  # the database is gone (an OOM kill during the load): nothing to call held
        books_failed = [f"the audit after the load could not reach the database ({audit_error})"]
    else:
        books_failed = [] if books.ok else ["books not consistent: " + ", ".join(f"{k} {v}" for k, v in books.counts.items() if v)]
    failures, verdict, unjudged, inconclusive = judge_load(res, slo, duration_s, books_failed)
    pool = _open_pool(res["load"].get("workers", []))
    window = res["window"]
    passed = validity.valid and verdict == PASS
    load = res["load"]
    workers = load.get("workers", [])
    resources = dict(res["resources"])
    resources_extra = resources.pop("extra")
    resources.update(allowance or cpu_allowance(None, None, None))
    profile_dump = profile.model_dump(mode="json") if hasattr(profile, "model_dump") else profile
    step = {
        "schema": SCHEMA_VERSION,
        "customers": int(customers),
        "operators": int(seats_total),
        "duration_s": float(duration_s),      # as planned; measured_s is the real window
        "requests": fig["requests"],
        "rps": fig["rps"],
        "error_rate": fig["error_rate"] if fig["error_rate"] is not None else 0.0,
        "passed": passed,
        "latency_ms": fig["latency_ms"],
        "operations": fig["operations"],
        "resources": resources,
        "valid": validity.valid,
        "invalid_reason": validity.reason,
        # extras
        "model": model,
        "rate": rate,
        "staffing": staff_record,
        "warmup_s": float(warmup_s),
        "measured_s": res["measured_s"],
        "stopped_early": stopped,             # {"at_s", "reason"} or None
        "early_stopped": stopped is not None,  # what steps.csv and report.md read
        "early_stop": bool(early_stop),      # the lost-SLO rule was on
        "verdict": verdict,                   # pass | fail | inconclusive (an invalid step: inconclusive)
        # the error rate is judged as a point comparison (errors / requests <= slo.error_rate), no bound
        "error_rate_within_slo": fig["error_rate"] is None or fig["error_rate"] <= slo_thresholds(slo)["error_rate"],
        "unjudged_operations": unjudged,      # too rare for an upper bound: named, not judged on their maximum
        "inconclusive_reason": inconclusive,
        "window": window,                     # planned_s, cap_s, measured_s, extension_s, ended
        "extension_s": window["extension_s"],
        "operators_planned": res["operators_planned"],
        "operators_logged_in": res["operators_logged_in"],
        "operators_active": res["operators_active"],
        "login_failures": res["login_failures"],
        "timed_out_at_end": res["timed_out_at_end"],
        "littles_law": res["littles_law"],
        "mean_response_ms": fig.get("mean_ms"),
        "fail_reason": "; ".join(failures) if failures and validity.valid else None,
        "slo_failures": failures,
        "refusals": fig["refusals"],
        "errors": fig["errors"],
        "goodput_rps": fig["goodput_rps"],
        "warmup_requests": fig["warmup_requests"],
        "logins": fig["logins"],
        "percentile_method": fig["percentile_method"],
        "confidence_bounds": fig.get("confidence_bounds"),
        "audit": ({"ok": False, "error": audit_error, "counts": {}, "violations": []} if audit_error is not None
                  else {"ok": books.ok, "counts": books.counts, "violations": books.violations[:20]}),
        "resources_extra": resources_extra,
        "loadgen": res["loadgen"],
        "sut_events": res.get("sut_events"),     # oom_kills, worker_restarts, vanished roots
        "open_pool": pool,                        # open model: sessions per persona, pool waits
        "machine_load": res.get("machine_load"),  # foreign CPU, its top process, iowait, steal
        "load": {
            "processes": processes, "remote_workers": expect_workers,
            "network": load_network.describe() if load_network is not None else None,
            "workers": [{"index": w.get("index"), "pid": w.get("pid"), **(w.get("stats") or {})} for w in workers],
            "seats": len(seats), "operators_created": created, "book_customers": book["customers"],
            "t0": load.get("t0"), "measure_start": load.get("measure_start"), "end": load.get("end"),
        },
        "profile": profile_dump,
        "machine": machine_info(),
        "tool_version": tool_version(),
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "files": {"samples": "samples.parquet", "resources": "resources.csv"},
    }
    if extra:
        step.update(extra)
    (out_dir / "step.json").write_text(json.dumps(step, indent=2, default=str) + "\n")
    return step


# -- the contract: bring up, seed, measure, tear down -----------------------------------------------
def run_step(profile: Any, *, customers: int, operators: int | None = None, rate: float | None = None,
             duration_s: float, warmup_s: float, out_dir: Path, unconstrained: bool = False,
             processes: int = 1, expect_workers: int = 0, master_port: int = 5557,
             on_progress: Callable[[dict], None] | None = None, on_stage: Callable[[str], None] | None = None,
             min_requests: int | None = None, early_stop: bool = True, app_host: str | None = None,
             max_foreign_cpu: float | str | None = None, load_network: Any = None) -> dict:
    try:
        from loadgen.sut.launcher import SystemUnderTest
    except ImportError as exc:
        raise JxcError(f"the system-under-test launcher (loadgen.sut.launcher) is not available: {exc}",
                       exit_code=1) from None
    stage = on_stage or (lambda s: None)
    t_start = time.time()
    with contextlib.ExitStack() as stack:
        run_id = link = None
        if load_network is not None:  # ``--load-network`` (a schema Network): the workers' own host
            from loadgen.sut import netns
            from loadgen.sut.cgroups import new_run_id

            stage("linking the load generators' host")
            run_id = new_run_id()
            link = stack.enter_context(netns.Link(f"{run_id}-load", rtt_ms=load_network.rtt_ms,
                                                  bandwidth=load_network.bandwidth, role="load generators"))
            link.measure_rtt()
            app_host = link.host_addr  # the app listens on every interface; the workers reach it here
        stage("starting the system under test")
        with SystemUnderTest(profile, unconstrained=unconstrained, app_host=app_host, run_id=run_id) as sut:
            stage(f"growing the database to {customers} customers")
            t_seed = time.time()
            sut.seed(customers, progress=False)
            seed_s = time.time() - t_seed
            stage("settling the database (checkpoint, analyse, quiet I/O)")
            from loadgen.seed.settle import settle

            settled = settle(sut.db_url, io_pids=sut.db_pids)
            step = measure_on(sut, profile, customers=customers, operators=operators, rate=rate, duration_s=duration_s,
                              warmup_s=warmup_s, out_dir=out_dir, unconstrained=unconstrained, t_start=t_start,
                              processes=processes, expect_workers=expect_workers, master_port=master_port,
                              on_progress=on_progress, on_stage=on_stage, min_requests=min_requests,
                              early_stop=early_stop, max_foreign_cpu=max_foreign_cpu, load_network=link,
                              extra={"seed_s": round(seed_s, 3), "settle": settled})
            stage("tearing down")
    return step


def _system(sut: Any) -> dict:
    """step.json's ``system`` (what was brought up) and ``durability`` (how the database commits)."""
    desc = sut.describe()
    return {"system": desc, "durability": (desc.get("database") or {}).get("durability")}


def measure_on(sut: Any, profile: Any, *, customers: int, operators: int | None, rate: float | None,
               duration_s: float, warmup_s: float, out_dir: Path, unconstrained: bool, t_start: float,
               extra: dict | None = None, on_stage: Callable[[str], None] | None = None, **measure: Any) -> dict:
    """Start the app of an up system whose database already holds ``customers``, measure one step,
    write step.json (``wall_s`` counted from ``t_start``). The app is left running; whoever brought
    the system up stops it (:func:`run_step`, :class:`loadgen.capacity.levels.LevelledSystem`)."""
    stage = on_stage or (lambda s: None)
    stage("starting the app")
    sut.start_app()
    stage("measuring")
    # Roots only (uvicorn supervisor, postmaster): their children come and go, roots must not.
    limits = getattr(sut, "limits", None) or {}
    tokens = sut.__dict__.setdefault("jxc_tokens", {})  # logins kept for the next step on this system
    links = [x for x in (getattr(sut, "network", None), getattr(sut, "service_links", None), measure.get("load_network"))
             if x is not None]
    if any(x.delay_method == "relay" for x in links):
        measure["network_pids"] = lambda: [p for x in links for p in x.relay_pids()]
    step = measure_step(profile, base_url=sut.base_url, db_url=sut.db_url, customers=customers, tokens=tokens,
                        operators=operators, rate=rate, duration_s=duration_s, warmup_s=warmup_s,
                        out_dir=out_dir, app_pids=lambda: sut.app_pids()[:1], db_pids=lambda: sut.db_pids()[:1],
                        health=sut.healthy, cgroup_stats=getattr(sut, "cgroup_stats", None),
                        shared_pids=sut.local_server_pids()[:1] if hasattr(sut, "local_server_pids") else (),
                        breakdown=getattr(sut, "service_roots", lambda: None)(),
                        books=getattr(sut, "books", None),
                        allowance=cpu_allowance(limits.get("cpus"), limits.get("cpuset"), limits.get("memory")),
                        **measure,
                        extra={"unconstrained": unconstrained, **(extra or {}), **_system(sut)})
    step["wall_s"] = round(time.time() - t_start, 3)
    (Path(out_dir) / "step.json").write_text(json.dumps(step, indent=2, default=str) + "\n")
    return step


__all__ = ["SCHEMA_VERSION", "ShiftFailed", "cpu_allowance", "judge_load", "measure_on", "measure_step", "no_load_step",
           "run_step"]
