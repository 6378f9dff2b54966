"""A sizing guide from one or more sweeps: for each customer range, the smallest profile that held it
(measured), with its staff, the measured figure, the limiting factor and the conditions (machine,
jxcbench version, date); then every profile ranked by its cost per 1,000 customers held. Written as
Markdown, self-contained HTML and Excel, in English and/or Chinese.

"Smallest" is the cheapest when every profile states a price in one currency (monthly), else the
fewest CPUs, then the least memory, then the fewest app workers. Only measured capacities define the
ranges; a projected one is shown beside it, labelled.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from reports.analysis.tables import Analysis, ProfileAnalysis, analyse, cost_per_1000
from reports.render import architectures
from reports.render import html as H
from reports.render.charts import chart_lang, profiles_chart
from reports.render.i18n import TEXT, kind, t
from reports.render.markdown import machine_line
from reports.render.xlsx import write_sheets

GUIDE_TEXT = {
    "intro": {"en": "For each range of customers, the smallest profile measured to hold it within its SLO.",
              "zh": "对每个客户数区间，列出经实测在 SLO 内可容纳该规模的最小配置。"},
    "range": {"en": "customers", "zh": "客户数"},
    "up_to": {"en": "up to {n:,}", "zh": "至多 {n:,}"},
    "from_to": {"en": "{a:,} – {b:,}", "zh": "{a:,} – {b:,}"},
    "hardware": {"en": "hardware", "zh": "硬件"},
    "database": {"en": "database", "zh": "数据库"},
    "architecture": {"en": "architecture", "zh": "架构"},
    "staff": {"en": "staff (load)", "zh": "人员（负载）"},
    "held": {"en": "held (measured)", "zh": "可容纳（实测）"},
    "projected": {"en": "projected capacity", "zh": "预测容量"},
    "limiting": {"en": "limiting factor", "zh": "瓶颈"},
    "cost": {"en": "cost / 1,000 customers / month", "zh": "每千客户每月成本"},
    "conditions": {"en": "conditions", "zh": "测量条件"},
    "ranking": {"en": "Profiles by cost per 1,000 customers held", "zh": "按每千客户成本排列的配置"},
    "none_held": {"en": "Profiles that held no level searched", "zh": "在搜索的任何规模下都未达标的配置"},
    "sources": {"en": "Sources", "zh": "数据来源"},
    "currency": {"en": "currency", "zh": "币种"},
    "unpriced": {"en": "no price stated", "zh": "未标价"},
    "made_by": {"en": "Made by: {cmd}", "zh": "生成命令：{cmd}"},
    "slo": {"en": "SLO", "zh": "SLO"},
    "operators_n": {"en": "{n:,} operators", "zh": "{n:,} 个操作员"},
    "unlimited": {"en": "no limit", "zh": "不限"},
    "cpus": {"en": "{n:g} CPU", "zh": "{n:g} 个 CPU"},
    "workers": {"en": "{kind}, {n} app worker{s}", "zh": "{kind}，{n} 个应用进程"},
    "disk": {"en": "disk {n:g} GiB", "zh": "磁盘 {n:g} GiB"},
    "no_limit_cpu": {"en": "no limit CPU", "zh": "CPU 不限"},
    "managed": {"en": ", managed", "zh": "，托管"},
    "database_text": {"en": "{engine} ({index}{managed})", "zh": "{engine}（{index}{managed}）"},
    "online": {"en": " ({n} online)", "zh": "（{n} 人在线）"},
    "unconstrained": {"en": ", unconstrained", "zh": "，不受限"},
}


def g(key: str, lang: str, **kw) -> str:
    text = GUIDE_TEXT[key].get(lang) or GUIDE_TEXT[key]["en"]
    return text.format(**kw) if kw else text


@dataclass
class GuideRow:
    name: str
    entry: dict
    doc: dict
    source: str
    held: int | None
    projected: int | None
    first_failing: int | None

    @property
    def profile(self) -> dict:
        return self.entry.get("profile") or {}

    def cost(self) -> dict | None:
        return cost_per_1000(self.entry)

    def hardware(self, lang: str) -> str:
        hw = self.profile.get("hardware") or {}
        cpus = g("cpus", lang, n=hw["cpus"]) if hw.get("cpus") else g("no_limit_cpu", lang)
        mem = f"{hw['memory'] / 1024**3:g} GiB" if hw.get("memory") else g("unlimited", lang)
        parts = [cpus, mem]
        if hw.get("disk"):
            parts.append(g("disk", lang, n=hw["disk"] / 1024**3))
        return t("list_sep", lang).join(parts)

    def database(self, lang: str = "en") -> str:
        db = self.profile.get("database") or {}
        return g("database_text", lang, engine=db.get("engine"), index=db.get("index_level"),
                 managed=g("managed", lang) if db.get("managed") else "")

    def architecture(self, lang: str) -> str:
        arch = self.profile.get("architecture") or {}
        n = arch.get("workers")
        return g("workers", lang, kind=kind(arch.get("kind"), lang), n=n, s="" if n == 1 else "s")

    def staff(self, lang: str) -> str:
        """The staff per role where the results name it (a sweep's ``staffing``: the staff at the
        capacity, step.json's ``staffing`` of the largest passing step; or ``staff`` / ``online``),
        else the load."""
        staffing = self.entry.get("staffing") if isinstance(self.entry.get("staffing"), Mapping) else {}
        staff = self.entry.get("staff") or staffing.get("staff")
        online = self.entry.get("online") or staffing.get("online")
        if isinstance(staff, Mapping) and staff:
            parts = []
            for role, n in staff.items():
                if isinstance(n, Mapping):  # {role: {staff, online}}
                    n, on = n.get("staff"), n.get("online")
                else:
                    on = online.get(role) if isinstance(online, Mapping) else None
                words = (TEXT.get(f"role_{role}") or {}).get("zh") if lang == "zh" else None
                who = f"{n} {words[0]}" if words else f"{role} {n}"  # "3 名销售"; English as before
                parts.append(who + (g("online", lang, n=on) if on is not None else ""))
            return ("、" if lang == "zh" else ", ").join(parts)
        if self.entry.get("operators") is not None:
            return g("operators_n", lang, n=self.entry["operators"])
        if self.entry.get("rate") is not None:
            return t("load_rate", lang, r=self.entry["rate"])
        return "–"

    def limiting(self) -> str:
        lf = self.entry.get("limiting_factor") or {}
        if not lf:
            return "–"
        return " / ".join(str(x) for x in (lf.get("resource"), lf.get("operation")) if x)

    def conditions(self, lang: str = "en") -> str:
        m = self.doc.get("machine") or {}
        sep = t("list_sep", lang)
        return (f"{m.get('cpu_model')} ×{m.get('cpu_cores')}{sep}jxcbench {self.doc.get('tool_version')}{sep}"
                f"{str(self.doc.get('created'))[:10]}" + (g("unconstrained", lang) if self.doc.get("unconstrained") else ""))


def gather(sources: Sequence[tuple[str, Mapping]]) -> list[GuideRow]:
    """One row per profile of every results document ((source label, capacity.json) pairs)."""
    from reports.analysis.projection import projected_capacity

    rows = []
    for source, doc in sources:
        for entry in doc.get("profiles") or []:
            proj = entry.get("projected_max_customers")
            if proj is None:
                proj = (projected_capacity(entry, (doc.get("machine") or {}).get("cpu_cores")) or {}).get("projected_max_customers")
            rows.append(GuideRow(entry.get("name"), dict(entry), dict(doc), source, entry.get("max_customers"), proj,
                                 entry.get("first_failing_customers")))
    return rows


def _size_key(rows: Sequence[GuideRow]):
    costs = [r.cost() for r in rows]
    one_currency = all(costs) and len({c["currency"] for c in costs}) == 1

    def key(r: GuideRow):
        hw = r.profile.get("hardware") or {}
        plain = (hw.get("cpus") or math.inf, hw.get("memory") or math.inf, (r.profile.get("architecture") or {}).get("workers") or 0)
        return ((r.cost() or {}).get("per_month", math.inf),) + plain if one_currency else plain

    return key


def ranges(rows: Sequence[GuideRow]) -> list[tuple[int, int, GuideRow]]:
    """[(from, to, row)]: for customers in (from, to], the smallest profile that held ``to``."""
    holding = [r for r in rows if r.held]
    key = _size_key(holding)
    out: list[tuple[int, int, GuideRow]] = []
    low = 0
    for edge in sorted({r.held for r in holding}):
        best = min((r for r in holding if r.held >= edge), key=lambda r: (key(r), -r.held))
        if out and out[-1][2] is best:
            out[-1] = (out[-1][0], edge, best)
        else:
            out.append((low, edge, best))
        low = edge
    return out


def guide_tables(rows: Sequence[GuideRow], lang: str) -> dict[str, pd.DataFrame]:
    def record(r: GuideRow) -> dict:
        cost = r.cost()
        return {
            t("profile", lang): r.name, g("hardware", lang): r.hardware(lang), g("database", lang): r.database(lang),
            g("architecture", lang): r.architecture(lang), g("staff", lang): r.staff(lang),
            g("held", lang): r.held, t("first_failing", lang): r.first_failing,
            g("projected", lang): r.projected,
            g("limiting", lang): r.limiting(),
            g("currency", lang): cost["currency"] if cost else None,
            g("cost", lang): round(cost["per_1000_per_month"], 2) if cost else None,
            g("conditions", lang): r.conditions(lang),
        }

    guide = []
    for low, high, r in ranges(rows):
        label = g("up_to", lang, n=high) if low == 0 else g("from_to", lang, a=low + 1, b=high)
        guide.append({g("range", lang): label, **record(r)})
    ranked = sorted(rows, key=lambda r: ((r.cost() or {}).get("per_1000_per_month", math.inf), -(r.held or 0)))
    return {"guide": pd.DataFrame(guide), "profiles": pd.DataFrame([record(r) for r in ranked])}


def across(sources: Sequence[tuple[str, Mapping]]) -> Analysis:
    """Every profile of every sweep, for the sections that compare profiles across sweeps (the
    architectures at equal allowance); a name two sweeps share is told apart by its source."""
    profiles: list[ProfileAnalysis] = []
    for label, doc in sources:
        profiles += analyse(doc, None, read_samples=False).profiles
    names = [p.entry.get("name") for p in profiles]
    sources_of = [label for label, doc in sources for _ in doc.get("profiles") or []]
    for p, label in zip(profiles, sources_of, strict=True):
        if names.count(p.entry.get("name")) > 1:
            p.entry = {**p.entry, "name": f"{p.entry.get('name')} ({label})"}
    return Analysis({}, None, profiles)


def _sources_lines(sources: Sequence[tuple[str, Mapping]], lang: str) -> list[str]:
    return [f"{label}: {t('measured_on', lang, date=doc.get('created'), machine=machine_line(doc, lang))}" for label, doc in sources]


def render_markdown(rows, sources, lang: str, command: str | None, together: Analysis | None = None) -> str:
    tables = guide_tables(rows, lang)
    lines = [f"# {t('guide_title', lang)}", "", g("intro", lang), "", _md_table(tables["guide"]), "",
             f"## {g('ranking', lang)}", "", _md_table(tables["profiles"]), "",
             f"_{t('projected_note', lang)}_"]
    lines += architectures.markdown(together or across(sources), lang)
    lines += ["", f"## {g('sources', lang)}", ""]
    lines += [f"- {s}" for s in _sources_lines(sources, lang)]
    if command:
        lines += ["", g("made_by", lang, cmd=f"`{command}`")]
    return "\n".join(lines) + "\n"


def _md_table(df: pd.DataFrame) -> str:
    if df.empty:
        return "–"

    def cell(v) -> str:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return "–"
        if isinstance(v, float) and v.is_integer():
            return f"{int(v):,}"
        if isinstance(v, int | float):
            return f"{v:,}"
        return str(v).replace("|", "/")

    head = "| " + " | ".join(map(str, df.columns)) + " |"
    sep = "|" + "|".join("---" for _ in df.columns) + "|"
    body = ["| " + " | ".join(cell(v.item() if hasattr(v, "item") else v) for v in rec) + " |" for rec in df.itertuples(index=False)]
    return "\n".join([head, sep, *body])


def render_html(rows, sources, lang: str, command: str | None, together: Analysis | None = None) -> tuple[str, str | None]:
    tables = guide_tables(rows, lang)
    chart_language, note = chart_lang(lang)
    a = Analysis({}, None, [ProfileAnalysis(r.entry, [], {}, {"projected_max_customers": r.projected}) for r in rows])
    body = [f"<h1>{t('guide_title', lang)}</h1>", f"<p>{g('intro', lang)}</p>", H.table(tables["guide"])]
    with tempfile.TemporaryDirectory() as tmp:
        import matplotlib.pyplot as plt

        from reports.render.charts import _style

        with plt.rc_context(_style(chart_language)):
            chart = profiles_chart(a, Path(tmp) / "profiles.png", chart_language)
        if chart:
            body.append(H.image(chart, t("profiles_title", lang)))
    body += [f"<h2>{g('ranking', lang)}</h2>", H.table(tables["profiles"]),
             f"<p class='note projected'>{t('projected_note', lang)}</p>"]
    body += architectures.html_section(together or across(sources), lang)
    body += [f"<h2>{g('sources', lang)}</h2><ul>"]
    body += [f"<li>{H.html.escape(s)}</li>" for s in _sources_lines(sources, lang)] + ["</ul>"]
    if note:
        body.append(f"<p class='note'>{H.html.escape(note)}</p>")
    if command:
        body.append(f"<p class='note'>{H.html.escape(g('made_by', lang, cmd=command))}</p>")
    return H.page(t("guide_title", lang), body, lang), note


def write_guide(out: Path, sources: Sequence[tuple[str, Mapping]], langs: Sequence[str] = ("en", "zh"),
                command: str | None = None) -> tuple[list[Path], list[str]]:
    """guide.<lang>.md / .html / .xlsx in ``out`` for each language; returns the files and notes."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = gather(sources)
    together = across(sources)
    files, notes = [], []
    for lang in langs:
        md = out / f"guide.{lang}.md"
        md.write_text(render_markdown(rows, sources, lang, command, together), encoding="utf-8")
        page, note = render_html(rows, sources, lang, command, together)
        if note and note not in notes:
            notes.append(note)
        html_path = H.write_page(out / f"guide.{lang}.html", page)
        tables = guide_tables(rows, lang)
        xlsx = write_sheets(out / f"guide.{lang}.xlsx", [(t("guide", lang), tables["guide"]), (t("profiles", lang), tables["profiles"]),
                                                         *architectures.sheets(together, lang)],
                            notes=[t("guide_title", lang)] + architectures.notes(together, lang) + _sources_lines(sources, lang)
                            + ([g("made_by", lang, cmd=command)] if command else []),
                            notes_sheet="notes" if lang == "en" else "说明")
        files += [html_path, md, xlsx]
    return files, notes


__all__ = ["GuideRow", "across", "gather", "guide_tables", "ranges", "write_guide"]
