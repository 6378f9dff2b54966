"""`jxcbench run` refuses bad input with one clear line and exit 2, before starting anything."""

from __future__ import annotations

import subprocess
import sys

import pytest

from loadgen.errors import JxcError
from loadgen.cli.run import parse_duration


def jxc(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "loadgen.cli", *args], capture_output=True, text=True, cwd=cwd)


def test_durations():
    assert parse_duration("60s", "--duration") == 60.0
    assert parse_duration("2m", "--duration") == 120.0
    assert parse_duration("90", "--duration") == 90.0
    assert parse_duration("1.5min", "--duration") == 90.0
    with pytest.raises(JxcError, match="--warmup: '10 parsecs' is not a duration"):
        parse_duration("10 parsecs", "--warmup")


@pytest.fixture
def profile(tmp_path):
    p = tmp_path / "p.yaml"
    p.write_text("name: t\ndatabase: {engine: sqlite}\nworkload: {operators: 2}\n")
    return p


def test_bad_duration_is_one_line_and_exit_2(profile, tmp_path):
    r = jxc("run", str(profile), "--customers", "10", "--out", str(tmp_path / "o"), "--duration", "soon")
    assert r.returncode == 2 and "--duration: 'soon' is not a duration" in r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "o").exists()


def test_existing_step_is_not_overwritten(profile, tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    (out / "step.json").write_text("{}")
    r = jxc("run", str(profile), "--customers", "10", "--out", str(out))
    assert r.returncode == 2 and "exists" in r.stderr and "--force" in r.stderr
    assert (out / "step.json").read_text() == "{}"


def test_bad_app_host_is_refused(profile, tmp_path):
    r = jxc("run", str(profile), "--customers", "10", "--out", str(tmp_path / "o"), "--app-host", "http://x:80")
    assert r.returncode == 2 and "--app-host" in r.stderr and not (tmp_path / "o").exists()


def test_missing_profile_names_the_file(tmp_path):
    r = jxc("run", str(tmp_path / "nope.yaml"), "--customers", "10", "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "nope.yaml" in r.stderr and "Traceback" not in r.stderr


def test_jxcbench_run_end_to_end_with_two_load_processes(tmp_path):
    from tests.measure.contract import check_step
    from tests.measure.ports import free_port

    profile = tmp_path / "sq.yaml"
    profile.write_text("name: sq\ndatabase: {engine: sqlite}\narchitecture: {workers: 1}\n"
                       "workload: {operators: 12, think_time_s: [0.0, 0.05]}\n")
    out = tmp_path / "out"
    r = jxc("run", str(profile), "--customers", "1000", "--duration", "4s", "--warmup", "2s", "--processes", "2",
            "--master-port", str(free_port()), "--min-requests", "300", "--out", str(out), "--json",
            # the app on all interfaces, the load sent to another address of this machine (as remote
            # workers would be sent to this machine's LAN address)
            "--app-host", "127.0.0.2")
    import json

    step = json.loads(r.stdout)
    check_step(step)
    assert json.loads((out / "step.json").read_text()) == step
    assert r.returncode == 0 and step["valid"], r.stderr   # 3 would mean measured but invalid
    # the verdict line: pass, fail, or (an operation's 95 % interval straddling its threshold) inconclusive
    shown = next(w for w in ("INCONCLUSIVE", "PASSED", "FAILED") if w in r.stderr)
    assert {"PASSED": "pass", "FAILED": "fail", "INCONCLUSIVE": "inconclusive"}[shown] == step["verdict"]
    assert len(step["load"]["workers"]) == 2 and step["load"]["processes"] == 2
    assert step["system"]["base_url"].startswith("http://127.0.0.2:")
    assert {"samples.parquet", "resources.csv", "step.json"} <= {p.name for p in out.iterdir()}
