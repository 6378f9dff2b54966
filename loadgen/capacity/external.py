"""Steps on an external system: the sweep's step runner for a profile with ``system: {kind: external}``.

Same call as :class:`loadgen.capacity.levels.LevelledSystem` (the sweep cannot tell them apart): one
system for the whole sweep (:class:`loadgen.sut.external.ExternalSystem`), and per step

1. the seed command grows the database to N customers (idempotent: the vendor's script decides how;
   going back to a smaller N is its business too), its output in the step folder as ``seed.log``;
2. the load is the book's staff as for the reference app (:mod:`loadgen.workload.staffing`: the
   online share of the staff of N, or the profile's fixed ``workload.operators``), run as that many
   users of the locustfile's User classes, spread by their own weights
   (:func:`loadgen.workload.engine.run_locustfile`), through the same
   :func:`loadgen.workload.load_run.measure_load` as the reference workload: raw samples, resources
   of the started process tree (inside the profile's cgroup when ``hardware`` sets limits: its
   throttling, memory charge and OOM kills too), the database's size when ``system.database_url``
   names it, early stop, validity;
3. the verdicts are the SLO's, judged by the same :func:`loadgen.capacity.step.judge_load` as the
   reference app's steps, on the locustfile's request names.

What an external system does not give: no book to read (its per-user accounts, when it has them,
come from ``system.users``: a CSV or a callback, :mod:`loadgen.workload.logins`), no database to
open beyond reading its size; its books are checked only by the profile's own ``system.audit``
command, run after each step.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

from loadgen.capacity.machine import machine_info, tool_version
from loadgen.capacity.step import SCHEMA_VERSION, cpu_allowance, judge_load
from loadgen.errors import JxcError
from loadgen.measure.slo import PASS, slo_thresholds
from loadgen.measure.db_size import db_size_fn
from loadgen.sut import cgroups as cg
from loadgen.sut import registry
from loadgen.sut.launcher import _describe_url, check_reachable, make_cgroup
from loadgen.sut.external import AuditFailed, ExternalSystem, clean_env
from loadgen.workload.load_run import EarlyStop, LoadFailed, measure_load
from loadgen.workload.locustfile import check_locustfile, import_check
from loadgen.workload.logins import (call_callback, check_callback, deal_by_class, read_credentials, remove_private,
                                     write_private)
from loadgen.workload.plan import LoadPlan
from loadgen.workload.staffing import Staffing, online_of, staff_of_book


def users_at(profile: Any, customers: int, operators: int | None) -> tuple[int, dict]:
    """How many users work the step, and the staffing record step.json keeps."""
    wl = profile.workload
    if operators or wl.operators:
        n = int(operators or wl.operators)
        # no persona counts: Locust spreads the users over the classes by their weights
        return n, {"mode": "fixed", "online": {}, "users": n}
    staffing = Staffing.of(wl.staffing).with_quota(wl.customer_quota)
    staff = staff_of_book(customers, staffing)
    online = online_of(staff, staffing.online_share)
    record = {"mode": "staffed", "staff": staff, "online": online, "online_share": staffing.online_share}
    mapped = profile.system.personas if profile.system is not None else {}
    if not mapped:
        return sum(online.values()), record
    # the online staff of each mapped role, as users of its class; roles no class plays stay home
    record["classes"] = {cls: online.get(role, 0) for cls, role in mapped.items()}
    n = sum(record["classes"].values())
    if n == 0:
        raise JxcError(f"system.personas: none of the roles {sorted(set(mapped.values()))} has anyone online at "
                       f"{customers:,} customers (online: {online}); map a class to sales, or start the sweep higher")
    return n, record


class ExternalLevels:
    """A step runner over one external system (``with ExternalLevels(profile, out) as runner``)."""

    def __init__(self, profile: Any, *, log_dir: Path, unconstrained: bool = False) -> None:
        if profile.system is None:
            raise JxcError(f"profile {profile.name}: no system section; this runner is for external systems", exit_code=1)
        self.profile = profile
        self.unconstrained = unconstrained
        self.locustfile = Path(profile.system.dir or ".") / profile.system.workload
        self.sut = ExternalSystem(profile.system, log_dir=Path(log_dir))
        self.snapshots: dict[int, str] = {}  # level -> the name its clean book was saved under
        self.cgroup: cg.Cgroup | None = None
        self.limits: dict = {}
        self.database_url: str | None = None
        self.db_size: Any = None
        self._stack = contextlib.ExitStack()
        try:
            self.personas = check_locustfile(self.locustfile, where="system.workload")
            import_check(self.locustfile, where="system.workload")
        except JxcError as exc:
            raise JxcError(f"{self.sut.where}{exc}") from None
        users = profile.system.users
        self.users_field = "system.users" if isinstance(users, str) else (users.where if users else None)
        csv_name = users if isinstance(users, str) else (users.csv if users else None)
        self.callback = users.callback if users is not None and not isinstance(users, str) else None
        self.credentials_csv = Path(profile.system.dir or ".") / csv_name if csv_name else None
        try:  # read now, to refuse a missing or empty file (or a callback file without it) before anything starts
            self.credentials = read_credentials(self.credentials_csv, where=self.users_field) if csv_name else []
            if self.callback:
                check_callback(self.callback, Path(profile.system.dir or "."), where=self.users_field)
        except JxcError as exc:
            raise JxcError(f"{self.sut.where}{exc}") from None

    def __enter__(self) -> ExternalLevels:
        """The cgroup (with hardware limits), then the system started inside it, then its database
        reached (with ``system.database_url``)."""
        try:
            self.cgroup, self.limits = make_cgroup(self.profile.hardware, cg.new_run_id(),
                                                   unconstrained=self.unconstrained, stack=self._stack)
            self.sut.cgroup = self.cgroup
            self.sut.__enter__()
            if self.profile.system.database_url:
                self.database_url = self.sut._fill("database_url", self.profile.system.database_url)
                check_reachable(self.database_url, field=f"{self.sut.where}system.database_url")
                self.db_size = db_size_fn(self.database_url)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.sut.close()
        finally:
            getattr(self.db_size, "dispose", lambda: None)()
            if self.cgroup is not None:
                self.cgroup.destroy()  # kills whatever the system left in it
                registry.release_cgroup(list(self.cgroup.dirs.values()))
                self.cgroup = None
            self._stack.close()  # the load generator is no longer pinned

    def cgroup_stats(self) -> dict:
        return self.cgroup.stats() if self.cgroup is not None else {}

    def __call__(self, profile: Any, *, customers: int, operators: int | None = None, rate: float | None = None,
                 duration_s: float, warmup_s: float, out_dir: Path, unconstrained: bool = False,
                 **measure: Any) -> dict:
        if profile is not self.profile:
            raise JxcError("an ExternalLevels runs the steps of the profile it was made for", exit_code=1)
        if rate is not None:
            raise JxcError("workload.rate: the open model needs jxcbench's own workload; a locustfile runs closed "
                           "(drop workload.rate)")
        t_start = time.time()
        out_dir = Path(out_dir)
        book = self.prepare_book(int(customers), out_dir)
        if self.db_size is not None:
            try:
                book["db_bytes"] = self.db_size()  # the level's book as seeded, before any load
            except Exception:  # noqa: BLE001 - a size is a figure, not a reason to stop the sweep
                book["db_bytes"] = None
        seed_s = book.get("seed_s", 0.0)
        if not self.sut.healthy():
            raise JxcError(f"{self.sut.where}system.health: {self.sut.base_url}{profile.system.health} stopped "
                           f"answering after system.seed at {customers:,} customers")
        users, staffing = users_at(profile, customers, operators)
        logins = self.logins_for(users, customers, staffing.get("classes") or {})
        try:
            step = measure_external(profile, self.sut, locustfile=self.locustfile, customers=customers, users=users,
                                    class_counts=staffing.get("classes") or {},
                                    class_roles=dict(profile.system.personas),
                                    duration_s=duration_s, warmup_s=warmup_s, out_dir=out_dir,
                                    credentials_csv=self.credentials_csv, credentials_json=logins,
                                    limits=self.limits, cgroup_stats=self.cgroup_stats, db_size=self.db_size,
                                    database_url=self.database_url)
        finally:
            if logins is not None:
                remove_private(logins)
                registry.release_dir(logins.parent)
        # the commands' logs this step's folder holds: a restored level ran no seed
        logs = {"seeded": ("seed",), "grown": ("restore", "seed"), "restored": ("restore",)}[book["how"]]
        step["files"] = {**{k: v for k, v in step["files"].items() if k != "seed_log"},
                         **{f"{name}_log": f"{name}.log" for name in logs}}
        if self.users_field:
            step["logins"] = {"source": self.users_field, "given": self.logins_given, "users": users}
        step.update({"staffing": staffing, "seed_s": round(seed_s, 3), "book": book,
                     "wall_s": round(time.time() - t_start, 3), "personas": self.personas,
                     "unconstrained": self.unconstrained})
        (out_dir / "step.json").write_text(json.dumps(step, indent=2, default=str) + "\n")
        return step

    def logins_for(self, users: int, customers: int, classes: dict[str, int] | None = None) -> Path | None:
        """The step's logins: the CSV's (checked against ``users``), or the callback's answer for
        this step in a private file (returned: the caller removes it); None without a callback. Too
        few logins for the step's users is bad input, refused with both numbers; with
        ``system.personas`` (``classes``: users per class) too few for a class or its role too."""
        system = self.profile.system
        if self.callback is None:
            self.logins_given = len(self.credentials) if self.credentials_csv else None
            rows, path = self.credentials, None
        else:
            rows = call_callback(self.callback, Path(system.dir or "."), count=users, customers=customers,
                                 base_url=self.sut.base_url, env=clean_env(system.env), where=self.users_field)
            self.logins_given = len(rows)
        if self.users_field and users > len(rows):
            value = self.callback or (system.users if isinstance(system.users, str) else system.users.csv)
            raise JxcError(f"{self.sut.where}{self.users_field}: {value!r} gave {len(rows)} logins; the step at "
                           f"{customers:,} customers needs {users} users (one login each)")
        if self.users_field and classes:
            try:
                deal_by_class(rows, classes, dict(system.personas))
            except ValueError as exc:
                value = self.callback or (system.users if isinstance(system.users, str) else system.users.csv)
                raise JxcError(f"{self.sut.where}{self.users_field}: {value!r}: {exc} at {customers:,} customers "
                               f"(system.personas)") from None
        if self.callback is not None:
            path = write_private(rows)
            registry.claim_dir(path.parent)  # a killed sweep's next run removes it
        return path

    def prepare_book(self, customers: int, out_dir: Path) -> dict:
        """The book of ``customers`` customers the step measures, and how it was made (step.json's
        ``book``). With ``system.snapshot``/``restore``: a level saved before is restored (its last
        step's orders gone), a new one is grown by the seed command from the nearest smaller saved
        level and saved before any load; without them the seed command runs on what is there."""
        system = self.profile.system
        if not system.snapshot:
            return {"how": "seeded", "seed_s": round(self.sut.run("seed", out_dir, customers=customers), 3)}
        if customers in self.snapshots:
            t = self.sut.run("restore", out_dir, name=self.snapshots[customers], customers=customers)
            return {"how": "restored", "snapshot": self.snapshots[customers], "restore_s": round(t, 3), "seed_s": 0.0}
        book: dict = {"how": "seeded"}
        below = [n for n in self.snapshots if n < customers]
        if below:
            base = max(below)
            book.update(how="grown", base=base, restore_s=round(self.sut.run(
                "restore", out_dir, name=self.snapshots[base], customers=base), 3))
        book["seed_s"] = round(self.sut.run("seed", out_dir, customers=customers), 3)
        name = f"level-{customers}"
        book["snapshot_s"] = round(self.sut.run("snapshot", out_dir, name=name, customers=customers), 3)
        self.snapshots[customers] = book["snapshot"] = name
        return book


def measure_external(profile: Any, sut: ExternalSystem, *, locustfile: Path, customers: int, users: int,
                     duration_s: float, warmup_s: float, out_dir: Path, credentials_csv: Path | None = None,
                     credentials_json: Path | None = None, limits: dict | None = None, class_counts: dict | None = None,
                     class_roles: dict | None = None,
                     cgroup_stats: Any = None, db_size: Any = None, database_url: str | None = None) -> dict:
    """Run the locustfile against the system and judge the step (contract fields of step.json).
    ``limits``: what :func:`loadgen.sut.launcher.make_cgroup` applied; ``cgroup_stats``: its counters,
    sampled every second; ``db_size``: the system's database size (``system.database_url``)."""
    slo = profile.slo
    max_extension = float(profile.sweep.max_extension or 0.0)
    plan = LoadPlan(base_url=sut.base_url, locustfile=str(locustfile.resolve()), users=users, customers=int(customers),
                    credentials_csv=str(credentials_csv.resolve()) if credentials_csv else None,
                    credentials_json=str(credentials_json) if credentials_json else None,
                    class_counts=dict(class_counts or {}), class_roles=dict(class_roles or {}),
                    seed=int(profile.workload.seed or 42), warmup_s=float(warmup_s), duration_s=float(duration_s))
    stop = EarlyStop(slo_thresholds(slo), duration_s, in_flight_max=users,
                     cap_s=float(duration_s) * (1.0 + max_extension))
    try:
        res = measure_load(plan, out_dir, sut_groups={"app": sut.pids}, health=sut.healthy,
                           min_requests=profile.system.min_requests, early_stop=stop, cgroup_stats=cgroup_stats,
                           db_size=db_size)
    except LoadFailed as exc:
        raise JxcError(f"system.workload: {exc}", exit_code=1) from None
    fig, validity, stopped = res["figures"], res["validity"], res["stopped_early"]
    audit = audit_books(sut, out_dir, customers=int(customers))
    also = [] if audit is None or audit["ok"] else [f"audit: {audit['detail']}"]
    failures, verdict, unjudged, inconclusive = judge_load(res, slo, duration_s, also)  # the reference app's rules
    window = res["window"]
    resources = dict(res["resources"])
    resources.pop("extra", None)
    limits = limits or {}
    resources.update(cpu_allowance(limits.get("cpus"), limits.get("cpuset"), limits.get("memory")))
    return {
        "schema": SCHEMA_VERSION,
        "customers": int(customers),
        "operators": int(users),
        "duration_s": float(duration_s),
        "requests": fig["requests"],
        "rps": fig["rps"],
        "error_rate": fig["error_rate"] if fig["error_rate"] is not None else 0.0,
        "passed": validity.valid and verdict == PASS,
        "latency_ms": fig["latency_ms"],
        "operations": fig["operations"],
        "resources": resources,
        "valid": validity.valid,
        "invalid_reason": validity.reason,
        "model": "closed",
        "rate": None,
        "warmup_s": float(warmup_s),
        "measured_s": res["measured_s"],
        "stopped_early": stopped,
        "early_stopped": stopped is not None,
        "verdict": verdict,
        "unjudged_operations": unjudged,
        "inconclusive_reason": inconclusive,
        "window": window,
        "extension_s": window["extension_s"],
        "fail_reason": "; ".join(failures) if failures and validity.valid else None,
        "slo_failures": failures,
        "refusals": fig["refusals"],
        "errors": fig["errors"],
        "goodput_rps": fig["goodput_rps"],
        "percentile_method": fig["percentile_method"],
        "confidence_bounds": fig.get("confidence_bounds"),
        # users that started (on_start ran clean), could not (login failures), and requests still
        # in flight drain_s after the window: recorded as timeout errors, not dropped
        "operators_planned": res["operators_planned"],
        "operators_logged_in": res["operators_logged_in"],
        "operators_active": res["operators_active"],
        "login_failures": res["login_failures"],
        "timed_out_at_end": res["timed_out_at_end"],
        "users_by_class": _users_by_class(res["load"]),
        "audit": audit,  # None: the profile gives no system.audit, the books were not checked
        "loadgen": res["loadgen"],
        "sut_events": res.get("sut_events"),
        "machine_load": res.get("machine_load"),
        "system": {"kind": "external", "base_url": sut.base_url, "workload": str(locustfile), "limits": limits,
                   "cgroup": sut.cgroup.path if sut.cgroup is not None else None,
                   "database": {"url": _describe_url(database_url)} if database_url else None},
        "profile": profile.model_dump(mode="json"),
        "machine": machine_info(),
        "tool_version": tool_version(),
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "files": {"samples": "samples.parquet", "resources": "resources.csv", "seed_log": "seed.log",
                  **({"audit_log": "audit.log"} if audit is not None else {})},
    }


def _users_by_class(load: dict) -> dict[str, int]:
    """How many users of each User class started (on_start ran clean), over every engine process."""
    out: dict[str, int] = {}
    for w in load.get("workers", []):
        for cls, n in ((w.get("stats") or {}).get("sessions_by_class") or {}).items():
            out[cls] = out.get(cls, 0) + int(n)
    return out


def audit_books(sut: ExternalSystem, out_dir: Path, *, customers: int) -> dict | None:
    """The profile's ``system.audit`` after the load: ``{"ok", "exit", "seconds", "detail"}``, or
    None when the profile has none. A non-zero exit is a finding about the system (the step fails
    with it), not bad input: only a command that cannot be run at all stops the sweep."""
    if not sut.system.audit:
        return None
    try:
        seconds = sut.run("audit", out_dir, customers=customers)
    except AuditFailed as exc:
        return {"ok": False, "exit": exc.returncode, "seconds": exc.seconds, "detail": str(exc)}
    return {"ok": True, "exit": 0, "seconds": round(seconds, 3), "detail": None}


__all__ = ["ExternalLevels", "audit_books", "measure_external", "users_at"]
