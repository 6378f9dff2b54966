"""--lang zh: no English label left in a report's or a guide's table headers (report.xlsx's every sheet,
report.md's and report.html's tables, guide.zh.*), units kept in them; --lang en: the headers as they
were. Rendered from synthetic results (tests/reports/synthetic.py, synthetic_arch.py)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from reports.guide import write_guide
from reports.render.i18n import COLUMNS
from reports.render.report import write_all
from tests.reports.synthetic_arch import write_arch_results

# Units and identifiers Chinese text may keep: percentiles, units, acronyms, math ("N log N", "R²").
ALLOWED = {"p50", "p95", "p99", "ms", "CPU", "MB", "GiB", "SLO", "RSS", "R", "N", "log"}
WORD = re.compile(r"[A-Za-z][A-Za-z0-9_']*")


def english_words(text: str, identifiers: set[str]) -> set[str]:
    """The ASCII words of ``text`` that are neither allowed nor part of an identifier (a profile's name)."""
    for name in sorted(identifiers, key=len, reverse=True):
        text = text.replace(name, " ")
    return set(WORD.findall(text)) - ALLOWED


def xlsx_headers(path: Path) -> dict[str, list[str]]:
    wb = openpyxl.load_workbook(path, read_only=True)
    out = {}
    for ws in wb.worksheets:
        first = next(ws.iter_rows(max_row=1, values_only=True), ())
        out[ws.title] = [str(c) for c in first if c is not None]
    return out


def md_headers(text: str) -> list[list[str]]:
    """The header row of every Markdown table (the line above a |---| line)."""
    lines = text.splitlines()
    return [[c.strip() for c in lines[i - 1].strip("|").split("|")]
            for i, line in enumerate(lines) if i and re.fullmatch(r"\|(-+:?\|)+", line.strip())]


def html_headers(text: str) -> list[str]:
    return re.findall(r"<th[^>]*>([^<]*)</th>", text)


@pytest.fixture(scope="module")
def rendered(synthetic, tmp_path_factory):
    """{(which, lang): (Written, profile names)} for the two synthetic sweeps, and the guides' folder."""
    root, doc = synthetic
    arch_root = tmp_path_factory.mktemp("arch")
    arch = write_arch_results(arch_root, samples_per_step=2000)
    out = {}
    for which, src, d in (("syn", root, doc), ("arch", arch_root, arch)):
        names = {e["name"] for e in d["profiles"]}
        for lang in ("en", "zh"):
            dst = tmp_path_factory.mktemp(f"{which}-{lang}")
            shutil.copytree(src, dst, dirs_exist_ok=True)
            out[which, lang] = (write_all(dst, d, lang=lang), names)
    guides = tmp_path_factory.mktemp("guide")
    write_guide(guides, [("syn", doc), ("arch", arch)], ("en", "zh"))
    names = {e["name"] for d in (doc, arch) for e in d["profiles"]}
    return out, guides, names


def test_every_excel_header_is_chinese(rendered):
    out, guides, all_names = rendered
    for (which, lang), (written, names) in out.items():
        if lang != "zh":
            continue
        sheets = xlsx_headers(written.xlsx)
        assert {"摘要", "步骤", "操作", "资源", "配置", "预测"} <= set(sheets)
        for sheet, headers in sheets.items():
            if sheet == "说明":  # the notes sheet: sentences, no header row
                continue
            assert headers, f"{which}: sheet {sheet} has no header"
            assert len(set(headers)) == len(headers), f"{which}: sheet {sheet} repeats a header: {headers}"
            for h in headers:
                assert not english_words(h, names), f"{which}: sheet {sheet}: header {h!r} is English"
    for sheet, headers in xlsx_headers(guides / "guide.zh.xlsx").items():
        for h in headers if sheet != "说明" else []:
            assert not english_words(h, all_names), f"guide: sheet {sheet}: header {h!r} is English"


def test_units_stay_in_the_headers_and_numbers_stay_numbers(rendered):
    out, _, _ = rendered
    en, zh = out["syn", "en"][0].xlsx, out["syn", "zh"][0].xlsx
    for en_sheet, zh_sheet, en_col, zh_col in (("steps", "步骤", "p95 (ms)", "p95（毫秒）"),
                                               ("steps", "步骤", "throughput (req/s)", "吞吐量（请求/秒）"),
                                               ("resources", "资源", "DB size (bytes)", "数据库大小（字节）"),
                                               ("operations", "操作", "p95 high (ms)", "p95 上限（毫秒）")):
        a, b = pd.read_excel(en, sheet_name=en_sheet)[en_col], pd.read_excel(zh, sheet_name=zh_sheet)[zh_col]
        assert pd.api.types.is_numeric_dtype(b)
        assert list(b) == pytest.approx(list(a), nan_ok=True)


def test_every_markdown_and_html_table_header_is_chinese(rendered):
    out, guides, all_names = rendered
    texts = [(f"{which} report.md", w.markdown.read_text(), names) for (which, lang), (w, names) in out.items() if lang == "zh"]
    texts.append(("guide.zh.md", (guides / "guide.zh.md").read_text(), all_names))
    for what, text, names in texts:
        tables = md_headers(text)
        assert len(tables) >= 2, what
        for header in tables:
            for h in header:
                assert not english_words(h, names), f"{what}: header {h!r} is English"
    pages = [(f"{which} report.html", w.html.read_text(), names) for (which, lang), (w, names) in out.items() if lang == "zh"]
    pages.append(("guide.zh.html", (guides / "guide.zh.html").read_text(), all_names))
    for what, page, names in pages:
        heads = html_headers(page)
        assert heads, what
        for h in heads:
            assert not english_words(h, names), f"{what}: <th> {h!r} is English"


def test_english_headers_are_unchanged(rendered):
    out, _, _ = rendered
    written, _ = out["syn", "en"]
    sheets = xlsx_headers(written.xlsx)
    assert sheets["steps"] == [
        "profile", "search", "phase", "customers", "operators", "repeat", "valid", "passed", "verdict", "duration (s)",
        "measured (s)", "requests", "throughput (req/s)", "goodput (req/s)", "errors", "refusals", "error rate", "p50 (ms)",
        "p95 (ms)", "p99 (ms)", "max (ms)", "app CPU (%)", "DB CPU (%)", "app CPU per request (ms)",
        "DB CPU per request (ms)", "Little's law expected (req/s)", "Little's law ratio", "invalid reason", "dir"]
    assert sheets["summary"][:4] == ["profile", "verdict", "max customers (measured)", "first failing customers"]
    assert sheets["resources"][-2:] == ["DB bytes per customer", "resource samples"]
    md = written.markdown.read_text()
    assert ("| # | search | phase | customers | operators | result | measured | requests | rps | p95 ms | p99 ms | errors "
            "| app CPU | DB CPU | p95 spread over repeats | why it failed |") in md
    assert "| limit | model | customers (projected) | interval |" in md
    assert "| customers | most operators that passed | first failing | note |" in md
    assert "<th class=''>p95 (ms)</th>" in written.html.read_text()
    # every English header the report shows has its Chinese (a new column without one fails here)
    for sheet, headers in sheets.items():
        if sheet not in ("notes", "architectures"):
            assert set(headers) <= set(COLUMNS), f"{sheet}: no Chinese for {set(headers) - set(COLUMNS)}"


def test_projection_texts_the_analysis_writes_are_said_in_chinese():
    """Every shape of limit and model the analysis writes (reports.analysis.projection._limits) has its
    Chinese: a new shape without one fails here."""
    from reports.analysis.projection import _limits
    from reports.render.i18n import analysis_text

    crossing = {"estimate": 5000.0, "low": 4000.0, "high": None}
    limits = _limits({
        "latency": {"customer_search": {"p95": {"threshold_ms": 500.0, "model": "nlogn", "r2": 0.93, "crossing": crossing}}},
        "cpu": {"app": {"allowance_cpus": 1.0, "at_rps": 20.0, "model": "linear", "r2": 0.99, "crossing": crossing},
                "db": {"allowance_cpus": 0.5, "at_rps": 20.0, "model": "log", "r2": 0.9, "crossing": crossing}},
        "size": {"disk_full": crossing, "memory_outgrown": crossing},
        "maintenance": {"projected": True, "exceeded_at": 9000, "window_s": 3600.0, "model": "constant", "r2": 0.5,
                        "low": 8000, "high": None},
    })
    assert len(limits) == 6
    for x in limits:
        for text in (x["what"], x["model"]):
            zh = analysis_text(text, "zh")
            assert not english_words(zh, {"customer_search"}), f"{text!r} -> {zh!r}"
            assert analysis_text(text, "en") == text
    assert analysis_text("p95 latency, nlogn fit (R² 0.93)", "zh") == "p95 延迟，N log N 拟合（R² 0.93）"
    assert analysis_text("customer_search p95 reaches 500 ms", "zh") == "customer_search 的 p95 达到 500 毫秒"
    assert analysis_text("something else", "zh") == "something else"  # an unknown shape is shown as it is


def test_the_verdict_says_its_projection_in_the_report_language(rendered):
    out, _, _ = rendered
    (en, _), (zh, _) = out["syn", "en"], out["syn", "zh"]
    assert re.search(r"projected capacity about [\d,]+ customers \(p95 latency, linear fit \(R² [\d.]+\); interval "
                     r"[\d,]+–[\d,]+; first limit: customer_search p95 reaches 500 ms\)", en.verdicts[0]), en.verdicts[0]
    assert re.search(r"预测容量约 [\d,]+ 个客户（p95 延迟，线性拟合（R² [\d.]+）；区间 [\d,]+–[\d,]+；"
                     r"首个限制：customer_search 的 p95 达到 500 毫秒）", zh.verdicts[0]), zh.verdicts[0]
    assert "SLO（p95 ≤ 500 毫秒，p99 ≤ 1500 毫秒，错误率 ≤ 1.0%）" in zh.verdicts[0]
    sheet = pd.read_excel(zh.xlsx, sheet_name="预测")
    assert "customer_search 的 p95 ≥ 500 毫秒" in set(sheet["限制"]) and "线性" in set(sheet["模型"])


def _data_of(doc: dict) -> set[str]:
    """What a report shows as it is because it is data: names, operations, resources, the machine's
    description (the limiting factor's sentence is not: a Chinese report composes it in Chinese)."""
    from reports.analysis.architectures import SERVICE_PARTS

    out = {"jxcbench", "Python", "sweep.max_customers", "sweep.step_duration_s", "U_max", "USL", "GiB", "CNY", "I/O",
           "SQLite", "OOM", "MiB",
           *SERVICE_PARTS}
    m = doc.get("machine") or {}
    out |= {str(m.get(k)) for k in ("host", "cpu_model", "os") if m.get(k)}
    for e in doc["profiles"]:
        out.add(e["name"])
        prof = e.get("profile") or {}
        out |= {str((prof.get("database") or {}).get(k)) for k in ("engine", "index_level")}
        lf = e.get("limiting_factor") or {}
        out |= {str(v) for k, v in lf.items() if k in ("resource", "operation", "service") and v}
        for s in e.get("steps") or []:
            out |= set(s.get("operations") or {}) | {str(s.get("dir"))}
    return out - {"None"}


def test_chinese_report_md_prose_has_no_english_label(rendered):
    """Outside what is data (names, operations, the machine), report.md in Chinese says everything in
    Chinese: headings, sentences (the limiting factor's among them), the steps table's cells."""
    import json

    out, _, _ = rendered
    for which in ("syn", "arch"):
        written, _ = out[which, "zh"]
        doc = json.loads((written.markdown.parent / "capacity.json").read_text())
        data = _data_of(doc)
        for n, line in enumerate(written.markdown.read_text().splitlines(), 1):
            line = re.sub(r"`[^`]*`|\(charts/[^)]*\)|\d{4}-\d\d-\d\dT[\d:+]+", " ", line)
            left = english_words(line, data)
            assert not left, f"{which} report.md line {n}: {sorted(left)} in {line!r}"


def _search_notes() -> list[str]:
    """Every kind of note and stop reason the capacity search writes, from the real search driven
    through scripted outcomes (not copies of its sentences: a changed sentence fails here)."""
    from loadgen.capacity.search import FAIL, INCONCLUSIVE, INVALID, PASS, SearchSpec, StepOutcome, capacity_search, drive
    from tests.capacity.simulated import SimulatedSystem

    def spec(**kw):
        return SearchSpec(**{"start": 1000, "growth": 4.0, "maximum": 1_000_000, "precision": 0.10, "repeats": 1, **kw})

    results = [drive(capacity_search(spec()), SimulatedSystem(5_000_000)),         # the maximum held
               drive(capacity_search(spec()), SimulatedSystem(10))]                # failed at the start
    first: dict[int, bool] = {}

    def flaky(p):  # a boundary pass that fails its repeat: disagreement and a fall-back
        if p.level > 20_000 or (p.level >= 19_000 and first.get(p.level)):
            return StepOutcome(FAIL)
        first[p.level] = True
        return StepOutcome(PASS)
    results.append(drive(capacity_search(spec(repeats=2)), flaky))

    def unproven(p):
        if p.level == 16_000:
            return StepOutcome(INCONCLUSIVE, "x p95 interval straddles 500 ms")
        return StepOutcome(PASS if p.level < 16_000 else FAIL)
    results.append(drive(capacity_search(spec(invalid_retries=2)), unproven))
    results.append(drive(capacity_search(spec(invalid_retries=1)),
                         lambda p: StepOutcome(INVALID, "steal 30 %") if p.level == 16_000 else StepOutcome(PASS)))
    results.append(drive(capacity_search(spec(precision=0.01, repeats=2)),
                         lambda p: StepOutcome(INVALID, "steal 30 %") if p.level == 16_000 and p.phase == "confirm"
                         else StepOutcome(PASS if p.level <= 16_000 else FAIL)))
    notes = [n for r in results for n in r.notes] + [r.stopped for r in results if r.stopped] + ["interrupted"]
    return notes


def test_the_search_notes_and_stop_reasons_are_said_in_chinese():
    from reports.render.i18n import search_text

    notes = _search_notes()
    kinds = {"may be higher", "lower the start", "disagree", "fell back", "no step showed", "stopped:",
             "stayed invalid", "interrupted"}
    assert all(any(k in n for n in notes) for k in kinds), notes
    for note in notes:
        zh = search_text(note, "zh")
        assert zh != note, note
        # what a step recorded, quoted inside, stays as recorded; the rest is Chinese
        quoted = {"x p95 interval straddles 500 ms", "steal 30 %", "inconclusive", "pass", "fail"}
        left = english_words(re.sub(r"（[^（）]*）|：[^：]*$", " ", zh), quoted)
        assert not left, (note, zh, left)
        assert search_text(note, "en") == note
