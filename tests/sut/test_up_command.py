"""``jxcbench up``: a real subprocess brings a managed PostgreSQL system up; SIGTERM leaves nothing."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

from loadgen.sut import cgroups as cg
from tests.sut.conftest import write_profile

_REPO = Path(__file__).resolve().parents[2]


def _read_json_line(proc: subprocess.Popen, timeout: float) -> dict:
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        if not sel.select(timeout=1):
            if proc.poll() is not None:
                break
            continue
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if line.startswith("{"):
            return json.loads(line)
    raise AssertionError(f"no JSON line from jxcbench up; stdout={seen!r} stderr={proc.stderr.read() if proc.poll() is not None else ''}")


def test_sigterm_to_up_leaves_nothing_behind(cgroups_writable, tmp_path):
    prof = write_profile(tmp_path, "pg-up", "hardware: {cpus: 1, memory: 768MiB}\n"
                         "database: {engine: postgresql, settings: {shared_buffers: 32MB}}\narchitecture: {workers: 1}\n")
    proc = subprocess.Popen([sys.executable, "-m", "loadgen.cli", "up", str(prof), "--customers", "40", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=_REPO)
    try:
        desc = _read_json_line(proc, timeout=90)
        assert httpx.get(f"{desc['base_url']}/healthz", timeout=10).status_code == 200
        # role admin: the admin and the back office (one per 10 salespeople, at least one)
        assert desc["password"] == "jxcbench-load" and desc["operators"]["admin"] == ["admin", "office0001"]
        assert desc["limits"]["memory"] == 768 * 1024**2
        cgroup_dirs = [Path(p) for p in desc["cgroup"].split(",")]
        assert all(d.is_dir() for d in cgroup_dirs)
        procs = set()
        for d in cgroup_dirs:
            procs.update(int(x) for x in (d / "cgroup.procs").read_text().split())
        pids = desc["app_pids"] + desc["db_pids"]
        assert desc["db_pids"]
        # a pid listed by up but not in the cgroup must be one that has exited since (a database
        # backend of a connection that closed meanwhile): a live process outside is a leak
        outside = [p for p in set(pids) - procs if psutil.pid_exists(p)
                   and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
        assert outside == [], [psutil.Process(p).cmdline() for p in outside if psutil.pid_exists(p)]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 143, proc.stderr.read()  # 128 + SIGTERM, one line, no traceback
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    alive = [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
    assert alive == []
    assert not any(d.exists() for d in cgroup_dirs)
    assert cg.leftovers(desc["run_id"]) == []
    assert not any(p.name.startswith(f"jxcbench-run-{desc['run_id']}") for p in Path("/tmp").iterdir())
    # the database's temp dir: the server's data directory is gone with it
    with httpx.Client() as client:
        try:
            client.get(f"{desc['base_url']}/healthz", timeout=2)
            raise AssertionError("the app still answers after SIGTERM")
        except httpx.HTTPError:
            pass


def test_up_where_cgroups_cannot_be_written(tmp_path):
    """No usable cgroup fs: a constrained profile fails with one line naming --unconstrained (exit 2);
    with --unconstrained it comes up, says "native, unconstrained", and Ctrl-C tears it down."""
    prof = write_profile(tmp_path, "lim", "hardware: {cpus: 1, memory: 1GiB}\n")
    env = {**os.environ, "JXCBENCH_CGROUP_ROOT": str(tmp_path / "no-cgroups-here")}
    argv = [sys.executable, "-m", "loadgen.cli", "up", str(prof), "--customers", "10", "--json"]
    res = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=_REPO, env=env)
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert "--unconstrained" in res.stderr and "Traceback" not in res.stderr
    proc = subprocess.Popen(argv + ["--unconstrained"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=_REPO, env=env)
    try:
        desc = _read_json_line(proc, timeout=90)
        assert desc["limits"]["mode"] == "native, unconstrained" and desc["cgroup"] is None
        assert httpx.get(f"{desc['base_url']}/healthz", timeout=10).status_code == 200
        proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
        assert proc.wait(timeout=60) == 130  # 128 + SIGINT
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not any(psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE
                   for p in desc["app_pids"])


def test_up_bad_input_is_one_line_naming_file_and_field(tmp_path):
    cases = {
        "ext": ("database: {engine: mysql, url: 'mysql+pymysql://root@127.0.0.1:1/x'}\n",
                "database.url: cannot reach mysql+pymysql://root@127.0.0.1:1/x"),
        "badset": ("database: {engine: postgresql, settings: {no_such_setting: 3}}\n",
                   'database.settings: managed PostgreSQL failed to start: '),
        "units": ("hardware: {memory: 2 gigs}\n", "hardware.memory: invalid memory size '2 gigs'"),
    }
    for name, (text, expected) in cases.items():
        prof = write_profile(tmp_path, name, text)
        res = subprocess.run([sys.executable, "-m", "loadgen.cli", "up", str(prof), "--customers", "5"],
                             capture_output=True, text=True, timeout=60, cwd=_REPO)
        assert res.returncode == 2, (name, res.stdout, res.stderr)
        assert f"{prof}: {expected}" in res.stderr, res.stderr
        assert "Traceback" not in res.stderr
