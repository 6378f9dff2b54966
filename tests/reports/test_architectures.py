"""The section "Architectures at equal allowance" on synthetic results with known answers
(tests/reports/synthetic_arch.py): when it appears, its figures, its "who wins" sentences, en and zh."""

from __future__ import annotations

import shutil
from types import SimpleNamespace

import pandas as pd
import pytest

from reports.analysis.architectures import comparisons, groups
from reports.analysis.tables import analyse
from reports.render.architectures import sentences
from reports.render.markdown import render_markdown
from reports.render.report import write_all
from tests.reports.synthetic_arch import CPU_MS, LEVEL, NAMES, OPS, P95, SERVICES_MS, profiles_of, write_arch_results

A, B, C, D = NAMES  # monolith local, monolith 0.5 ms away, microservices local, microservices 0.5 ms away


@pytest.fixture(scope="module")
def arch(tmp_path_factory):
    root = tmp_path_factory.mktemp("arch")
    doc = write_arch_results(root)
    return root, doc


@pytest.fixture(scope="module")
def comparison(arch):
    root, doc = arch
    (c,) = comparisons(analyse(doc, root).profiles)
    return c


def _entries(profiles: dict) -> list:
    return [SimpleNamespace(entry={"name": n, "profile": p}) for n, p in profiles.items()]


def test_profiles_differing_only_in_architecture_are_one_group():
    assert [[p.entry["name"] for p in g] for g in groups(_entries(profiles_of()))] == [list(NAMES)]
    # a field one results file leaves null and another leaves out still compares equal
    profs = profiles_of()
    profs[B]["business"] = None
    del profs[C]["hardware"]["price"]
    assert len(groups(_entries(profs))[0]) == 4


def test_a_profile_that_differs_in_anything_else_is_left_out():
    (g,) = groups(_entries(profiles_of(**{C: {"hardware.memory": 1024**3}})))
    assert [p.entry["name"] for p in g] == [A, B, D]
    # two profiles that each differ elsewhere leave two with different architectures, or none
    assert groups(_entries(profiles_of(**{B: {"hardware.cpus": 0.5}, C: {"slo.p95_ms": 300.0},
                                          D: {"database.index_level": "basic"}}))) == []
    # differing in the workers alone is not a comparison of architectures (kind and network the same)
    profs = profiles_of(**{B: {"architecture.network": None, "architecture.workers": 4}})
    two = {n: profs[n] for n in (A, B)}
    assert groups(_entries(two)) == []


def test_no_section_without_profiles_that_differ_only_in_architecture(synthetic, arch, tmp_path):
    root, doc = synthetic  # grows and frontier: the same architecture, a different disk and price
    a = analyse(doc, root, read_samples=False)
    assert comparisons(a.profiles) == []
    assert "Architectures at equal allowance" not in render_markdown(doc, "en", a)
    other = write_arch_results(tmp_path, samples_per_step=400, over={B: {"hardware.memory": 1024**3},
                                                                      C: {"workload.customer_quota": 500},
                                                                      D: {"sweep.step_duration_s": 120.0}})
    a = analyse(other, tmp_path)
    assert comparisons(a.profiles) == []
    assert "同等资源额度下的架构对比" not in render_markdown(other, "zh", a)


def test_the_figures_match_the_synthetic_data(comparison):
    c = comparison
    assert [m.name for m in c.members] == list(NAMES)
    assert c.level == LEVEL  # the largest level all four measured (micro-far failed there)
    assert [(m.held, m.first_failing) for m in c.members] == [(4000, 8000), (2000, 4000), (2000, 4000), (1000, 2000)]
    assert c.winners == [A]
    assert [m.kind for m in c.members] == ["monolith", "monolith", "microservices", "microservices"]
    assert [m.network for m in c.members] == [None, (0.5, None), None, (0.5, None)]
    for m in c.members:
        assert set(m.p95) == set(OPS)
        for op in OPS:
            assert m.p95[op] == pytest.approx(P95[m.name][op], rel=0.1), (m.name, op)
        app, db = CPU_MS[m.name]
        assert (m.app_ms, m.db_ms, m.total_ms) == (pytest.approx(app), pytest.approx(db), pytest.approx(app + db))
        assert m.services_ms == pytest.approx(SERVICES_MS.get(m.name, {}))
    assert c.member(C).limiting["resource"] == "cpu" and c.member(C).limiting["service"] == "inventory"
    assert c.member(B).limiting["resource"] is None and c.member(B).limiting["operation"] == "customer_view"
    assert c.fastest == dict.fromkeys(OPS, A)
    op, fast, fast_p95, slow, slow_p95 = c.widest
    assert (op, fast, slow) == ("sales_order_create", A, D)
    assert (slow_p95, fast_p95) == (pytest.approx(700, rel=0.1), pytest.approx(30, rel=0.1))
    assert c.leanest == A
    # each single change, against the nearer database / the monolith, and the operation it moved most
    assert {(p.base, p.other, p.differs_in, p.operation) for p in c.pairs} == {
        (A, B, "network", "customer_view"), (A, C, "kind", "sales_order_create"),
        (B, D, "kind", "sales_order_create"), (C, D, "network", "sales_order_create")}


def test_who_wins_in_english(comparison):
    c = comparison
    text = sentences(c, "en")
    assert text[0] == (f"{A} held the most customers, 4,000 (measured); at 8,000 it failed: cpu ran out first and "
                       "sales_order_create was furthest over its SLO.")
    assert text[1] == (f"{B} held 2,000 (measured) and at 4,000 it failed: no resource ran out (the samples point to "
                       "waits) and customer_view was furthest over its SLO.")
    assert text[2] == (f"{C} held 2,000 (measured) and at 4,000 it failed: cpu ran out first (busiest service: "
                       "inventory) and sales_order_create was furthest over its SLO.")
    assert text[3].startswith(f"{D} held 1,000 (measured) and at 2,000 it failed: no resource ran out")
    d, a = c.member(D).p95["sales_order_create"], c.member(A).p95["sales_order_create"]
    assert text[4] == (f"At 2,000 customers {A} had the lowest p95 in 4 of 4 operations; the widest gap was "
                       f"sales_order_create: {d:,.0f} ms on {D} against {a:,.0f} ms on {A}.")
    assert text[5] == (f"CPU per request there: {A} 15.0 ms (app 10.0 + database 5.0); {B} 16.0 ms (app 11.0 + "
                       f"database 5.0); {C} 32.0 ms (app 25.0, of which inventory 10.0 + database 7.0); {D} 35.0 ms "
                       f"(app 28.0, of which inventory 11.0 + database 7.0); {A} used the least.")
    b_view, a_view = c.member(B).p95["customer_view"], c.member(A).p95["customer_view"]
    assert (f"{B} against {A} (monolith, the database 0.5 ms away instead of local): customer_view p95 "
            f"{b_view:,.0f} against {a_view:,.0f} ms, CPU per request 16.0 against 15.0 ms.") in text
    assert any(s.startswith(f"{C} against {A} (microservices instead of monolith, the database local): "
                            "sales_order_create p95") for s in text)


def test_who_wins_in_chinese(comparison):
    text = sentences(comparison, "zh")
    assert text[0] == f"{A} 容纳的客户最多：4,000（实测）；在 8,000 个客户时失败：最先耗尽的是 cpu，超出 SLO 最多的是 sales_order_create。"
    assert text[2] == (f"{C} 容纳了 2,000 个客户（实测），在 4,000 个客户时失败：最先耗尽的是 cpu（最忙的服务：inventory），"
                       "超出 SLO 最多的是 sales_order_create。")
    assert text[4].startswith(f"在 2,000 个客户时，{A} 在 4 个操作中的 4 个 p95 最低；差距最大的是 sales_order_create")
    assert f"{A} 用得最少" in text[5]


def test_a_tie_and_a_capacity_that_never_failed_are_said_as_such():
    from reports.analysis.architectures import compare

    profs = profiles_of()

    def member(name, held, failing, projection=None):
        entry = {"name": name, "profile": profs[name], "max_customers": held, "first_failing_customers": failing,
                 "steps": []}
        return SimpleNamespace(entry=entry, steps=[], projection=projection)

    c = compare([member(A, 64000, None), member(C, 64000, None)])
    assert c.level is None and c.winners == [A, C]
    assert sentences(c, "en") == [f"{A} and {C} held the same, 64,000 customers (measured), without failing up to the "
                                  "most its sweep searched."]
    proj = {"projected_max_customers": 90000, "projection": {"model": "log"}}
    c = compare([member(A, 64000, None), member(B, 32000, None, proj), member(D, None, 1000)])
    assert sentences(c, "en") == [
        f"{A} held the most customers: 64,000 (measured), without failing up to the most its sweep searched.",
        f"{B} held 32,000 (measured) and did not fail up to the most its sweep searched; projected capacity about "
        "90,000 (log, projected).",
        f"{D} held no level searched and at 1,000 it failed: no limiting factor was recorded."]


def test_markdown_html_and_excel_in_both_languages(arch, comparison, tmp_path):
    root, doc = arch
    out = tmp_path / "en"
    shutil.copytree(root, out)
    written = write_all(out, doc, lang="en")
    md = written.markdown.read_text()
    assert "## Architectures at equal allowance" in md
    assert md.index("## Architectures at equal allowance") < md.index(f"## {A}")  # before the profiles' details
    assert f"| figure | measured / projected | {A} | {B} | {C} | {D} |" in md
    assert "| customers held | measured | 4,000 | 2,000 | 2,000 | 1,000 |" in md
    assert "| system CPU per request (ms) | measured | 15.0 | 16.0 | 32.0 | 35.0 |" in md
    assert "| inventory CPU per request (ms) | measured | – | – | 10.0 | 11.0 |" in md
    assert "| database | | local | 0.5 ms away | local | 0.5 ms away |" in md.replace("|  |", "| |")
    assert f"{A} held the most customers, 4,000 (measured); at 8,000 it failed" in md
    page = written.html.read_text()
    assert "<h2>Architectures at equal allowance</h2>" in page and f"{A} held the most customers, 4,000" in page
    sheet = pd.read_excel(written.xlsx, sheet_name="architectures").set_index("figure")
    assert list(sheet.loc["customers held", list(NAMES)]) == [4000, 2000, 2000, 1000]
    assert sheet.loc["customers held", "measured / projected"] == "measured"
    assert sheet.loc["projected capacity (customers)", "measured / projected"] == "projected"
    assert list(sheet.loc["system CPU per request (ms)", list(NAMES)]) == pytest.approx([15.0, 16.0, 32.0, 35.0])
    assert sheet.loc["p95 sales_order_create (ms)", D] == pytest.approx(comparison.member(D).p95["sales_order_create"])
    assert pd.isna(sheet.loc["inventory CPU per request (ms)", A])
    notes = pd.read_excel(written.xlsx, sheet_name="notes", header=None)[0].tolist()
    assert any(n.startswith(f"{A} held the most customers, 4,000 (measured); at 8,000 it failed") for n in notes)

    out = tmp_path / "zh"
    shutil.copytree(root, out)
    written = write_all(out, doc, lang="zh")
    md = written.markdown.read_text()
    assert "## 同等资源额度下的架构对比" in md and f"{A} 容纳的客户最多：4,000（实测）；在 8,000" in md
    assert "| 可容纳客户数 | 实测 | 4,000 | 2,000 | 2,000 | 1,000 |" in md
    assert "同等资源额度下的架构对比" in written.html.read_text()
    sheet = pd.read_excel(written.xlsx, sheet_name="架构对比").set_index("指标")
    assert list(sheet.loc["可容纳客户数", list(NAMES)]) == [4000, 2000, 2000, 1000]


def test_the_guide_compares_the_architectures_of_several_sweeps(arch, tmp_path):
    from reports.guide import write_guide

    _, doc = arch
    # two sweeps: the monoliths in one, the microservices in the other
    mono = {**doc, "profiles": [e for e in doc["profiles"] if "monolith" in e["name"]]}
    micro = {**doc, "profiles": [e for e in doc["profiles"] if "micro-" in e["name"]]}
    write_guide(tmp_path, [("mono", mono), ("micro", micro)], ("en", "zh"))
    md = (tmp_path / "guide.en.md").read_text()
    assert "## Architectures at equal allowance" in md
    assert f"{A} held the most customers, 4,000 (measured); at 8,000 it failed" in md
    assert "| customers held | measured | 4,000 | 2,000 | 2,000 | 1,000 |" in md
    assert "## 同等资源额度下的架构对比" in (tmp_path / "guide.zh.md").read_text()
    sheet = pd.read_excel(tmp_path / "guide.en.xlsx", sheet_name="architectures").set_index("figure")
    assert list(sheet.loc["first failing customers", list(NAMES)]) == [8000, 4000, 4000, 2000]
    # one sweep alone holds one kind: its two profiles differ only in where the database is
    write_guide(tmp_path / "one", [("mono", mono)], ("en",))
    assert f"| figure | measured / projected | {A} | {B} |" in (tmp_path / "one" / "guide.en.md").read_text()
