"""One step: the profile's system with N customers, loaded by U operators (or a rate), measured.

``run_step`` (the contract the sweep calls) brings the system up (:mod:`loadgen.sut`), grows its
database to N customers (:mod:`loadgen.seed`), then ``measure_step``:

1. reads the book before the load: operators per role (each Locust user logs in as its own account),
   catalogue ids; creates missing operator accounts through the app's admin API when the book has
   fewer salespeople / clerks / managers than the load needs (new hires without customers, counted
   in ``operators_created``);
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
if given, is the pool of logged-in sessions serving the arrivals (default ``max(4, ceil(R))``: enough
for a 1 s mean response before arrivals queue); ``step.json`` reports it as ``operators``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from loadgen.capacity.book import ensure_operators, read_book
from loadgen.capacity.machine import machine_info, tool_version
from loadgen.errors import JxcError
from loadgen.measure.db_size import db_size_fn
from loadgen.measure.slo import (
    INCONCLUSIVE,
    PASS,
    inconclusive_reasons,
    judge_operations,
    slo_failures,
    slo_thresholds,
    step_verdict,
)
from loadgen.workload.load_run import EarlyStop, LoadFailed, measure_load
from loadgen.workload.plan import LoadPlan, assign_seats, persona_counts

SCHEMA_VERSION = 1
ROLES_OF_PERSONAS = {"sales": "sales", "clerk": "clerk", "manager": "manager", "admin": "admin"}


# -- judging ------------------------------------------------------------------------------------------
def _get(obj: Any, key: str, default: Any = None) -> Any:
    if obj is None:
        return default
    if isinstance(obj, dict):
        return obj.get(key, default)
    return getattr(obj, key, default)


# -- one measured step on a running system ------------------------------------------------------------
def measure_step(profile: Any, *, base_url: str, db_url: str, customers: int, operators: int | None = None,
                 rate: float | None = None, duration_s: float, warmup_s: float, out_dir: Path,
                 app_pids: Iterable[int] | Callable[[], Iterable[int]] = (),
                 db_pids: Iterable[int] | Callable[[], Iterable[int]] = (),
                 health: Callable[[], bool] | None = None, processes: int = 1, expect_workers: int = 0,
                 master_port: int = 5557, on_progress: Callable[[dict], None] | None = None,
                 min_requests: int | None = None, extra: dict | None = None, early_stop: bool = True,
                 max_extension: float | None = None) -> dict:
    """Measure one step on a running system and write ``step.json`` (see the module docstring).

    ``early_stop`` (closed and open model): end the window as soon as the profile's SLO is clearly
    lost (:class:`loadgen.workload.load_run.EarlyStop`); the step is then failed, its figures cover
    the real window (``measured_s``) and ``stopped_early`` says when and why. ``max_extension``
    (default: the profile's ``sweep.max_extension``): how far past ``duration_s`` an inconclusive
    window may go, as a fraction of it.
    """
    from loadgen.synth import LOADTEST_PASSWORD
    from reference_app.audit import audit

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    wl = _get(profile, "workload")
    if rate is None and operators is None:
        operators = _get(wl, "operators")
        rate = _get(wl, "rate") if operators is None else None
    if rate is None and not operators:
        raise JxcError("a step needs --operators U (closed model) or --rate R (open model)")
    model = "open" if rate is not None else "closed"
    seats_total = operators if operators else max(4, math.ceil(rate))
    mix = dict(_get(wl, "mix") or {"sales": 0.7, "clerk": 0.2, "manager": 0.1})
    mix = {p: w for p, w in mix.items() if p in ("sales", "clerk", "manager") and w > 0}
    book = read_book(db_url)
    need = {ROLES_OF_PERSONAS[p]: n for p, n in persona_counts(mix, seats_total).items()}
    created = ensure_operators(base_url, book, need, LOADTEST_PASSWORD, int(_get(wl, "customer_quota", 1000)))
    try:
        seats = assign_seats(mix, seats_total, {p: book["operators"].get(ROLES_OF_PERSONAS[p], []) for p in mix})
    except ValueError as exc:
        raise JxcError(str(exc)) from None
    plan = LoadPlan(
        base_url=base_url, mode=model, seats=seats, password=LOADTEST_PASSWORD, mix=mix,
        weights=dict(_get(wl, "weights", None) or {}),
        think_time_s=tuple(_get(wl, "think_time_s", (1.0, 3.0))), rate=rate,
        warmup_s=float(warmup_s), duration_s=float(duration_s), processes=processes,
        expect_workers=expect_workers, master_port=master_port,
        context={k: book[k] for k in ("product_ids", "warehouse_ids", "supplier_ids")},
    )
    size = db_size_fn(db_url)
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
        res = measure_load(plan, out_dir, sut_groups={"app": app_pids, "db": db_pids}, db_size=size,
                           on_progress=on_progress, health=health, **kwargs)
    except LoadFailed as exc:
        raise JxcError(str(exc), exit_code=1) from None
    finally:
        getattr(size, "dispose", lambda: None)()

    from sqlalchemy import create_engine

    eng = create_engine(db_url)
    try:
        books = audit(eng)
    finally:
        eng.dispose()
    fig, validity, stopped = res["figures"], res["validity"], res["stopped_early"]
    failures = [] if books.ok else ["books not consistent: " + ", ".join(f"{k} {v}" for k, v in books.counts.items() if v)]
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
    passed = validity.valid and verdict == PASS
    load = res["load"]
    workers = load.get("workers", [])
    resources = dict(res["resources"])
    resources_extra = resources.pop("extra")
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
        "audit": {"ok": books.ok, "counts": books.counts, "violations": books.violations[:20]},
        "resources_extra": resources_extra,
        "loadgen": res["loadgen"],
        "load": {
            "processes": processes, "remote_workers": expect_workers,
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
             min_requests: int | None = None, early_stop: bool = True, app_host: str | None = None) -> dict:
    try:
        from loadgen.sut.launcher import SystemUnderTest
    except ImportError as exc:
        raise JxcError(f"the system-under-test launcher (loadgen.sut.launcher) is not available: {exc}",
                       exit_code=1) from None
    stage = on_stage or (lambda s: None)
    t_start = time.time()
    stage("starting the system under test")
    with SystemUnderTest(profile, unconstrained=unconstrained, app_host=app_host) as sut:
        stage(f"growing the database to {customers} customers")
        t_seed = time.time()
        sut.seed(customers, progress=False)
        seed_s = time.time() - t_seed
        step = measure_on(sut, profile, customers=customers, operators=operators, rate=rate, duration_s=duration_s,
                          warmup_s=warmup_s, out_dir=out_dir, unconstrained=unconstrained, t_start=t_start,
                          processes=processes, expect_workers=expect_workers, master_port=master_port,
                          on_progress=on_progress, on_stage=on_stage, min_requests=min_requests,
                          early_stop=early_stop, extra={"seed_s": round(seed_s, 3)})
        stage("tearing down")
    return step


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
    step = measure_step(profile, base_url=sut.base_url, db_url=sut.db_url, customers=customers,
                        operators=operators, rate=rate, duration_s=duration_s, warmup_s=warmup_s,
                        out_dir=out_dir, app_pids=lambda: sut.app_pids()[:1], db_pids=lambda: sut.db_pids()[:1],
                        health=sut.healthy, **measure,
                        extra={"unconstrained": unconstrained, **(extra or {}), "system": sut.describe()})
    step["wall_s"] = round(time.time() - t_start, 3)
    (Path(out_dir) / "step.json").write_text(json.dumps(step, indent=2, default=str) + "\n")
    return step


__all__ = ["SCHEMA_VERSION", "measure_on", "measure_step", "run_step"]
