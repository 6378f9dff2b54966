"""Drive the capacity search with real steps, one directory per step, resumably.

Layout of ``--out``::

    OUT/sweep.json                         which profiles this directory belongs to (and how run)
    OUT/capacity.json, OUT/steps.csv       rewritten after every step ("partial": true until done)
    OUT/<profile>/c<N>-u<U>-r<k>/step.json one measured step (k numbers repeats and re-runs)

Resuming is replaying: the search (``loadgen.capacity.search``) is deterministic given the outcomes, so a
re-run walks the same proposals and, where a proposal's ``step.json`` already exists, reads it
instead of measuring again. A step directory without ``step.json`` was interrupted mid-step; it is
kept, renamed ``*.interrupted``, and the step is measured again.

Real steps of one profile share one system under test (:class:`loadgen.capacity.levels.LevelledSystem`): its
database grows in place from level to level and goes back through snapshots when the bisection or
a repeat asks for a smaller book, so a search pays for seeding its largest level once.

An ``OUT`` that holds another sweep (other profiles, a changed profile, another ``--unconstrained``)
is refused before anything is written: its results would silently mix with this sweep's.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loadgen.capacity.machine import machine_metadata
from loadgen.capacity.results import (
    CAPACITY_FILE,
    capacity_document,
    now_iso,
    write_capacity,
    write_steps_csv,
)
from loadgen.capacity.pooling import apply_pooled, poolable, pooled_judgement
from loadgen.capacity.search import (
    FAIL,
    INCONCLUSIVE,
    PASS,
    SearchResult,
    SearchSpec,
    SearchSpecError,
    StepOutcome,
    capacity_search,
    conclude,
    frontier_search,
)
from loadgen.errors import JxcError, Terminated
from loadgen.measure.slo import field_of as _get
from reports.analysis.limiting import headroom, limiting_factor
from reports.analysis.maintenance import limits_capacity, maintenance_window
from reports.analysis.projection import projected_capacity

MANIFEST = "sweep.json"
StepRunner = Callable[..., dict]


class SweepInterrupted(JxcError):
    """The sweep was stopped (Ctrl-C, SIGTERM); what it finished is kept and marked partial."""

    exit_code = 130


# --- profiles -> search plans --------------------------------------------------------------------


def _dump(profile: Any) -> dict:
    """The profile as loaded, as plain JSON data."""
    if hasattr(profile, "model_dump"):
        return profile.model_dump(mode="json")
    return json.loads(json.dumps(profile))



@dataclass
class ProfilePlan:
    """One profile's search settings, checked before anything runs."""

    profile: Any
    name: str
    data: dict
    spec: SearchSpec
    operators: int | None  # closed model: U; None for the open model
    rate: float | None
    duration_s: float
    warmup_s: float
    frontier: SearchSpec | None = None  # operator levels, when the profile asks for U_max(N)


def plan_profile(profile: Any, *, invalid_retries: int = 2) -> ProfilePlan:
    """Check one profile can be searched: an SLO, sane sweep settings. JxcError (exit 2) if not."""
    data = _dump(profile)
    name = str(_get(profile, "name") or "")
    if not name:
        raise JxcError("a profile has no name")
    slo = _get(profile, "slo")
    fields_set = getattr(profile, "model_fields_set", None)
    if fields_set is not None and "slo" not in fields_set:
        # The schema fills a default SLO for `run` and `up`; a capacity is only as meaningful as the
        # SLO it is measured against, so a search insists the profile states its own.
        raise JxcError(f"profile {name}: slo: missing; a capacity search needs the SLO the system is held to, "
                       "stated in the profile (e.g. slo: {p95_ms: 500, p99_ms: 1500, error_rate: 0.01})")
    if slo is None or not any(_get(slo, k) is not None for k in ("p95_ms", "p99_ms", "error_rate")):
        raise JxcError(f"profile {name}: slo: a capacity search needs an SLO (e.g. slo: {{p95_ms: 500}}); there is none")
    sweep = _get(profile, "sweep")
    if sweep is None:
        raise JxcError(f"profile {name}: sweep: missing (start_customers, growth, max_customers, precision ...)")
    workload = _get(profile, "workload")
    try:
        spec = SearchSpec(
            start=int(_get(sweep, "start_customers")),
            growth=float(_get(sweep, "growth")),
            maximum=int(_get(sweep, "max_customers")),
            precision=float(_get(sweep, "precision")),
            repeats=int(_get(sweep, "repeats", 1) or 1),
            invalid_retries=invalid_retries,
            inconclusive_retries=_get(sweep, "inconclusive_retries"),
        )
    except SearchSpecError as exc:
        raise JxcError(f"profile {name}: sweep: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise JxcError(f"profile {name}: sweep: incomplete or non-numeric settings ({exc})") from None
    frontier = None
    levels = _get(sweep, "operators")
    if levels:
        if isinstance(levels, int):
            levels = [levels]
        try:
            frontier = SearchSpec(
                start=1, growth=2.0, maximum=1, precision=spec.precision, repeats=spec.repeats,
                invalid_retries=invalid_retries, inconclusive_retries=spec.inconclusive_retries,
                what="operators", ladder=tuple(sorted(int(x) for x in levels)),
            )
        except (SearchSpecError, TypeError, ValueError) as exc:
            raise JxcError(f"profile {name}: sweep.operators: {exc}") from None
    operators = _get(workload, "operators")
    rate = _get(workload, "rate")
    return ProfilePlan(
        profile=profile,
        name=name,
        data=data,
        spec=spec,
        operators=int(operators) if operators is not None else None,
        rate=float(rate) if rate is not None else None,
        duration_s=float(_get(sweep, "step_duration_s", 60)),
        warmup_s=float(_get(sweep, "warmup_s", 10)),
        frontier=frontier,
    )


def _fingerprint(plan: ProfilePlan) -> dict:
    """What a step's result depends on: the profile minus the search settings that only steer."""
    data = json.loads(json.dumps(plan.data))
    hardware = data.get("hardware") or {}
    for key in ("disk", "price"):  # read by reports only: a price or disk size may be added afterwards
        hardware.pop(key, None)
    sweep = data.get("sweep") or {}
    data["sweep"] = {k: sweep.get(k) for k in ("step_duration_s", "warmup_s")}
    if sweep.get("max_extension") is not None:  # a longer window may change verdicts; absent in older sweeps
        data["sweep"]["max_extension"] = sweep["max_extension"]
    return data


# --- the output directory -------------------------------------------------------------------------


def _manifest(plans: Sequence[ProfilePlan], unconstrained: bool) -> dict:
    return {"schema": 1, "unconstrained": unconstrained, "profiles": {p.name: _fingerprint(p) for p in plans}}


def prepare_out(out: Path, plans: Sequence[ProfilePlan], *, unconstrained: bool, create: bool = True) -> dict | None:
    """Accept ``out`` for resuming (its manifest) or create it (``create``; else None when new).

    Refuses, with exit 2 and before writing anything, an ``out`` holding another sweep.
    """
    out = Path(out)
    manifest = _manifest(plans, unconstrained)
    if out.exists() and not out.is_dir():
        raise JxcError(f"--out {out}: exists and is not a directory")
    if out.is_dir() and any(out.iterdir()):
        path = out / MANIFEST
        if not path.is_file():
            raise JxcError(f"--out {out}: not empty and holds no jxcbench sweep ({MANIFEST} missing); choose a new or empty directory")
        try:
            old = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise JxcError(f"--out {out}: {MANIFEST} unreadable ({exc}); choose a new or empty directory") from None
        old_profiles = old.get("profiles") if isinstance(old, dict) else None
        if not isinstance(old_profiles, dict):
            raise JxcError(f"--out {out}: {MANIFEST} is not a jxcbench sweep manifest (no profiles mapping); "
                           "choose a new or empty directory, nothing was changed")
        if set(old_profiles) != set(manifest["profiles"]):
            raise JxcError(
                f"--out {out}: holds results of another sweep (profiles {', '.join(sorted(old_profiles)) or 'none'}; "
                f"this sweep: {', '.join(sorted(manifest['profiles']))}); choose another --out, nothing was changed"
            )
        changed = sorted(n for n, fp in manifest["profiles"].items() if old_profiles[n] != fp)
        if changed:
            raise JxcError(
                f"--out {out}: profile(s) {', '.join(changed)} changed since these results were measured; "
                "choose another --out, nothing was changed"
            )
        if bool(old.get("unconstrained")) != unconstrained:
            raise JxcError(
                f"--out {out}: was measured {'with' if old.get('unconstrained') else 'without'} --unconstrained; "
                "run the same way or choose another --out"
            )
        return old
    if not create:
        return None
    out.mkdir(parents=True, exist_ok=True)
    manifest["created"] = now_iso()
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def step_dir_name(customers: int, operators: int | None, rate: float | None, repeat: int) -> str:
    load = f"u{operators}" if operators is not None else (f"rate{rate:g}" if rate is not None else "staff")
    return f"c{customers}-{load}-r{repeat}"


def _read_finished(step_dir: Path) -> dict | None:
    path = step_dir / "step.json"
    if not path.is_file():
        return None
    try:
        step = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(step, dict) or "valid" not in step or step.get("schema", 1) != 1:
        return None
    return step


def _set_aside(step_dir: Path) -> None:
    """Keep an unfinished step's files for inspection, out of the way of the re-run."""
    n = 0
    while True:
        target = step_dir.with_name(step_dir.name + (".interrupted" if n == 0 else f".interrupted{n}"))
        if not target.exists():
            step_dir.rename(target)
            return
        n += 1


# --- the sweep ------------------------------------------------------------------------------------


@dataclass
class _Search:
    what: str  # "customers" | "operators"
    spec: SearchSpec
    customers: int | None = None  # fixed N of a frontier search
    levels: dict[int, list[str]] = field(default_factory=dict)
    result: SearchResult | None = None


@dataclass
class _ProfileRun:
    plan: ProfilePlan
    steps: list[dict] = field(default_factory=list)
    searches: list[_Search] = field(default_factory=list)
    seen: dict[Path, dict] = field(default_factory=dict)  # step dirs measured or read in this sweep
    done: bool = False


class Sweep:
    """A sweep of several profiles into one ``out`` directory (see the module docstring)."""

    def __init__(
        self,
        profiles: Sequence[Any],
        out: Path,
        *,
        runner: StepRunner | None = None,
        unconstrained: bool = False,
        invalid_retries: int = 2,
        log: Callable[[str], None] = lambda message: None,
    ) -> None:
        if not profiles:
            raise JxcError("no profiles to sweep")
        self.plans = [plan_profile(p, invalid_retries=invalid_retries) for p in profiles]
        names = [p.name for p in self.plans]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise JxcError(f"profile name(s) given twice: {', '.join(dupes)}")
        self.out = Path(out)
        self.runner = runner
        self.unconstrained = unconstrained
        self.log = log
        self.runs = [_ProfileRun(p) for p in self.plans]
        self.started = False
        self.measured = 0  # steps run now (not reused)
        self.reused = 0
        self._machine: dict | None = None
        self._created: str | None = None

    # the public entry point
    def run(self) -> dict:
        prepare_out(self.out, self.plans, unconstrained=self.unconstrained, create=False)  # refuse first
        if self.runner is None:
            _check_real_runner()
        manifest = prepare_out(self.out, self.plans, unconstrained=self.unconstrained)
        self.started = True  # from here on, ``out`` is this sweep's to write
        self._created = manifest.get("created") or now_iso()
        try:
            for run in self.runs:
                if self.runner is not None:
                    self._run_profile(run, self.runner)
                    continue
                if _get(run.plan.profile, "system") is not None:
                    # A vendor's own product: started, seeded and loaded through its profile's
                    # commands and locustfile (loadgen.capacity.external), the same search and verdicts.
                    from loadgen.capacity.external import ExternalLevels

                    with ExternalLevels(run.plan.profile, log_dir=self.out / run.plan.name,
                                        unconstrained=self.unconstrained) as system:
                        self._run_profile(run, system)
                    continue
                # One system per profile, its database grown and taken back between levels
                # (loadgen.capacity.levels), instead of a fresh system and a seed from zero per step.
                from loadgen.capacity.levels import LevelledSystem

                with LevelledSystem(run.plan.profile, unconstrained=self.unconstrained) as system:
                    self._run_profile(run, system)
        except KeyboardInterrupt as exc:  # Ctrl-C, SIGINT, or SIGTERM (loadgen.errors.Terminated)
            self._write(partial=True)
            raise SweepInterrupted(
                f"the sweep; {self.measured + self.reused} finished step(s) kept in {self.out} "
                f"({CAPACITY_FILE} marked partial); run the same command again to resume",
                exit_code=143 if isinstance(exc, Terminated) else 130,
            ) from None
        except BaseException:
            self._write(partial=True)
            raise
        return self._write(partial=False)

    def _run_profile(self, run: _ProfileRun, runner: StepRunner) -> None:
        plan = run.plan
        main = _Search("customers", plan.spec)
        run.searches.append(main)
        main.result = self._drive(run, main, capacity_search(plan.spec, operators=plan.operators), runner)
        if plan.frontier is not None:
            for customers in self._frontier_levels(plan, main.result):
                sub = _Search("operators", plan.frontier, customers=customers)
                run.searches.append(sub)
                sub.result = self._drive(run, sub, frontier_search(customers, plan.frontier), runner)
        run.done = True
        self._write(partial=True)

    @staticmethod
    def _frontier_levels(plan: ProfilePlan, result: SearchResult) -> list[int]:
        """U_max(N) at the lightest level searched and at the measured capacity."""
        levels = [plan.spec.start]
        if result.max_passing is not None:
            levels.append(result.max_passing)
        return sorted(set(levels))

    def _drive(self, run: _ProfileRun, search: _Search, gen, runner: StepRunner) -> SearchResult:
        try:
            proposal = next(gen)
            while True:
                operators = proposal.operators
                step = self._step(run, search, proposal.customers, operators, proposal.repeat, proposal.phase, runner)
                outcome = StepOutcome.from_step(step)
                search.levels.setdefault(proposal.level, []).append(outcome.status)
                self._write(partial=True)
                proposal = gen.send(outcome)
        except StopIteration as stop:
            return stop.value

    def _step(self, run: _ProfileRun, search: _Search, customers: int, operators: int | None,
              repeat: int, phase: str, runner: StepRunner) -> dict:
        plan = run.plan
        rate = plan.rate if operators is None else None
        rel = Path(plan.name) / step_dir_name(customers, operators, rate, repeat)
        step_dir = self.out / rel
        if rel in run.seen:
            # Another search of this profile already measured this very point (e.g. the frontier at
            # the profile's own operator count): the same measurement answers both, listed once.
            self.log(f"{plan.name}: {rel} already measured in this sweep, reused")
            return run.seen[rel]
        step = _read_finished(step_dir)
        load = (f"{operators} operators" if operators is not None
                else f"{rate:g}/s" if rate is not None else "its staff")
        label = f"{plan.name}: {customers} customers, {load}"
        if step is not None:
            self.reused += 1
            self.log(f"{label} (r{repeat}, {phase}): reused {rel}/step.json")
        else:
            if step_dir.exists():
                _set_aside(step_dir)
            step_dir.mkdir(parents=True)
            self.log(f"{label} (r{repeat}, {phase}): measuring {plan.duration_s:g} s after {plan.warmup_s:g} s warm-up ...")
            step = runner(
                plan.profile,
                customers=customers,
                operators=operators,
                rate=rate,
                duration_s=plan.duration_s,
                warmup_s=plan.warmup_s,
                out_dir=step_dir,
                unconstrained=self.unconstrained,
            )
            if not (step_dir / "step.json").is_file():  # the contract says the runner writes it; be sure
                (step_dir / "step.json").write_text(json.dumps({"schema": 1, **step}, indent=2) + "\n")
            self.measured += 1
            step = self._pool(run, step, step_dir, customers, operators, rate, repeat)
        outcome = StepOutcome.from_step(step)
        self.log(f"  -> {outcome.status}{': ' + outcome.reason if outcome.reason else ''}")
        record = dict(step)
        # step.json keeps everything; capacity.json holds the profile and the machine once, not per step
        for key in ("schema", "profile", "machine"):
            record.pop(key, None)
        record.update({"search": search.what, "phase": phase, "repeat": repeat, "dir": rel.as_posix()})
        run.steps.append(record)
        run.seen[rel] = step
        return step

    def _pool(self, run: _ProfileRun, step: dict, step_dir: Path, customers: int, operators: int | None,
              rate: float | None, repeat: int) -> dict:
        """A retry after inconclusive windows of the same point, judged on all their samples pooled
        (:mod:`loadgen.capacity.pooling`); step.json rewritten with ``pooled`` and the level's verdict."""
        plan = run.plan
        earlier: list[tuple[str, Path, float]] = []
        for r in range(repeat - 1, -1, -1):
            rel = Path(plan.name) / step_dir_name(customers, operators, rate, r)
            prior = run.seen.get(rel)
            if prior is None or not poolable(prior):
                break
            earlier.insert(0, (rel.name, self.out / rel, float(prior.get("measured_s") or 0.0)))
        if not earlier or not step.get("valid") or step.get("verdict") not in (PASS, INCONCLUSIVE):
            return step
        pooled = pooled_judgement([*earlier, (step_dir.name, step_dir, float(step.get("measured_s") or 0.0))],
                                  _get(plan.profile, "slo"))
        if pooled is None:
            return step
        step = apply_pooled(step, pooled)
        (step_dir / "step.json").write_text(json.dumps({"schema": 1, **step}, indent=2, default=str) + "\n")
        self.log(f"  pooled with {', '.join(n for n, _d, _m in earlier)}: {pooled['requests']} requests -> {pooled['verdict']}")
        return step

    # results
    def _entry(self, run: _ProfileRun) -> dict:
        plan = run.plan
        main = run.searches[0] if run.searches else _Search("customers", plan.spec)
        result = main.result or conclude(plan.spec, main.levels, stopped="interrupted" if main.levels else None)
        failing = next(
            (s for s in run.steps if s["search"] == "customers" and s.get("customers") == result.first_failing
             and StepOutcome.from_step(s).status == FAIL),  # not an inconclusive one
            None,
        )
        def main_step(n):
            return next((s for s in run.steps if s["search"] == "customers" and s.get("customers") == n
                         and s.get("valid") and s.get("passed")), None)

        held = main_step(result.max_passing) if result.max_passing is not None else None
        # An unproven top of the bracket: what its last measurement could not decide, for the verdict.
        unproven = next((s.get("inconclusive_reason") for s in reversed(run.steps)
                         if s["search"] == "customers" and s.get("customers") == result.first_failing
                         and s.get("inconclusive_reason")), None) if result.first_failing_unproven else None
        frontier = []
        for sub in run.searches[1:]:
            r = sub.result or conclude(sub.spec, sub.levels, stopped="interrupted")
            frontier.append({
                "customers": sub.customers,
                "max_operators": r.max_passing,
                "first_failing_operators": r.first_failing,
                "search": r.to_dict(),
            })
        entry = {
            "name": plan.name,
            "profile": plan.data,
            "complete": run.done,
            "operators": plan.operators,
            "rate": plan.rate,
            "max_customers": result.max_passing,
            "first_failing_customers": result.first_failing,
            # null, or why the first failing level was not shown to hold (inconclusive, nothing failed)
            "first_failing_unproven": unproven,
            "projected_max_customers": None,  # filled below when the sweep held its maximum
            "projection": None,
            "limiting_factor": limiting_factor(failing, plan.data) if failing else None,
            # the staff at the capacity (per role, online per role, operators used) and, when nothing
            # failed, how busy the busiest resource was at the largest level measured
            "staffing": (held or {}).get("staffing"),
            "staffed": plan.operators is None and plan.rate is None,
            "headroom": headroom(held, plan.data) if held and result.first_failing is None else None,
            "search": {**result.to_dict(), "precision": plan.spec.precision, "repeats": plan.spec.repeats},
            "frontier": frontier,
            "steps": run.steps,
            # operations too rare to judge at the capacity's level: named, not judged on their maximum
            "unjudged_operations": _unjudged_at(run.steps, result.max_passing),
        }
        if run.done:
            # held the maximum without a failing level: a projected capacity (labelled so) instead
            # of "may be higher"; reports.analysis.projection says which model and interval
            entry.update(projected_capacity(entry) or {})
        # the backup window: measured at every level, a limit of its own (reports.analysis.maintenance)
        window = maintenance_window(entry)
        if window is not None:
            window["limits_capacity"] = limits_capacity(entry, window)
        entry["maintenance"] = window
        return entry

    def _write(self, *, partial: bool) -> dict:
        if self._machine is None or not partial:  # at the end again: steps may name their DB versions
            engines = {(_get(_get(p.profile, "database"), "engine") or "") for p in self.plans} - {""}
            self._machine = machine_metadata(engines, [s for r in self.runs for s in r.steps])
        entries = [self._entry(r) for r in self.runs]
        doc = capacity_document(entries, machine=self._machine, partial=partial or not all(r.done for r in self.runs),
                                created=self._created)
        doc["unconstrained"] = self.unconstrained
        write_capacity(self.out, doc)
        write_steps_csv(self.out, doc)
        return doc


def _unjudged_at(steps: Sequence[Mapping], customers: int | None) -> dict[str, dict]:
    """The operations left unjudged (too few requests) by the passing steps at ``customers``: per
    operation the fewest requests it had in one of them and what a judgement needs."""
    out: dict[str, dict] = {}
    if customers is None:
        return out
    for s in steps:
        if s.get("search") != "customers" or s.get("customers") != customers or not s.get("passed"):
            continue
        for op, u in (s.get("unjudged_operations") or {}).items():
            have = out.get(op)
            if have is None or u.get("requests", 0) < have["requests"]:
                out[op] = {**u, "percentiles": sorted(set(u.get("percentiles", [])) | set((have or {}).get("percentiles", [])))}
    return dict(sorted(out.items()))


def _check_real_runner() -> None:
    """Fail before ``out`` is touched if the real step machinery cannot be imported."""
    try:
        import loadgen.capacity.levels  # noqa: F401
        import loadgen.capacity.step  # noqa: F401
    except ImportError as exc:
        raise JxcError(f"the step runner (loadgen.capacity.step / loadgen.capacity.levels) is not available: {exc}", exit_code=1) from None


def run_sweep(profiles: Sequence[Any], out: Path, **kwargs: Any) -> dict:
    """Sweep ``profiles`` into ``out`` (resuming what is there); returns the capacity document."""
    return Sweep(profiles, out, **kwargs).run()


__all__ = ["MANIFEST", "ProfilePlan", "Sweep", "SweepInterrupted", "plan_profile", "prepare_out", "run_sweep", "step_dir_name"]
