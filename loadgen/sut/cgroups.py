"""Hardware limits for the system under test: one cgroup per run, v1 or v2, removed whatever happens.

A group is named ``jxcbench-<run id>`` so that a person (or a test, via :func:`leftovers`) can find
what a run created. Limits:

* cgroup v1: ``cpu.cfs_quota_us``/``cpu.cfs_period_us``; ``cpuset.cpus`` (+ ``cpuset.mems`` copied
  from the parent, without which no task may join); ``memory.limit_in_bytes`` and
  ``memory.memsw.limit_in_bytes`` set to the same value (no swap), or ``memory.swappiness=0`` where
  the kernel has no memsw accounting. Groups are made under this process's own cgroup in each
  hierarchy, so whatever limits the machine already puts on us still apply.
* cgroup v2: ``cpu.max``, ``cpuset.cpus``, ``memory.max``, ``memory.swap.max=0`` in a group under
  the cgroup2 mount's root (the controllers are enabled in its ``cgroup.subtree_control``).

Processes join *before* they do any work: :meth:`Cgroup.preexec` is a ``preexec_fn`` that writes the
child's own pid into every ``cgroup.procs`` between fork and exec; everything it starts inherits it.
"""

from __future__ import annotations

import math
import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from loadgen.errors import JxcError, Terminated

ROOT = Path(os.environ.get("JXCBENCH_CGROUP_ROOT", "/sys/fs/cgroup"))
PREFIX = "jxcbench-"
V1_CONTROLLERS = ("cpu", "cpuset", "memory")
CFS_PERIOD_US = 100_000


class CgroupUnavailable(JxcError):
    """Cgroups cannot be written here (not root, no cgroup fs, read-only): limits cannot be applied."""


@dataclass
class Cgroup:
    """A created group: ``dirs`` holds one directory (v2) or one per v1 controller."""

    name: str
    version: int
    dirs: dict[str, Path]
    limits: dict[str, object] = field(default_factory=dict)

    @property
    def path(self) -> str:
        """Where to look: the v2 directory, or the v1 directories joined by commas."""
        return ",".join(str(d) for d in dict.fromkeys(self.dirs.values()))

    def _procs_files(self) -> list[Path]:
        return [d / "cgroup.procs" for d in dict.fromkeys(self.dirs.values())]

    def add(self, pid: int) -> None:
        for f in self._procs_files():
            f.write_text(f"{pid}\n")

    def preexec(self, then: Callable[[], None] | None = None) -> Callable[[], None]:
        """A ``preexec_fn`` that moves the child into this group, then runs ``then`` (e.g. setuid)."""
        files = [str(f) for f in self._procs_files()]

        def _join() -> None:
            pid = str(os.getpid()).encode()
            for f in files:
                fd = os.open(f, os.O_WRONLY)
                try:
                    os.write(fd, pid)
                finally:
                    os.close(fd)
            if then is not None:
                then()

        return _join

    def pids(self) -> list[int]:
        out: set[int] = set()
        for f in self._procs_files():
            try:
                out.update(int(x) for x in f.read_text().split())
            except OSError:
                pass
        return sorted(out)

    def applied(self) -> dict[str, object]:
        """The limits as the kernel reports them now (read back, not what we meant to write)."""
        return read_limits(self)

    def memory_events(self) -> dict[str, int]:
        """How often the memory limit bit: v1 ``failcnt`` and ``oom_kill``; v2 ``memory.events``."""
        out: dict[str, int] = {}
        d = self.dirs.get("memory")
        if d is None:
            return out
        if self.version == 1:
            out["failcnt"] = int(_read(d / "memory.failcnt") or 0)
            oom = _keyed(d / "memory.oom_control")
            if "oom_kill" in oom:  # kernel >= 4.13
                out["oom_kill"] = oom["oom_kill"]
        else:
            for line in (_read(d / "memory.events") or "").splitlines():
                k, _, v = line.partition(" ")
                out[k] = int(v)
        return out

    def stats(self) -> dict[str, int]:
        """Counters the sampler reads every tick: ``oom_kill`` (processes the kernel's OOM killer
        took in this group), CPU ``nr_periods`` / ``nr_throttled`` / ``throttled_time_ns`` (quota
        exhausted) and memory ``memory_usage_bytes`` (what the group is charged, page cache
        included), ``memory_cache_bytes`` (the page cache part) and ``memory_limit_bytes``."""
        out: dict[str, int] = {"oom_kill": self.memory_events().get("oom_kill", 0)}
        cpu_stat = _keyed(self.dirs["cpu"] / "cpu.stat")
        for k in ("nr_periods", "nr_throttled"):
            if k in cpu_stat:
                out[k] = cpu_stat[k]
        if "throttled_time" in cpu_stat:  # v1, ns
            out["throttled_time_ns"] = cpu_stat["throttled_time"]
        elif "throttled_usec" in cpu_stat:  # v2
            out["throttled_time_ns"] = cpu_stat["throttled_usec"] * 1000
        mem = self.dirs["memory"]
        mstat = _keyed(mem / "memory.stat")
        if self.version == 1:
            usage, limit = _read(mem / "memory.usage_in_bytes"), _read(mem / "memory.limit_in_bytes")
            cache = mstat.get("total_cache", mstat.get("cache"))
        else:
            usage, limit = _read(mem / "memory.current"), _read(mem / "memory.max")
            cache = mstat.get("file")
        if usage and usage.isdigit():
            out["memory_usage_bytes"] = int(usage)
        if cache is not None:
            out["memory_cache_bytes"] = cache
        if limit and limit.isdigit() and int(limit) < 2**62:
            out["memory_limit_bytes"] = int(limit)
        return out

    def destroy(self, timeout: float = 10.0) -> None:
        """Kill every task left in the group, then remove the directories (children first)."""
        deadline = time.monotonic() + timeout
        while True:
            pids = self.pids()
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        for d in dict.fromkeys(self.dirs.values()):
            while True:
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    # EBUSY while the last killed task is being reaped by the kernel.
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)


def _read(p: Path) -> str | None:
    try:
        return p.read_text().strip()
    except OSError:
        return None


def _keyed(p: Path) -> dict[str, int]:
    """A ``key value`` per line file (cpu.stat, memory.stat) as ints; {} if unreadable."""
    out: dict[str, int] = {}
    for line in (_read(p) or "").splitlines():
        k, _, v = line.partition(" ")
        if v.strip().lstrip("-").isdigit():
            out[k] = int(v)
    return out


def _own_path(controller: str) -> str:
    """This process's cgroup path in the v1 hierarchy of ``controller`` ("/" if none found)."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, ctrls, path = line.split(":", 2)
        if controller in ctrls.split(","):
            return path
    return "/"


def _v2_mount() -> Path | None:
    if (ROOT / "cgroup.controllers").exists():
        return ROOT
    if (ROOT / "unified" / "cgroup.controllers").exists():
        return ROOT / "unified"
    return None


def detect() -> int | None:
    """1 or 2: the cgroup version whose cpu and memory controllers we can use; None if neither."""
    v2 = _v2_mount()
    if v2 is not None and v2 == ROOT:
        return 2 if {"cpu", "memory"} <= set((_read(v2 / "cgroup.controllers") or "").split()) else None
    if all((ROOT / c / "cgroup.procs").exists() for c in V1_CONTROLLERS):
        return 1
    if v2 is not None and {"cpu", "memory"} <= set((_read(v2 / "cgroup.controllers") or "").split()):
        return 2
    return None


def new_run_id() -> str:
    return f"{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:6]}"


def create(run_id: str, *, cpus: float | None = None, cpuset: list[int] | None = None,
           memory: int | None = None) -> Cgroup:
    """Create ``jxcbench-<run_id>`` with these limits; raise :class:`CgroupUnavailable` if we cannot."""
    version = detect()
    name = f"{PREFIX}{run_id}"
    if version is None:
        raise CgroupUnavailable(
            f"hardware: no usable cgroup hierarchy under {ROOT} (need cgroup v1 cpu+cpuset+memory or cgroup v2 with "
            "cpu and memory); run as root on Linux, or pass --unconstrained to run without limits"
        )
    if version == 1:
        dirs = {c: ROOT / c / _own_path(c).lstrip("/") / name for c in V1_CONTROLLERS}
    else:
        mount = _v2_mount()
        assert mount is not None
        dirs = dict.fromkeys(V1_CONTROLLERS, mount / name)
    group = Cgroup(name=name, version=version, dirs=dirs,
                   limits={"cpus": cpus, "cpuset": cpuset, "memory": memory})
    try:
        for d in dict.fromkeys(dirs.values()):
            d.mkdir()
        if version == 1:
            _apply_v1(group, cpus, cpuset, memory)
        else:
            _apply_v2(group, cpus, cpuset, memory)
    except PermissionError as exc:
        group.destroy()
        raise CgroupUnavailable(
            f"hardware: cannot write cgroups ({exc.filename}: permission denied); run as root, or pass --unconstrained "
            "to run without hardware limits (recorded as 'native, unconstrained')"
        ) from None
    except OSError as exc:
        group.destroy()
        raise CgroupUnavailable(f"hardware: cannot set up cgroup {name}: {exc}") from None
    return group


def _cpuset_text(cpuset: list[int]) -> str:
    return ",".join(str(c) for c in cpuset)


def _apply_v1(g: Cgroup, cpus: float | None, cpuset: list[int] | None, memory: int | None) -> None:
    cpu, cs, mem = g.dirs["cpu"], g.dirs["cpuset"], g.dirs["memory"]
    if cpus is not None:
        (cpu / "cpu.cfs_period_us").write_text(str(CFS_PERIOD_US))
        (cpu / "cpu.cfs_quota_us").write_text(str(int(round(cpus * CFS_PERIOD_US))))
    # A fresh v1 cpuset is empty and refuses tasks: copy the parent's, then narrow it.
    (cs / "cpuset.mems").write_text(_read(cs.parent / "cpuset.mems") or "0")
    (cs / "cpuset.cpus").write_text(_cpuset_text(cpuset) if cpuset else (_read(cs.parent / "cpuset.cpus") or "0"))
    if memory is not None:
        (mem / "memory.limit_in_bytes").write_text(str(memory))
        if (mem / "memory.memsw.limit_in_bytes").exists():
            (mem / "memory.memsw.limit_in_bytes").write_text(str(memory))  # memory+swap = memory: no swap
        else:
            (mem / "memory.swappiness").write_text("0")


def _apply_v2(g: Cgroup, cpus: float | None, cpuset: list[int] | None, memory: int | None) -> None:
    d = g.dirs["cpu"]
    parent = d.parent
    wanted = {"cpu", "cpuset", "memory"} & set((_read(parent / "cgroup.controllers") or "").split())
    enabled = set((_read(parent / "cgroup.subtree_control") or "").split())
    for c in sorted(wanted - enabled):
        (parent / "cgroup.subtree_control").write_text(f"+{c}")
    if cpus is not None:
        (d / "cpu.max").write_text(f"{int(round(cpus * CFS_PERIOD_US))} {CFS_PERIOD_US}")
    if cpuset and (d / "cpuset.cpus").exists():
        (d / "cpuset.cpus").write_text(_cpuset_text(cpuset))
    if memory is not None:
        (d / "memory.max").write_text(str(memory))
        if (d / "memory.swap.max").exists():
            (d / "memory.swap.max").write_text("0")


def read_limits(g: Cgroup) -> dict[str, object]:
    """``{"cpus": 1.0|None, "cpuset": "1", "memory": bytes|None, "swap": "off"|...}`` from the kernel."""
    out: dict[str, object] = {"version": g.version, "path": g.path}
    if g.version == 1:
        quota = int(_read(g.dirs["cpu"] / "cpu.cfs_quota_us") or -1)
        period = int(_read(g.dirs["cpu"] / "cpu.cfs_period_us") or CFS_PERIOD_US)
        out["cpus"] = None if quota < 0 else quota / period
        out["cpuset"] = _read(g.dirs["cpuset"] / "cpuset.cpus")
        limit = int(_read(g.dirs["memory"] / "memory.limit_in_bytes") or 0)
        out["memory"] = None if limit >= 2**62 else limit
        memsw = _read(g.dirs["memory"] / "memory.memsw.limit_in_bytes")
        out["swap"] = "off" if memsw is not None and int(memsw) == limit else (
            f"swappiness {_read(g.dirs['memory'] / 'memory.swappiness')}")
    else:
        d = g.dirs["cpu"]
        quota, _, period = (_read(d / "cpu.max") or "max 100000").partition(" ")
        out["cpus"] = None if quota == "max" else int(quota) / int(period)
        out["cpuset"] = _read(d / "cpuset.cpus.effective") or _read(d / "cpuset.cpus")
        mem = _read(d / "memory.max") or "max"
        out["memory"] = None if mem == "max" else int(mem)
        out["swap"] = "off" if _read(d / "memory.swap.max") == "0" else _read(d / "memory.swap.max")
    return out


def leftovers(run_id: str | None = None) -> list[Path]:
    """Every ``jxcbench-*`` cgroup directory on this machine (or only ``run_id``'s)."""
    want = f"{PREFIX}{run_id}" if run_id else None
    found: list[Path] = []
    if not ROOT.is_dir():
        return found
    for dirpath, dirnames, _ in os.walk(ROOT):
        depth = Path(dirpath).relative_to(ROOT).parts
        for d in dirnames:
            if d.startswith(PREFIX) and (want is None or d == want):
                found.append(Path(dirpath) / d)
        if len(depth) >= 4:  # groups live near the top; do not crawl the whole tree
            dirnames[:] = []
        else:
            dirnames[:] = [d for d in dirnames if not d.startswith(PREFIX)]
    return sorted(found)


def choose_cpuset(cpus: float | None, cpuset: str | list[int] | None) -> list[int] | None:
    """The CPUs for the system under test.

    An explicit cpuset wins. Otherwise, with a quota of ``cpus`` on a machine that has more CPUs than
    ``ceil(cpus)``, the system gets the *last* ``ceil(cpus)`` CPUs and the load generator keeps the
    others — so the two do not compete for the same cores. Without a quota: no cpuset (all CPUs).
    """
    from profiles.schema import parse_cpuset

    if cpuset is not None:
        return parse_cpuset(cpuset) if isinstance(cpuset, str) else list(cpuset)
    if cpus is None:
        return None
    have = sorted(os.sched_getaffinity(0))
    need = math.ceil(cpus)
    if len(have) <= need:
        return None
    return have[-need:]


@contextmanager
def pinned_outside(sut_cpus: list[int] | None) -> Iterator[list[int] | None]:
    """Pin this (load generator) process to CPUs outside ``sut_cpus`` while inside; restore after."""
    before = os.sched_getaffinity(0)
    others = sorted(before - set(sut_cpus or ())) if sut_cpus else []
    if not others or not sut_cpus:
        yield None
        return
    os.sched_setaffinity(0, others)
    try:
        yield others
    finally:
        os.sched_setaffinity(0, before)


@contextmanager
def sigterm_as_exception() -> Iterator[None]:
    """Inside, SIGTERM raises :class:`Terminated` (so ``finally`` runs); restored on exit."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum, frame):  # noqa: ANN001
        raise Terminated(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


__all__ = [
    "Cgroup", "CgroupUnavailable", "Terminated", "create", "detect", "leftovers", "new_run_id",
    "read_limits", "choose_cpuset", "pinned_outside", "sigterm_as_exception", "PREFIX",
]
