"""Cgroups: limits as the kernel reports them, membership before exec, the memory limit binds, cleanup."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from loadgen.sut import cgroups as cg

MiB = 1024**2


def _kernel(g: cg.Cgroup, controller: str, v1_file: str, v2_file: str) -> str:
    d = g.dirs[controller]
    return (d / (v1_file if g.version == 1 else v2_file)).read_text().strip()


def test_limits_read_back_from_kernel_and_group_removed(cgroups_writable):
    cpus = cg.choose_cpuset(0.5, None)
    g = cg.create(cg.new_run_id(), cpus=0.5, cpuset=cpus, memory=96 * MiB)
    dirs = set(g.dirs.values())
    try:
        assert g.name.startswith("jxcbench-") and all(d.name == g.name for d in dirs)
        assert all(d.is_dir() for d in dirs)
        if g.version == 1:
            quota = int(_kernel(g, "cpu", "cpu.cfs_quota_us", ""))
            period = int(_kernel(g, "cpu", "cpu.cfs_period_us", ""))
            assert quota / period == 0.5
            assert int(_kernel(g, "memory", "memory.limit_in_bytes", "")) == 96 * MiB
        else:
            quota, period = _kernel(g, "cpu", "", "cpu.max").split()
            assert int(quota) / int(period) == 0.5
            assert int(_kernel(g, "memory", "", "memory.max")) == 96 * MiB
        assert g.applied()["memory"] == 96 * MiB and g.applied()["cpus"] == 0.5
        assert any(d.name == g.name for d in cg.leftovers())
        # a child joins before exec: its first instruction already runs inside the group
        child = subprocess.Popen(["sleep", "60"], preexec_fn=g.preexec())
        assert child.pid in g.pids()
        own = Path(f"/proc/{child.pid}/cgroup").read_text()
        assert g.name in own
    finally:
        g.destroy()
    assert child.wait(timeout=10) == -signal.SIGKILL  # destroy kills what is left
    assert not any(d.exists() for d in dirs)
    assert cg.leftovers(g.name.removeprefix("jxcbench-")) == []


def test_memory_limit_binds(cgroups_writable):
    g = cg.create(cg.new_run_id(), memory=64 * MiB)
    try:
        # bytearray() zero-fills, so every page is really touched: 256 MiB cannot fit in 64 MiB.
        child = subprocess.run([sys.executable, "-c", "b = bytearray(256 * 1024 * 1024); print('fits')"],
                               preexec_fn=g.preexec(), capture_output=True, text=True, timeout=60)
        events = g.memory_events()
    finally:
        g.destroy()
    assert "fits" not in child.stdout
    assert child.returncode == -signal.SIGKILL, (child.returncode, child.stderr[-300:])
    assert events.get("oom_kill", 0) >= 1 or events.get("failcnt", 0) >= 1, events


def test_sigterm_becomes_exception_and_cleanup_runs(cgroups_writable):
    g = cg.create(cg.new_run_id(), cpus=1)
    try:
        with pytest.raises(cg.Terminated), cg.sigterm_as_exception():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # interrupted by the handler
    finally:
        g.destroy()
    assert not any(d.exists() for d in g.dirs.values())
    assert signal.getsignal(signal.SIGTERM) is not None


def test_loadgen_pinned_outside_sut_cpus():
    have = sorted(os.sched_getaffinity(0))
    if len(have) < 2:
        pytest.skip("needs 2+ CPUs to keep the load generator apart")
    sut = cg.choose_cpuset(1, None)
    assert sut == have[-1:]
    with cg.pinned_outside(sut) as mine:
        assert mine == have[:-1] and sorted(os.sched_getaffinity(0)) == have[:-1]
    assert sorted(os.sched_getaffinity(0)) == have


def test_cpu_quota_throttles(cgroups_writable):
    g = cg.create(cg.new_run_id(), cpus=0.2)
    try:
        busy = "import time\nt = time.time()\nwhile time.time() - t < 1.0: pass\n"
        t0 = time.monotonic()
        subprocess.run([sys.executable, "-c", busy], preexec_fn=g.preexec(), check=True, timeout=30)
        wall = time.monotonic() - t0
        stat = dict(line.split() for line in (g.dirs["cpu"] / "cpu.stat").read_text().splitlines())
    finally:
        g.destroy()
    # the kernel throttled the group; a busy loop at 0.2 CPU gets at most ~0.2 s of CPU per wall second
    assert int(stat["nr_throttled"]) > 0, stat
    if "throttled_time" in stat:  # v1, nanoseconds
        assert int(stat["throttled_time"]) > 0.5 * 1e9, stat
    if "usage_usec" in stat:  # v2
        assert int(stat["usage_usec"]) <= (0.2 * wall + 0.1) * 1e6, (stat, wall)


def test_v2_files_and_formats_on_a_plain_directory(tmp_path, monkeypatch):
    """This machine may only have cgroup v1: check what the v2 path writes, in the kernel's formats.

    A plain directory stands in for a cgroup2 mount (the kernel does not enforce anything here;
    the real v1 tests above cover enforcement)."""
    (tmp_path / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (tmp_path / "cgroup.subtree_control").write_text("")
    monkeypatch.setattr(cg, "ROOT", tmp_path)
    assert cg.detect() == 2
    g = cg.create("v2check", cpus=1.5, cpuset=[0], memory=256 * MiB)
    d = tmp_path / "jxcbench-v2check"
    assert g.version == 2 and set(g.dirs.values()) == {d} and g.path == str(d)
    assert (d / "cpu.max").read_text() == "150000 100000"
    assert (d / "memory.max").read_text() == str(256 * MiB)
    assert (tmp_path / "cgroup.subtree_control").read_text().startswith("+")  # controllers enabled
    assert g.applied()["cpus"] == 1.5 and g.applied()["memory"] == 256 * MiB
    child_procs = d / "cgroup.procs"
    g.add(12345)
    assert child_procs.read_text().strip() == "12345"
