"""Clean stops: SIGINT / SIGTERM at several moments of seed, up, run and sweep, and SIGKILL of up.

Each case starts the real ``jxcbench`` in a subprocess — with SIGINT *ignored*, as a shell's
background job inherits it — and checks: exit 130 (SIGINT) or 143 (SIGTERM), one line saying what
was stopped and kept, no traceback, no child process left, the run's temporary directories gone,
partial results marked, and a re-run that picks up. Every run gets its own registry directory
(``JXCBENCH_RUNS_DIR``) so that parallel tests never reap each other's runs.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from sqlalchemy import create_engine, text

from loadgen.sut import cgroups as cg

_REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


_started: list[subprocess.Popen] = []


def _ignore_sigint(parent: int = os.getpid()) -> None:
    from loadgen.lifeline import die_with_parent

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent(parent, signal.SIGTERM)  # never outlives this test run, whatever fails


class Cli:
    """One ``jxcbench`` subprocess; remembers every descendant it has seen."""

    def __init__(self, args: list[str], runs_dir: Path, **kw) -> None:
        env = {**os.environ, "JXCBENCH_RUNS_DIR": str(runs_dir), "PYTHONPATH": str(_REPO)}
        self.proc = subprocess.Popen([sys.executable, "-m", "loadgen.cli", *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, cwd=_REPO, env=env,
                                     preexec_fn=_ignore_sigint, **kw)
        _started.append(self.proc)
        self.seen: set[int] = set()
        self.stdout: list[str] = []

    def children(self) -> set[int]:
        try:
            self.seen |= {c.pid for c in psutil.Process(self.proc.pid).children(recursive=True)}
        except psutil.NoSuchProcess:
            pass
        return self.seen

    def wait_for(self, check, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.children()
            if check():
                return
            assert self.proc.poll() is None, f"jxcbench exited ({self.proc.returncode}) before {what}: {self.stderr()}"
            time.sleep(0.1)
        raise AssertionError(f"no {what} within {timeout} s")

    def read_line(self, prefix: str, timeout: float) -> str:
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.children()
            if sel.select(timeout=0.5):
                line = self.proc.stdout.readline()
                if not line:
                    break
                self.stdout.append(line)
                if line.startswith(prefix):
                    return line
        raise AssertionError(f"no line starting {prefix!r}: {self.stdout!r} {self.stderr()}")

    def stop(self, sig: int, timeout: float = 90) -> tuple[int, str]:
        self.children()
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        return rc, self.stderr()

    def stderr(self) -> str:
        return self.proc.stderr.read() if self.proc.poll() is not None else ""


def _alive(pids) -> list[int]:
    out = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                out.append(pid)
        except psutil.NoSuchProcess:
            pass
    return out


def _assert_one_stop_line(rc: int, err: str, sig: int, *words: str) -> None:
    assert rc == 128 + sig, (rc, err)
    assert "Traceback" not in err and "Terminated" not in err, err
    name = "SIGINT" if sig == signal.SIGINT else "SIGTERM"
    line = next((ln for ln in err.splitlines() if ln.startswith("stopped")), None)
    assert line is not None and line.startswith(f"stopped ({name}): "), err
    for w in words:
        assert w in line, (w, line)


def _gone_within(pids, seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while _alive(pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    return _alive(pids)


def _profile(tmp_path: Path, name: str, text_: str) -> Path:
    p = tmp_path / f"{name}.yaml"
    p.write_text(text_)
    return p


# Brisk synthetic operators: a 2 s window must see every one of them work (Little's law counts the
# operators active in the window), whatever the persona defaults (3-25 s between actions).
SQLITE_2W = "architecture: {workers: 2}\nworkload: {think_time_s: [0.1, 0.3]}\n"


@pytest.fixture(autouse=True)
def _reap_after(tmp_path, monkeypatch):
    """Whatever a failing case leaves, its registry names: removed after the test."""
    monkeypatch.setenv("JXCBENCH_RUNS_DIR", str(tmp_path / "runs"))
    yield
    from loadgen.sut.registry import reap

    while _started:  # a case that failed before stopping its jxcbench: stop it now (it tears down)
        proc = _started.pop()
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    reap()


# -- up -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_up_stops_on_a_signal_even_with_sigint_ignored(tmp_path, sig):
    prof = _profile(tmp_path, "sq", SQLITE_2W)
    cli = Cli(["up", str(prof), "--customers", "20", "--json"], tmp_path / "runs")
    desc = json.loads(cli.read_line("{", timeout=90))
    assert len(desc["app_pids"]) >= 3  # supervisor + 2 workers (+ multiprocessing's tracker)
    rc, err = cli.stop(sig)
    _assert_one_stop_line(rc, err, sig, "torn down", "nothing kept")
    assert _alive(cli.children()) == []
    assert not any(p.name.startswith(f"jxcbench-run-{desc['run_id']}") for p in Path("/tmp").iterdir())
    assert list((tmp_path / "runs").glob("*.json")) == []  # nothing left to reap


def test_sigkill_of_up_takes_its_children_and_the_next_up_removes_what_it_left(tmp_path, cgroups_writable):
    """The reported case: ``kill -9`` of ``jxcbench up`` left its uvicorn master and both workers
    serving (parent PID 1) and its temporary directory behind. Now the children die with it, and the
    next ``up`` removes the directories and the cgroup."""
    import httpx

    prof = _profile(tmp_path, "pg", "hardware: {cpus: 1, memory: 768MiB}\n"
                    "database: {engine: postgresql, settings: {shared_buffers: 32MB}}\narchitecture: {workers: 2}\n")
    runs = tmp_path / "runs"
    cli = Cli(["up", str(prof), "--customers", "20", "--json"], runs)
    desc = json.loads(cli.read_line("{", timeout=120))
    pids = set(desc["app_pids"]) | set(desc["db_pids"]) | cli.children()
    assert len(desc["app_pids"]) >= 3 and desc["db_pids"]
    record = json.loads(next(runs.glob("*.json")).read_text())
    dirs = [Path(d) for d in record["dirs"]]
    assert any(d.name.startswith("jxcbench-pg-") for d in dirs) and all(d.is_dir() for d in dirs)
    cgroup_dirs = [Path(p) for p in desc["cgroup"].split(",")]

    cli.proc.kill()
    cli.proc.wait()
    assert _gone_within(pids, 10) == [], "children outlived jxcbench up"
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{desc['base_url']}/healthz", timeout=2)
    assert all(d.is_dir() for d in dirs) and any(d.exists() for d in cgroup_dirs)  # what a SIGKILL leaves

    nxt = Cli(["up", str(_profile(tmp_path, "sq", SQLITE_2W)), "--customers", "5", "--json"], runs)
    nxt.read_line("{", timeout=90)
    rc, err = nxt.stop(signal.SIGTERM)
    assert rc == 143, err
    assert not any(d.exists() for d in dirs), err
    assert not any(d.exists() for d in cgroup_dirs) and cg.leftovers(desc["run_id"]) == []
    assert list(runs.glob("*.json")) == []


@pytest.mark.postgresql
def test_sigterm_during_ups_bring_up_removes_the_managed_database(tmp_path, cgroups_writable):
    prof = _profile(tmp_path, "pg", "hardware: {cpus: 1, memory: 768MiB}\n"
                    "database: {engine: postgresql, settings: {shared_buffers: 32MB}}\narchitecture: {workers: 1}\n")
    runs = tmp_path / "runs"
    cli = Cli(["up", str(prof), "--customers", "30000", "--json"], runs)
    cli.read_line("", timeout=90)  # "database up (postgresql); seeding ..."
    cli.wait_for(lambda: any("postgres" in _name(p) for p in cli.children()), 30, "the managed server")
    record = json.loads(next(runs.glob("*.json")).read_text())
    rc, err = cli.stop(signal.SIGTERM)
    _assert_one_stop_line(rc, err, signal.SIGTERM, "torn down")
    assert _alive(cli.children()) == []
    assert not any(Path(d).exists() for d in record["dirs"])
    assert not any(Path(g).exists() for group in record.get("cgroups", []) for g in group)


def _name(pid: int) -> str:
    try:
        return psutil.Process(pid).name()
    except psutil.NoSuchProcess:
        return ""


# -- run ----------------------------------------------------------------------------------------------
def test_sigterm_during_a_runs_window_marks_the_step_and_a_rerun_measures_it(tmp_path):
    prof = _profile(tmp_path, "sq", SQLITE_2W)
    out = tmp_path / "step"
    args = ["run", str(prof), "--customers", "20", "--out", str(out), "--operators", "4", "--warmup", "1s",
            "--min-requests", "1"]
    cli = Cli(args + ["--duration", "60s"], tmp_path / "runs")
    cli.wait_for(lambda: (out / "samples.parquet").exists(), 120, "the measured window")
    time.sleep(1.5)
    rc, err = cli.stop(signal.SIGTERM)
    _assert_one_stop_line(rc, err, signal.SIGTERM, "while measuring", "step.interrupted.json", "again")
    assert _alive(cli.children()) == []
    mark = json.loads((out / "step.interrupted.json").read_text())
    assert mark["interrupted"] is True and mark["signal"] == "SIGTERM" and mark["stage"] == "measuring"
    assert not (out / "step.json").exists()
    assert list((tmp_path / "runs").glob("*.json")) == []

    again = subprocess.run([sys.executable, "-m", "loadgen.cli", *args, "--duration", "2s"], capture_output=True,
                           text=True, cwd=_REPO, timeout=180,
                           env={**os.environ, "JXCBENCH_RUNS_DIR": str(tmp_path / "runs"), "PYTHONPATH": str(_REPO)})
    assert again.returncode == 0, again.stderr
    assert (out / "step.json").exists() and not (out / "step.interrupted.json").exists()


def test_sigint_while_a_run_brings_its_system_up(tmp_path):
    prof = _profile(tmp_path, "sq", SQLITE_2W)
    out = tmp_path / "step"
    cli = Cli(["run", str(prof), "--customers", "60000", "--out", str(out), "--operators", "2", "--duration", "5s"],
              tmp_path / "runs")
    cli.wait_for(lambda: list((tmp_path / "runs").glob("*.json")), 60, "the system's temporary directory")
    record = json.loads(next((tmp_path / "runs").glob("*.json")).read_text())
    time.sleep(1.0)
    rc, err = cli.stop(signal.SIGINT)
    _assert_one_stop_line(rc, err, signal.SIGINT, "step.interrupted.json")
    assert _alive(cli.children()) == []
    assert not any(Path(d).exists() for d in record["dirs"])
    assert json.loads((out / "step.interrupted.json").read_text())["signal"] == "SIGINT"


# -- seed ---------------------------------------------------------------------------------------------
def test_sigterm_during_seed_keeps_whole_chunks_and_the_same_command_resumes(tmp_path):
    from reference_app.audit import audit

    db = f"sqlite:///{tmp_path / 'jxc.sqlite'}"
    args = ["seed", "--db", db, "--chunk", "2000", "--no-history"]
    cli = Cli(args + ["--customers", "400000"], tmp_path / "runs")

    def customers() -> int:
        try:
            eng = create_engine(db)
            with eng.connect() as conn:
                return conn.execute(text("SELECT count(*) FROM customers")).scalar() or 0
        except Exception:  # noqa: BLE001 - not created yet
            return 0
        finally:
            eng.dispose()

    cli.wait_for(lambda: customers() >= 4000, 120, "two chunks")
    rc, err = cli.stop(signal.SIGTERM)
    _assert_one_stop_line(rc, err, signal.SIGTERM, "chunk", "again")
    assert _alive(cli.children()) == []  # the forked data generator too
    have = customers()
    assert have % 2000 == 0 and 4000 <= have < 400000
    eng = create_engine(db)
    try:
        assert audit(eng).ok
    finally:
        eng.dispose()
    again = subprocess.run([sys.executable, "-m", "loadgen.cli", *args, "--customers", str(have + 2000), "--json"],
                           capture_output=True, text=True, cwd=_REPO, timeout=120)
    assert again.returncode == 0, again.stderr
    assert customers() == have + 2000


# -- sweep --------------------------------------------------------------------------------------------
def test_sigint_during_a_sweep_keeps_finished_steps_marked_partial(tmp_path):
    prof = _profile(tmp_path, "sw", "architecture: {workers: 1}\nworkload: {operators: 2, think_time_s: [0.1, 0.2]}\n"
                    "slo: {p95_ms: 5000, p99_ms: 10000}\n"
                    "sweep: {start_customers: 100, growth: 2, max_customers: 3200, step_duration_s: 2, warmup_s: 0,"
                    " repeats: 1, precision: 0.5}\n")
    out = tmp_path / "sweep"
    cli = Cli(["sweep", str(prof), "--out", str(out)], tmp_path / "runs")
    cli.wait_for(lambda: len(list(out.glob("*/*/step.json"))) >= 1, 180, "a finished step")
    rc, err = cli.stop(signal.SIGINT)
    _assert_one_stop_line(rc, err, signal.SIGINT, "kept", "partial", "resume")
    assert _alive(cli.children()) == []
    doc = json.loads((out / "capacity.json").read_text())
    assert doc["partial"] is True and (out / "report.md").exists()
    assert list((tmp_path / "runs").glob("*.json")) == []
