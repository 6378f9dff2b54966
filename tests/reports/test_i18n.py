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

# Units and identifiers a Chinese header may keep: percentiles, units, acronyms.
ALLOWED = {"p50", "p95", "p99", "ms", "CPU", "MB", "GiB", "SLO", "RSS", "R"}
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
