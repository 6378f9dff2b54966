"""Every command fuzzed with bad input (hypothesis): malformed YAML, wrong types, out-of-range values.

Each case is one wrong piece in an otherwise valid command line: a profile file that is not valid
(broken YAML, a wrong type, a value out of range), or an option with a value it must refuse. The
CLI runs in this process (``loadgen.cli.main``, as the ``jxcbench`` script does). Properties:
exit 2, no traceback, the message names the file or the option and the value, and nothing is
written (no --out directory, no database file).

Safety: the valid parts would bring a system up; the profile sets hardware limits and the cgroup
root points nowhere, so a case the CLI wrongly accepted fails at once (exit 2 naming
``--unconstrained``, which the checks below reject) instead of running anything.
"""

from __future__ import annotations

import io
import re
import signal
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loadgen.cli import main

FUZZ = settings(max_examples=60, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
GOOD = {"hardware": {"cpus": 1, "memory": "1GiB"}, "architecture": {"workers": 1},
        "slo": {"p95_ms": 500}, "sweep": {"start_customers": 10, "max_customers": 20}}


@pytest.fixture(autouse=True)
def _no_cgroups(tmp_path, monkeypatch):
    from loadgen.sut import cgroups as cg

    monkeypatch.setattr(cg, "ROOT", tmp_path / "no-cgroups-here")
    monkeypatch.setenv("JXCBENCH_RUNS_DIR", str(tmp_path / "runs"))
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    yield
    for s, h in handlers.items():
        signal.signal(s, h)


def jxcbench(*args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    argv = sys.argv
    sys.argv = ["jxcbench", *args]
    try:
        with redirect_stdout(out), redirect_stderr(err):
            main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = argv
    return code, out.getvalue() + err.getvalue()


def _flat(text: str) -> str:
    """Rich wraps and boxes usage errors: compare without box characters and line breaks."""
    return re.sub(r"[\s│╭╮╰╯─]+", " ", text)


def check(code: int, text: str, *names: str) -> None:
    flat = _flat(text)
    assert code == 2, (code, text)
    assert "Traceback" not in text and "--unconstrained" not in text, text
    for name in names:
        assert _flat(name) in flat, (name, text)


# -- bad values, each surely refused ------------------------------------------------------------------
not_int = st.text(min_size=1, max_size=8).filter(lambda s: not re.fullmatch(r"\s*[-+]?\d+\s*", s)
                                                 and not s.startswith("-") and s.isprintable())
non_positive = st.integers(max_value=0)
bad_duration = st.one_of(st.text(min_size=1, max_size=8).filter(
    lambda s: not re.fullmatch(r"\s*\d+(\.\d+)?\s*(ms|s|m|min|h)?\s*", s) and not s.startswith("-")
    and s.isprintable()), st.sampled_from(["0", "0s", "0.0m"]))


def yaml_text(doc) -> str:
    return yaml.safe_dump(doc, allow_unicode=True)


broken_yaml = st.sampled_from(["hardware: {cpus: 1\n", "a: b: c\n", "- [\n", "hardware:\n\tcpus: 1\n", "'\n",
                               "database: {engine: sqlite}\n  x: 1\n", "\x00", "[1, 2]\n", "just text\n", "{}: 1\n"])
wrong_field = st.sampled_from([
    ("hardware.cpus", -1), ("hardware.cpus", "many"), ("hardware.memory", "2 gigs"), ("hardware.memory", 1024),
    ("architecture.workers", 0), ("architecture.workers", 65), ("architecture.workers", [2]),
    ("architecture.kind", "serverless"), ("database.engine", "oracle"), ("database.index_level", "max"),
    ("slo.p95_ms", -5), ("slo.error_rate", 1.5), ("sweep.growth", 1), ("sweep.precision", 0),
    ("sweep.repeats", 0), ("workload.think_time_s", [3, 1]), ("workload.mix", {"sales": 2}),
    ("workload.operators", 0), ("hardware.memroy", "1GiB"),
])


@st.composite
def bad_profile(draw) -> tuple[str, tuple[str, ...]]:
    """(file text, what the message must name besides the file)."""
    if draw(st.booleans()):
        return draw(broken_yaml), ()
    field, value = draw(wrong_field)
    doc = yaml.safe_load(yaml_text(GOOD))
    section, _, leaf = field.partition(".")
    doc.setdefault(section, {})[leaf] = value
    return yaml_text(doc), (section,)


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "p.yaml"
    p.write_text(text, encoding="utf-8")
    return p


# -- the commands ---------------------------------------------------------------------------------------
@FUZZ
@given(case=bad_profile(), command=st.sampled_from(["up", "run", "sweep", "validate"]))
def test_a_bad_profile_is_one_line_naming_file_and_field(tmp_path, case, command):
    text, names = case
    prof = _write(tmp_path, text)
    out = tmp_path / "out"
    args = {"up": ["up", str(prof), "--customers", "5"],
            "run": ["run", str(prof), "--customers", "5", "--out", str(out), "--duration", "5s"],
            "sweep": ["sweep", str(prof), "--out", str(out)],
            "validate": ["profiles", "validate", str(prof)]}[command]
    code, text_out = jxcbench(*args)
    check(code, text_out, f"{prof}: ", *names)
    assert not out.exists()


@FUZZ
@given(data=st.data())
def test_a_bad_option_is_refused_naming_option_and_value(tmp_path, data):
    prof = _write(tmp_path, yaml_text(GOOD))
    out = tmp_path / "out"
    db_file = tmp_path / "jxc.sqlite"
    db = f"sqlite:///{db_file}"
    run = ["run", str(prof), "--customers", "5", "--out", str(out)]
    option, value = data.draw(st.sampled_from([
        ("up --customers", non_positive), ("up --customers", not_int), ("up --port", st.integers(65536, 10**6)),
        ("up --port", non_positive),
        ("run --customers", non_positive), ("run --duration", bad_duration), ("run --warmup", bad_duration.filter(
            lambda s: s not in ("0", "0s", "0.0m"))), ("run --operators", non_positive),
        ("run --rate", st.floats(max_value=0.0, allow_nan=False)), ("run --processes", st.integers(65, 10**4)),
        ("run --master-port", st.integers(65536, 10**6)), ("run --min-requests", non_positive),
        ("run --app-host", st.sampled_from(["bad host", "a/b", "http://x", "", "x;y"])),
        ("sweep --invalid-retries", st.integers(max_value=-1)),
        ("seed --customers", non_positive), ("seed --customers", not_int), ("seed --quota", non_positive),
        ("seed --index-level", st.text(min_size=1, max_size=6).filter(lambda s: s not in ("basic", "tuned")
                                                                       and s.isprintable())),
    ]))
    value = str(data.draw(value))
    command, opt = option.split()
    args = {"up": ["up", str(prof), "--customers", "5"], "run": run, "sweep": ["sweep", str(prof), "--out", str(out)],
            "seed": ["seed", "--db", db, "--customers", "5"]}[command]
    if opt in args:
        args[args.index(opt) + 1] = value
    else:
        args = [*args, opt, value]
    code, text_out = jxcbench(*args)
    check(code, text_out, opt)
    # Our own checks name the value, and so do Typer's range and type checks ("Invalid value for
    # '--customers': Input should be greater than or equal to 1 (got '-5')": loadgen.cli).
    if value.strip():
        assert _flat(repr(value)) in _flat(text_out) or _flat(value.strip()) in _flat(text_out), text_out
    assert not out.exists() and not db_file.exists()


@pytest.mark.parametrize("args,names", [
    (["seed", "--db", "notaurl", "--customers", "5"], ["--db", "notaurl"]),
    (["seed", "--db", "oracle://x/y", "--customers", "5"], ["oracle"]),
    (["seed", "snapshot", "--db", "sqlite:///{tmp}/x.sqlite", "--name", "BAD NAME!"], ["BAD NAME!"]),
    (["report", "{tmp}/nowhere"], ["{tmp}/nowhere"]),
    (["audit", "--db", "sqlite:///{tmp}/absent.sqlite"], ["absent.sqlite"]),
    (["init-db", "--db", "mysql://"], ["--db"]),
    (["profiles", "validate", "{tmp}/none.yaml"], ["{tmp}/none.yaml", "no such file"]),
    (["profiles", "list", "{tmp}/nodir"], ["{tmp}/nodir", "not a directory"]),
    (["serve", "--db", "sqlite:///{tmp}/x.sqlite", "--workers", "0"], ["--workers"]),
    (["serve", "--db", "sqlite:///{tmp}/x.sqlite", "--port", "70000"], ["--port"]),
    (["serve", "--db", "sqlite:///{tmp}/absent.sqlite"], ["absent.sqlite"]),
    (["seed", "restore", "--db", "sqlite:///{tmp}/x.sqlite", "--name", "../../etc"], ["../../etc"]),
    (["seed", "--db", "sqlite:///{tmp}/x.sqlite", "--customers", "5", "--seed", "x"], ["--seed"]),
    (["run", "{tmp}/none.yaml", "--customers", "5", "--out", "{tmp}/out"], ["{tmp}/none.yaml"]),
    (["sweep", "{tmp}/none.yaml", "--out", "{tmp}/out"], ["{tmp}/none.yaml"]),
    (["up", "{tmp}/none.yaml"], ["{tmp}/none.yaml"]),
])
def test_other_commands_refuse_bad_input_cleanly(tmp_path, args, names):
    code, text_out = jxcbench(*[a.replace("{tmp}", str(tmp_path)) for a in args])
    check(code, text_out, *[n.replace("{tmp}", str(tmp_path)) for n in names])
    assert [p.name for p in tmp_path.iterdir() if p.name != "runs"] == []


@pytest.mark.parametrize("args,option,value", [
    (["run", "profiles/sqlite-quickstart.yaml", "--customers", "-5", "--out", "{tmp}/o"], "--customers", "-5"),
    (["chaos", "profiles/sqlite-quickstart.yaml", "-n", "0"], "--customers", "0"),
    (["serve", "--db", "sqlite:///{tmp}/x.sqlite", "--port=70000"], "--port", "70000"),
    (["run", "profiles/sqlite-quickstart.yaml", "--customers", "many", "--out", "{tmp}/o"], "--customers", "many"),
])
def test_typer_range_and_type_errors_name_option_and_value(tmp_path, args, option, value):
    code, text_out = jxcbench(*[a.replace("{tmp}", str(tmp_path)) for a in args])
    assert code == 2, text_out
    assert option in text_out and f"(got '{value}')" in _flat(text_out), text_out
