"""Resource sampling with psutil, once a second, in a background thread.

Groups of processes are named (``app``, ``db``, ``loadgen``); each group is its root pids plus all
their descendants, re-discovered at every tick (uvicorn and PostgreSQL fork workers). Per group and
tick: CPU % (of one core: 200 = two cores busy), the busiest single process's CPU % (what tells a
saturated single-threaded load generator), RSS, bytes read/written in the interval, process count.
The database's size on disk comes from a callable (file sizes for SQLite, ``pg_database_size`` /
``information_schema`` for servers), sampled every ``db_size_every`` ticks because it is a query.

A root pid that disappears is a crash of the system under test: it is recorded with its time and
group, and the step is invalid. Pass *roots* (the uvicorn supervisor, the postmaster), not whole
trees: children come and go normally (database backends), roots must not.

In the groups named in ``watch_children`` (the app: uvicorn's workers are its supervisor's direct
children) a direct child that vanishes while its root lives is a **worker restart** (:class:`Crash`
in ``restarts``): the server lost a worker and its in-flight requests — the system's answer, not the
harness's failure.

Around the groups, per tick and from the same scan of ``/proc``:

* **foreign CPU**: the CPU % (of one core) of every process outside the groups — neither the system
  under test nor the load generator — summed (``foreign_cpu_pct``), its busiest one
  (``foreign_top_*``), and per process (:meth:`ResourceSampler.foreign_offender`). Not counted: this
  process (the sampler runs in it: the step, the sweep, a test) and its ancestors (the shell, the
  jxcbench parent), and kernel threads (they do the system's own I/O).
* the machine's ``iowait_pct`` and ``steal_pct`` from ``/proc/stat`` (% of one core).
* ``cgroup_stats``: a callable read every tick (the run's cgroup counters: OOM kills, throttled CPU
  time, memory charged), stored as ``cg_<name>`` columns.
* ``breakdown``: named parts of the groups (the services of a microservices app: each its root
  pids), whose processes' CPU % and RSS are summed again per part as ``svc_<name>_cpu_pct`` /
  ``svc_<name>_rss_mb`` — a second view of processes a group already counted, not a group itself
  (no crash tracking; the group's roots do that).
"""

from __future__ import annotations

import csv
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import psutil

RootsSpec = Iterable[int] | Callable[[], Iterable[int]]


@dataclass
class _ProcState:
    cpu: float
    read: int
    write: int


@dataclass
class Crash:
    group: str
    pid: int
    at_s: float


@dataclass
class ResourceSampler:
    groups: dict[str, RootsSpec]
    out_csv: Path | None = None
    interval_s: float = 1.0
    db_size: Callable[[], int | None] | None = None
    db_size_every: int = 5
    watch_children: frozenset[str] = frozenset()
    cgroup_stats: Callable[[], dict[str, int]] | None = None
    breakdown: dict[str, RootsSpec] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)
    crashes: list[Crash] = field(default_factory=list)
    restarts: list[Crash] = field(default_factory=list)
    # per tick (ts) the foreign processes that used at least FOREIGN_KEEP_PCT: {pid: (name, cpu %)}
    foreign: dict[float, dict[int, tuple[str, float]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._prev: dict[int, _ProcState] = {}
        self._procs: dict[int, psutil.Process] = {}
        self._last_t: float | None = None
        self._db_bytes: int | None = None
        self._ticks = 0
        self._dead_roots: set[int] = set()
        self._seen_roots: dict[str, list[int]] = {}
        self._kids: dict[tuple[str, int], set[int]] = {}  # watched roots' direct children last tick
        self._foreign_prev: dict[int, int] = {}  # pid -> CPU ticks at the last tick
        self._stat_prev: list[int] | None = None
        self._exempt = _self_and_ancestors()

    # -- life cycle --------------------------------------------------------------------------
    def start(self) -> "ResourceSampler":
        self.sample()  # baseline: CPU needs two readings
        self._thread = threading.Thread(target=self._run, name="jxc-sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        self.sample()
        if self.out_csv:
            self.write_csv(self.out_csv)

    def _run(self) -> None:
        next_t = time.monotonic() + self.interval_s
        while not self._stop.wait(max(0.0, next_t - time.monotonic())):
            self.sample()
            next_t += self.interval_s

    # -- one tick ----------------------------------------------------------------------------
    def _roots(self, spec: RootsSpec) -> list[int]:
        return list(spec() if callable(spec) else spec)

    def _proc(self, pid: int) -> psutil.Process | None:
        p = self._procs.get(pid)
        if p is None:
            try:
                p = psutil.Process(pid)
            except psutil.Error:
                return None
            self._procs[pid] = p
        return p

    def sample(self) -> dict[str, Any]:
        now = time.time()
        dt = (now - self._last_t) if self._last_t else None
        row: dict[str, Any] = {"ts": round(now, 3)}
        seen: set[int] = set()
        table = _scan_proc()  # one scan of the process table per tick, shared by all groups
        kids = _kids_of(table)
        tick: dict[int, tuple[float, int]] = {}  # pid -> (CPU %, RSS) this tick, for the breakdown
        for group, spec in self.groups.items():
            cpu = rss = rd = wr = 0.0
            busiest = 0.0
            n = 0
            # A root seen once stays watched: a spec that stops listing a dead process (a launcher
            # whose pid list is empty once its process is gone) must not hide the crash.
            seen_roots = self._seen_roots.setdefault(group, [])
            for r in self._roots(spec):
                if r not in seen_roots:
                    seen_roots.append(r)
            for root in list(seen_roots):
                rp = self._proc(root)
                alive = rp is not None and rp.is_running() and _not_zombie(rp)
                if not alive:
                    if root not in self._dead_roots:
                        self._dead_roots.add(root)
                        self.crashes.append(Crash(group, root, now))
                    continue
                if group in self.watch_children:
                    self._watch_children(group, root, set(kids.get(root, [])), now)
                members = [rp] + [m for m in (self._proc(c) for c in _descendants(root, kids)) if m is not None]
                for p in members:
                    if p.pid in seen:
                        continue
                    seen.add(p.pid)
                    st = self._read(p)
                    if st is None:
                        continue
                    n += 1
                    rss += st[1]
                    prev = self._prev.get(p.pid)
                    cur = st[0]
                    pc_ = 0.0
                    if prev is not None and dt:
                        pc_ = max(0.0, (cur.cpu - prev.cpu) / dt * 100.0)
                        cpu += pc_
                        busiest = max(busiest, pc_)
                        rd += max(0, cur.read - prev.read)
                        wr += max(0, cur.write - prev.write)
                    elif dt and st[2] >= (self._last_t or now):
                        # Born during this interval: all its CPU time belongs to the interval.
                        pc_ = cur.cpu / dt * 100.0
                        cpu += pc_
                        busiest = max(busiest, pc_)
                    tick[p.pid] = (pc_, st[1])
                    self._prev[p.pid] = cur
            if dt:
                row[f"{group}_cpu_pct"] = round(cpu, 2)
                row[f"{group}_max_proc_cpu_pct"] = round(busiest, 2)
                row[f"{group}_read_bytes"] = int(rd)
                row[f"{group}_write_bytes"] = int(wr)
            row[f"{group}_rss_mb"] = round(rss / 2**20, 2)
            row[f"{group}_procs"] = n
        for part, spec in self.breakdown.items():
            members: set[int] = set()
            for root in self._roots(spec):
                members.add(root)
                members.update(_descendants(root, kids))
            if dt:
                row[f"svc_{part}_cpu_pct"] = round(sum(tick.get(m, (0.0, 0))[0] for m in members), 2)
            row[f"svc_{part}_rss_mb"] = round(sum(tick.get(m, (0.0, 0))[1] for m in members) / 2**20, 2)
        for gone in set(self._procs) - seen:
            self._procs.pop(gone, None)
            self._prev.pop(gone, None)
        self._sample_machine(row, table, seen, dt, now)
        if self.cgroup_stats is not None:
            try:
                row.update({f"cg_{k}": v for k, v in self.cgroup_stats().items()})
            except Exception:  # noqa: BLE001 - a cgroup that is gone must not kill the sampler
                pass
        if self.db_size is not None and (self._ticks % self.db_size_every == 0 or self._stop.is_set()):
            try:
                self._db_bytes = self.db_size()
            except Exception:  # noqa: BLE001 - a failing size query must not kill the sampler
                pass
        row["db_bytes"] = self._db_bytes
        self._ticks += 1
        self._last_t = now
        if dt:
            self.rows.append(row)
        return row

    def _watch_children(self, group: str, root: int, now_kids: set[int], now: float) -> None:
        before = self._kids.get((group, root))
        if before is not None:
            for pid in sorted(before - now_kids):
                self.restarts.append(Crash(group, pid, now))
        self._kids[(group, root)] = now_kids

    def _sample_machine(self, row: dict[str, Any], table: dict[int, tuple[int, int, int, str, str]], members: set[int],
                        dt: float | None, now: float) -> None:
        """Foreign CPU (processes outside every group), iowait and steal: see the module docstring."""
        per: dict[int, tuple[str, float]] = {}
        prev, cur = self._foreign_prev, {}
        boot_now = time.clock_gettime(time.CLOCK_BOOTTIME)
        for pid, (ppid, ticks, start, name, _state) in table.items():
            if pid in members or pid in self._exempt or ppid == 2 or pid == 2:
                continue
            cur[pid] = ticks
            if not dt:
                continue
            before = prev.get(pid)
            if before is None:
                # Born during this interval: all its CPU belongs to it; older ones were not seen yet.
                if start / _CLK_TCK < boot_now - dt - 0.05:
                    continue
                before = 0
            pct = max(0, ticks - before) / _CLK_TCK / dt * 100.0
            if pct >= FOREIGN_KEEP_PCT:
                per[pid] = (name, round(pct, 1))
        self._foreign_prev = cur
        stat = _proc_stat()
        if dt:
            row["foreign_cpu_pct"] = round(sum(v[1] for v in per.values()), 2)
            top = max(per.items(), key=lambda kv: kv[1][1], default=None)
            row["foreign_top_pid"] = top[0] if top else None
            row["foreign_top_name"] = top[1][0] if top else None
            row["foreign_top_cpu_pct"] = top[1][1] if top else 0.0
            self.foreign[round(now, 3)] = per
            if stat is not None and self._stat_prev is not None:
                for i, key in ((4, "iowait_pct"), (7, "steal_pct")):
                    if len(stat) > i:
                        row[key] = round(max(0, stat[i] - self._stat_prev[i]) / _CLK_TCK / dt * 100.0, 2)
        self._stat_prev = stat

    def foreign_offenders(self, rows: list[dict[str, Any]], n: int = 5) -> list[tuple[int, str, float]]:
        """The ``n`` foreign processes that used the most CPU over ``rows`` (e.g. :meth:`window`),
        busiest first: ``(pid, name, mean CPU % of one core over those ticks)``."""
        total: dict[int, float] = {}
        names: dict[int, str] = {}
        for r in rows:
            for pid, (name, pct) in self.foreign.get(r["ts"], {}).items():
                total[pid] = total.get(pid, 0.0) + pct
                names[pid] = name
        top = sorted(total, key=lambda p: -total[p])[:n]
        return [(pid, names[pid], round(total[pid] / len(rows), 1)) for pid in top]

    def foreign_offender(self, rows: list[dict[str, Any]]) -> tuple[int, str, float] | None:
        """The busiest of :meth:`foreign_offenders`, or None."""
        top = self.foreign_offenders(rows, 1)
        return top[0] if top else None

    @staticmethod
    def _read(p: psutil.Process) -> tuple[_ProcState, int, float] | None:
        try:
            with p.oneshot():
                t = p.cpu_times()
                rss = p.memory_info().rss
                try:
                    io = p.io_counters()
                    rd, wr = io.read_bytes, io.write_bytes
                except (psutil.AccessDenied, AttributeError):
                    rd = wr = 0
                created = p.create_time()
        except psutil.Error:
            return None
        return _ProcState(t.user + t.system, rd, wr), rss, created

    # -- output ------------------------------------------------------------------------------
    def write_csv(self, path: Path) -> None:
        keys: list[str] = []
        for r in self.rows:
            for k in r:
                if k not in keys:
                    keys.append(k)
        with open(path, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=keys)
            w.writeheader()
            w.writerows(self.rows)

    def window(self, start_s: float, end_s: float) -> list[dict[str, Any]]:
        """Rows whose interval (ts - interval, ts] lies inside [start_s, end_s] (the measured window),
        with a tenth of an interval of slack for timer jitter."""
        slack = 0.1 * self.interval_s
        return [r for r in self.rows if r["ts"] - self.interval_s >= start_s - slack and r["ts"] <= end_s + slack]


FOREIGN_KEEP_PCT = 0.5  # foreign processes below this CPU % in a tick are summed but not named
_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _scan_proc() -> dict[int, tuple[int, int, int, str, str]]:
    """Every process: ``pid -> (ppid, CPU ticks user+system, start time in ticks since boot, name, state)``.

    Linux: straight from /proc/PID/stat (5x cheaper than psutil's process_iter, which also re-checks
    each pid for reuse). Elsewhere: parents only (CPU 0), so the groups still work.
    """
    table: dict[int, tuple[int, int, int, str, str]] = {}
    if os.path.isdir("/proc/self"):
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/stat", "rb") as fh:
                    stat = fh.read()
            except OSError:
                continue
            close = stat.rfind(b")")
            comm = stat[stat.find(b"(") + 1:close].decode(errors="replace")
            f = stat[close + 2:].split(b" ")
            # after the name: state(0) ppid(1) ... utime(11) stime(12) ... starttime(19)
            table[int(name)] = (int(f[1]), int(f[11]) + int(f[12]), int(f[19]), comm, f[0].decode())
        return table
    for p in psutil.process_iter(["ppid", "name"]):
        if p.info.get("ppid") is not None:
            table[p.pid] = (p.info["ppid"], 0, 0, p.info.get("name") or "?", "R")
    return table


def _kids_of(table: dict[int, tuple[int, int, int, str, str]]) -> dict[int, list[int]]:
    """Parent -> children, zombies left out: a killed worker its parent has not reaped yet is dead."""
    kids: dict[int, list[int]] = {}
    for pid, (ppid, _ticks, _start, _name, state) in table.items():
        if state != "Z":
            kids.setdefault(ppid, []).append(pid)
    return kids


def _children_map() -> dict[int, list[int]]:
    return _kids_of(_scan_proc())


def _self_and_ancestors() -> set[int]:
    out, p = set(), psutil.Process()
    while p is not None:
        out.add(p.pid)
        try:
            p = p.parent()
        except psutil.Error:
            break
    return out


def _proc_stat() -> list[int] | None:
    """The machine's ``cpu`` line of /proc/stat: user nice system idle iowait irq softirq steal ...
    (ticks), or None where there is none."""
    try:
        with open("/proc/stat") as fh:
            first = fh.readline().split()
    except OSError:
        return None
    return [int(x) for x in first[1:]] if first and first[0] == "cpu" else None


def _descendants(root: int, kids: dict[int, list[int]]) -> list[int]:
    out, todo = [], list(kids.get(root, []))
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(kids.get(pid, []))
    return out


def _not_zombie(p: psutil.Process) -> bool:
    try:
        return p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def summarise_resources(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Contract figures over the measured window: mean CPU %, peak RSS, last DB size."""
    def mean(key: str) -> float | None:
        vals = [r[key] for r in rows if r.get(key) is not None]
        return round(sum(vals) / len(vals), 2) if vals else None

    def peak(key: str) -> float | None:
        vals = [r[key] for r in rows if r.get(key) is not None]
        return round(max(vals), 2) if vals else None

    db_sizes = [r["db_bytes"] for r in rows if r.get("db_bytes") is not None]
    out = {
        "app_cpu_pct": mean("app_cpu_pct"),
        "db_cpu_pct": mean("db_cpu_pct"),
        "loadgen_cpu_pct": mean("loadgen_cpu_pct"),
        "app_rss_mb": peak("app_rss_mb"),
        "db_rss_mb": peak("db_rss_mb"),
        "db_bytes": db_sizes[-1] if db_sizes else None,
    }
    extra = {}
    for g in ("app", "db", "loadgen"):
        extra[f"{g}_read_bytes_per_s"] = mean(f"{g}_read_bytes")
        extra[f"{g}_write_bytes_per_s"] = mean(f"{g}_write_bytes")
        extra[f"{g}_cpu_pct_peak"] = peak(f"{g}_cpu_pct")
    extra["loadgen_max_proc_cpu_pct"] = mean("loadgen_max_proc_cpu_pct")
    extra["samples"] = len(rows)
    parts = sorted({k[4:-8] for r in rows for k in r if k.startswith("svc_") and k.endswith("_cpu_pct")})
    if parts:  # a microservices app: each service's share of app_cpu_pct / app_rss_mb
        out["services"] = {p: {"cpu_pct": mean(f"svc_{p}_cpu_pct"), "rss_mb": peak(f"svc_{p}_rss_mb")} for p in parts}
    return out | _allowance_figures(rows) | {"extra": extra}


def _p90(vals: list[float]) -> float | None:
    return round(float(np.percentile(vals, 90, method="lower")), 2) if vals else None


def _allowance_figures(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """What the limiting factor weighs against the profile's allowance (reports.analysis.limiting):
    app + database CPU per second together, the cgroup's CPU throttling and memory charge (page
    cache included), the machine's iowait and steal, and the CPU of processes outside the step."""
    sut = [(r.get("app_cpu_pct") or 0.0) + (r.get("db_cpu_pct") or 0.0) for r in rows
           if r.get("app_cpu_pct") is not None or r.get("db_cpu_pct") is not None]
    out: dict[str, Any] = {
        "sut_cpu_pct": round(sum(sut) / len(sut), 2) if sut else None,
        "sut_cpu_pct_p90": _p90(sut),
        "iowait_pct": _mean(rows, "iowait_pct"),
        "steal_pct": _mean(rows, "steal_pct"),
        "foreign_cpu_pct_p90": _p90([r["foreign_cpu_pct"] for r in rows if r.get("foreign_cpu_pct") is not None]),
    }

    def delta(key: str) -> int | None:
        vals = [r[key] for r in rows if r.get(key) is not None]
        return int(vals[-1] - vals[0]) if len(vals) > 1 else None

    def peak(key: str) -> int | None:
        vals = [r[key] for r in rows if r.get(key) is not None]
        return int(max(vals)) if vals else None

    if any(k.startswith("cg_") for r in rows[:1] for k in r):
        periods, throttled = delta("cg_nr_periods"), delta("cg_nr_throttled")
        ns = delta("cg_throttled_time_ns")
        out |= {
            "cpu_nr_periods": periods, "cpu_nr_throttled": throttled,
            "cpu_throttled_s": round(ns / 1e9, 3) if ns is not None else None,
            "cpu_throttled_share": round(throttled / periods, 4) if periods and throttled is not None else None,
            "memory_usage_bytes_peak": peak("cg_memory_usage_bytes"),
            "memory_cache_bytes_peak": peak("cg_memory_cache_bytes"),
            "memory_limit_bytes": peak("cg_memory_limit_bytes"),
        }
    return out


def _mean(rows: list[dict[str, Any]], key: str) -> float | None:
    vals = [r[key] for r in rows if r.get(key) is not None]
    return round(sum(vals) / len(vals), 2) if vals else None


__all__ = ["Crash", "ResourceSampler", "summarise_resources"]
