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
    rows: list[dict[str, Any]] = field(default_factory=list)
    crashes: list[Crash] = field(default_factory=list)

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
        kids = _children_map()  # one scan of the process table per tick, shared by all groups
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
                    self._prev[p.pid] = cur
            if dt:
                row[f"{group}_cpu_pct"] = round(cpu, 2)
                row[f"{group}_max_proc_cpu_pct"] = round(busiest, 2)
                row[f"{group}_read_bytes"] = int(rd)
                row[f"{group}_write_bytes"] = int(wr)
            row[f"{group}_rss_mb"] = round(rss / 2**20, 2)
            row[f"{group}_procs"] = n
        for gone in set(self._procs) - seen:
            self._procs.pop(gone, None)
            self._prev.pop(gone, None)
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


def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    if os.path.isdir("/proc/self"):
        # Linux: the parent of every process straight from /proc/PID/stat (5x cheaper than psutil's
        # process_iter, which also re-checks each pid for reuse).
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/stat", "rb") as fh:
                    stat = fh.read()
            except OSError:
                continue
            ppid = int(stat[stat.rfind(b")") + 2:].split(b" ", 2)[1])
            kids.setdefault(ppid, []).append(int(name))
        return kids
    for p in psutil.process_iter(["ppid"]):
        ppid = p.info.get("ppid")
        if ppid is not None:
            kids.setdefault(ppid, []).append(p.pid)
    return kids


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
    return out | {"extra": extra}


__all__ = ["Crash", "ResourceSampler", "summarise_resources"]
