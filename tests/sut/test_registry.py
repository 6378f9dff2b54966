"""The run registry: what a killed jxcbench left is removed by the next run, and nothing else is."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from loadgen.sut import registry

_REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def runs(tmp_path, monkeypatch) -> Path:
    d = tmp_path / "runs"
    monkeypatch.setenv("JXCBENCH_RUNS_DIR", str(d))
    return d


def _killed_owner(runs: Path, body: str) -> None:
    """A process that claims things (``body``) and is then SIGKILLed, as a killed jxcbench would be."""
    code = textwrap.dedent(f"""
        import os, signal, sys
        from pathlib import Path
        from loadgen.sut import registry
        {body}
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    res = subprocess.run([sys.executable, "-c", code], cwd=_REPO, capture_output=True, text=True, timeout=60,
                         env={**os.environ, "JXCBENCH_RUNS_DIR": str(runs), "PYTHONPATH": str(_REPO)})
    assert res.returncode == -signal.SIGKILL, res.stderr


def test_a_dead_owners_directories_and_processes_are_removed(tmp_path, runs):
    mine = tmp_path / "jxcbench-run-x"
    (mine / "data").mkdir(parents=True)
    other = tmp_path / "precious"  # not a name jxcbench makes: never removed, whatever the record says
    other.mkdir()
    sleeper = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        _killed_owner(runs, f"registry.claim_dir(Path({str(mine)!r})); registry.claim_dir(Path({str(other)!r}));"
                            f" registry.claim_process({sleeper.pid})")
        assert len(list(runs.glob("*.json"))) == 1
        removed = registry.reap()
        assert sleeper.wait(timeout=10) == -signal.SIGKILL
    finally:
        if sleeper.poll() is None:
            sleeper.kill()
    assert not mine.exists() and other.is_dir()
    assert f"directory {mine}" in removed and f"process {sleeper.pid}" in removed
    assert list(runs.glob("*.json")) == []


def test_a_live_owners_record_is_left_alone(tmp_path, runs):
    mine = tmp_path / "jxcbench-pg-live"
    mine.mkdir()
    registry.claim_dir(mine)  # this test process: alive
    assert registry.reap() == [] and mine.is_dir()
    registry.release_dir(mine)
    assert list(runs.glob("*.json")) == []


def test_a_pid_reused_by_another_process_is_not_killed(runs):
    doc = {"pid": os.getpid(), "start": (registry.start_time(os.getpid()) or 0) + 1, "processes": [[os.getpid(), 1]],
           "dirs": [], "cgroups": []}
    runs.mkdir(mode=0o700)
    (runs / "1-1.json").write_text(json.dumps(doc))
    assert registry.reap() == []  # owner "dead" (start time differs); the pid's start differs too: spared
    assert list(runs.glob("*.json")) == []


def test_a_shared_runs_directory_is_not_trusted(tmp_path, runs):
    runs.mkdir()
    os.chmod(runs, 0o777)
    mine = tmp_path / "jxcbench-run-y"
    mine.mkdir()
    (runs / "1-1.json").write_text(json.dumps({"pid": 1, "start": 1, "dirs": [str(mine)]}))
    assert registry.reap() == [] and mine.is_dir()


@pytest.mark.postgresql
def test_snapshots_on_an_external_server_are_dropped(tmp_path, runs):
    from sqlalchemy import create_engine, text

    from loadgen.seed import list_snapshots, snapshot
    from tests.dbs import fresh_database

    with fresh_database("postgresql", tmp_path) as url:
        eng = create_engine(url)
        with eng.begin() as conn:
            conn.execute(text("CREATE TABLE t (x int)"))
        eng.dispose()
        snapshot(url, "l100")
        _killed_owner(runs, f"registry.claim_snapshot({url!r}, 'l100')")
        assert "l100" in list_snapshots(url)
        assert registry.reap() == ["snapshot l100"]
        assert "l100" not in list_snapshots(url)
        assert list(runs.glob("*.json")) == []


@pytest.mark.skipif(os.geteuid() != 0 and not os.environ.get("CI"), reason="network namespaces need root")
def test_a_dead_owners_network_namespace_is_deleted(runs):
    """A SIGKILLed run that had put its database across a link (loadgen.sut.netns) leaves the
    namespace and its veth pair; the next run deletes them. Other namespaces are left alone."""
    name, other = f"jxcbench-reaptest{os.getpid()}", f"notours{os.getpid()}"
    for n in (name, other):
        subprocess.run(["ip", "netns", "add", n], check=True, capture_output=True)
    try:
        _killed_owner(runs, f"registry.claim_netns({name!r}); registry.claim_netns({other!r})")
        removed = registry.reap()
        assert f"network namespace {name}" in removed
        assert not Path(f"/run/netns/{name}").exists()
        assert Path(f"/run/netns/{other}").exists()  # not a name jxcbench makes
    finally:
        for n in (name, other):
            subprocess.run(["ip", "netns", "del", n], capture_output=True)
