"""jxcbench compare: exit 0 / 1 / 2, the Markdown table and the JUnit file."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from reports.compare import compare, parse_drop

REPO = Path(__file__).resolve().parents[2]


def jxcbench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "loadgen.cli", *args], cwd=REPO, capture_output=True, text=True, timeout=120)


def _save(tmp_path: Path, name: str, doc: dict) -> Path:
    d = tmp_path / name
    d.mkdir()
    (d / "capacity.json").write_text(json.dumps(doc))
    return d


def _with_capacity(doc: dict, name: str, held: int, *, fail_level: int | None = None) -> dict:
    doc = copy.deepcopy(doc)
    entry = next(e for e in doc["profiles"] if e["name"] == name)
    entry["max_customers"] = held
    if fail_level is not None:
        for s in entry["steps"]:
            if s["customers"] == fail_level and s["search"] == "customers":
                s["passed"] = False
    return doc


def test_same_results_exit_0(synthetic, tmp_path):
    _, doc = synthetic
    base = _save(tmp_path, "base", doc)
    done = jxcbench("compare", str(base), str(base))
    assert done.returncode == 0, done.stderr
    assert "| grows | 32,000 | 32,000 | +0.0% | same |" in done.stdout
    assert "p95 per operation at 32,000 customers" in done.stdout


def test_capacity_drop_beyond_the_allowance_is_a_regression(synthetic, tmp_path):
    _, doc = synthetic
    base = _save(tmp_path, "base", doc)
    current = _save(tmp_path, "current", _with_capacity(doc, "grows", 16_000))
    junit = tmp_path / "junit.xml"
    done = jxcbench("compare", str(base), str(current), "--max-drop", "10%", "--junit", str(junit))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "**regression**" in done.stdout and "50.0% below the baseline's 32,000" in done.stdout
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite.get("failures") == "1"
    failed = [c.get("classname") for c in suite.iter("testcase") if c.find("failure") is not None]
    assert failed == ["jxcbench.grows"]
    # the same drop within a generous allowance passes
    assert jxcbench("compare", str(base), str(current), "--max-drop", "60%").returncode == 0


def test_a_level_that_passed_and_fails_now_is_a_regression(synthetic):
    _, doc = synthetic
    current = _with_capacity(doc, "grows", 32_000, fail_level=8000)  # same capacity, but 8,000 now fails
    result = compare(doc, current, max_drop=0.1)
    assert result.exit_code == 1
    assert any("8,000 customers with 50 operators passed in the baseline and fails now" in f for p in result.profiles for f in p.failures)


def test_improvement_exits_0_and_says_so(synthetic, tmp_path):
    _, doc = synthetic
    base = _save(tmp_path, "base", _with_capacity(doc, "grows", 16_000))
    current = _save(tmp_path, "current", doc)
    done = jxcbench("compare", str(base), str(current))
    assert done.returncode == 0, done.stdout
    assert "| grows | 16,000 | 32,000 | +100.0% | improvement |" in done.stdout


@pytest.mark.parametrize("change,reason", [
    (lambda d: d["machine"].update(cpu_model="Another CPU"), "machine cpu_model"),
    (lambda d: d.update(tool_version="9.9.9"), "jxcbench version"),
    (lambda d: d["profiles"][0]["profile"]["hardware"].update(cpus=2.0), "profile grows differs"),
    (lambda d: [p.update(name=p["name"] + "-x") for p in d["profiles"]], "no profile in common"),
])
def test_incomparable_results_exit_2_unless_forced(synthetic, tmp_path, change, reason):
    _, doc = synthetic
    other = copy.deepcopy(doc)
    change(other)
    base, current = _save(tmp_path, "base", doc), _save(tmp_path, "current", other)
    done = jxcbench("compare", str(base), str(current))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Not comparable" in done.stdout and reason in done.stdout
    if reason != "no profile in common":
        forced = jxcbench("compare", str(base), str(current), "--force")
        assert forced.returncode == 0 and "compared anyway" in forced.stdout


def test_a_price_added_later_keeps_results_comparable(synthetic):
    _, doc = synthetic
    other = copy.deepcopy(doc)
    other["profiles"][1]["profile"]["hardware"]["price"] = {"amount": 1.0, "currency": "USD", "per": "hour"}
    assert compare(doc, other).exit_code == 0


def test_bad_max_drop_is_refused(synthetic, tmp_path):
    _, doc = synthetic
    base = _save(tmp_path, "base", doc)
    done = jxcbench("compare", str(base), str(base), "--max-drop", "lots")
    assert done.returncode == 2 and "--max-drop 'lots'" in done.stderr and "Traceback" not in done.stderr
    assert parse_drop("10%") == pytest.approx(0.1) and parse_drop("0.25") == 0.25
