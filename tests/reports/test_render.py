"""report.html / report.md / report.xlsx / charts from synthetic results; jxcbench report and guide."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from reports.render.charts import cjk_font
from reports.render.report import write_all
from tests.dbs import in_ci

REPO = Path(__file__).resolve().parents[2]


def jxcbench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "loadgen.cli", *args], cwd=REPO, capture_output=True, text=True, timeout=180)


@pytest.fixture(scope="module")
def rendered(synthetic, tmp_path_factory):
    root, doc = synthetic
    out = tmp_path_factory.mktemp("rendered")
    shutil.copytree(root, out, dirs_exist_ok=True)
    return out, doc, write_all(out, doc, lang="en")


def _sheet(path: Path, name: str) -> pd.DataFrame:
    return pd.read_excel(path, sheet_name=name)


def test_excel_holds_the_numbers_of_capacity_json(rendered):
    out, doc, written = rendered
    assert written.xlsx == out / "report.xlsx"
    import openpyxl

    assert openpyxl.load_workbook(written.xlsx).sheetnames[:5] == ["summary", "steps", "operations", "resources", "profiles"]
    summary = _sheet(written.xlsx, "summary").set_index("profile")
    steps = _sheet(written.xlsx, "steps")
    ops = _sheet(written.xlsx, "operations")
    resources = _sheet(written.xlsx, "resources")
    for entry in doc["profiles"]:
        row = summary.loc[entry["name"]]
        assert row["verdict"].startswith(f"On {entry['name']}, ")
        assert row["max customers (measured)"] == entry["max_customers"]
        assert (pd.isna(row["first failing customers"]) if entry["first_failing_customers"] is None
                else row["first failing customers"] == entry["first_failing_customers"])
        mine = steps[steps["profile"] == entry["name"]].reset_index(drop=True)
        assert len(mine) == len(entry["steps"])
        for i, s in enumerate(entry["steps"]):
            assert mine.loc[i, "customers"] == s["customers"] and mine.loc[i, "operators"] == s["operators"]
            assert mine.loc[i, "throughput (req/s)"] == pytest.approx(s["rps"])
            assert mine.loc[i, "p95 (ms)"] == pytest.approx(s["latency_ms"]["p95"])
            assert mine.loc[i, "requests"] == s["requests"]
            res = resources[(resources["profile"] == entry["name"])].reset_index(drop=True)
            assert res.loc[i, "DB size (bytes)"] == pytest.approx(s["resources"]["db_bytes"])
            for name, o in s["operations"].items():
                hit = ops[(ops["profile"] == entry["name"]) & (ops["customers"] == s["customers"])
                          & (ops["operators"] == s["operators"]) & (ops["operation"] == name)]
                assert len(hit) == 1
                assert hit["p95 (ms)"].iloc[0] == pytest.approx(o["p95_ms"])
                assert hit["requests"].iloc[0] == o["requests"]
                assert hit["p95 low (ms)"].iloc[0] <= o["p95_ms"] <= hit["p95 high (ms)"].iloc[0]
    # numbers are numbers, not text
    assert pd.api.types.is_numeric_dtype(steps["p95 (ms)"]) and pd.api.types.is_numeric_dtype(summary["max customers (measured)"])


def test_html_is_self_contained_with_every_chart(rendered):
    out, doc, written = rendered
    page = written.html.read_text()
    images = re.findall(r"<img [^>]*src='data:image/png;base64,[A-Za-z0-9+/=]+'", page)
    assert len(images) == len(written.charts) >= 6  # profiles, 2 x (latency, throughput), 1 frontier
    assert "http://" not in page and "https://" not in page and "<script" not in page
    first = page.index("class='verdict")
    assert first < page.index("<img") and "On grows, the system held 32,000 customers" in page
    assert "projected capacity about" in page  # the held-at-maximum profile gets a projection, labelled
    md = written.markdown.read_text()
    assert md.startswith("# jxcbench capacity report") and "Projections (projected, not measured)" in md
    assert "![grows: latency](charts/grows-latency.png)" in md
    for chart in written.charts:
        assert chart.stat().st_size > 5000


def test_chinese_report(synthetic, tmp_path):
    root, doc = synthetic
    shutil.copytree(root, tmp_path, dirs_exist_ok=True)
    font = cjk_font()
    if font is None and not in_ci():
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk); .ci/run installs one")
    assert font is not None, "CI installs a CJK font (.ci/run): matplotlib must find it"
    written = write_all(tmp_path, doc, lang="zh")
    assert written.notes == []  # no fallback to English
    page = written.html.read_text()
    assert "在 grows 上，系统容纳了 50 个操作员下的 32,000 个客户" in page and "lang='zh-CN'" in page
    import openpyxl

    assert openpyxl.load_workbook(written.xlsx).sheetnames[:5] == ["摘要", "步骤", "操作", "资源", "配置"]


def test_report_command_rerenders_everything(synthetic, tmp_path):
    root, doc = synthetic
    shutil.copytree(root, tmp_path, dirs_exist_ok=True)
    done = jxcbench("report", str(tmp_path), "--lang", "zh")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == f"Report: {tmp_path / 'report.html'}"
    assert done.stdout.startswith("在 grows 上")
    for name in ("report.html", "report.md", "report.xlsx", "charts/profiles.png"):
        assert (tmp_path / name).is_file()
    bad = jxcbench("report", str(tmp_path), "--lang", "fr")
    assert bad.returncode == 2 and "--lang 'fr'" in bad.stderr and "Traceback" not in bad.stderr


def test_report_without_raw_files_uses_capacity_json(synthetic, tmp_path):
    """A results folder reduced to capacity.json still renders (no bounds, same figures)."""
    _, doc = synthetic
    (tmp_path / "capacity.json").write_text(json.dumps(doc))
    written = write_all(tmp_path, doc)
    steps = _sheet(written.xlsx, "steps")
    assert len(steps) == sum(len(e["steps"]) for e in doc["profiles"])


def test_guide_ranges_and_files(synthetic, tmp_path):
    root, doc = synthetic
    out = tmp_path / "guide"
    done = jxcbench("guide", str(root), "--out", str(out))
    assert done.returncode == 0, done.stderr
    for lang in ("en", "zh"):
        for ext in ("html", "md", "xlsx"):
            assert (out / f"guide.{lang}.{ext}").is_file()
    md = (out / "guide.en.md").read_text()
    # frontier (60 CNY/month) is the cheapest that holds 4,000; grows (100 CNY) holds up to 32,000
    assert re.search(r"\| up to 4,000 \| frontier \|", md) and re.search(r"\| 4,001 – 32,000 \| grows \|", md)
    assert "3.12" in md and "15" in md  # CNY per 1,000 customers per month: 100/32 and 60/4
    assert "jxcbench guide" in md
    zh = (out / "guide.zh.md").read_text()
    assert "选型指南" in zh and "至多 4,000" in zh
    guide = pd.read_excel(out / "guide.en.xlsx", sheet_name="guide")
    assert list(guide["held (measured)"]) == [4000, 32000]


def test_partial_and_empty_results_render_without_failing(synthetic, tmp_path):
    import copy

    _, doc = synthetic
    partial = copy.deepcopy(doc)
    partial["partial"] = True
    first = partial["profiles"][0]
    first.update(steps=[], max_customers=None, complete=False)
    for s in partial["profiles"][1]["steps"]:  # every step invalid, nothing measured
        s.update(valid=False, operations={}, rps=None, resources={})
    written = write_all(tmp_path / "partial", partial) if (tmp_path / "partial").mkdir() is None else None
    assert "no step gave a pass or a fail yet" in written.html.read_text()
    empty = {**copy.deepcopy(doc), "profiles": []}
    (tmp_path / "empty").mkdir()
    assert write_all(tmp_path / "empty", empty).charts == []


def test_chinese_charts_fall_back_to_english_without_a_cjk_font(monkeypatch):
    from reports.render import charts

    monkeypatch.setattr(charts, "_cjk", [None])
    lang, note = charts.chart_lang("zh")
    assert lang == "en" and "No CJK font" in note
    assert charts.chart_lang("en") == ("en", None)


def test_guide_names_the_staff_a_sweep_records():
    """A sweep writes the staff at the capacity as ``staffing`` (step.json's of the largest passing
    step); the guide's staff column reads it (it showed "–" for every staffed sweep)."""
    from reports.guide import GuideRow

    entry = {"name": "pg", "staffing": {"mode": "staffed", "staff": {"sales": 248, "manager": 25},
                                        "online": {"sales": 124, "manager": 12}, "online_share": 0.5}}
    row = GuideRow("pg", entry, {}, "x", 210_000, None, 230_000)
    assert row.staff("en") == "sales 248 (124 online), manager 25 (12 online)"
    assert row.staff("zh") == "248 名销售（124 人在线）、25 名经理（12 人在线）"
    assert GuideRow("fixed", {"operators": 50}, {}, "x", 1, None, None).staff("en") != "–"
