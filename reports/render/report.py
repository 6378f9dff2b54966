"""Every report file of a sweep folder from its results: ``report.md``, ``report.html`` (self-contained),
``report.xlsx`` and the PNG charts under ``charts/``. Reads results files only; runs no load.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from reports.analysis.tables import (
    Analysis,
    analyse,
    cost_per_1000,
    operations_table,
    profiles_table,
    projections_table,
    resources_table,
    steps_table,
    summary_table,
)
from reports.analysis.limiting import limiting_detail
from reports.render import architectures
from reports.render import html as H
from reports.render import maintenance
from reports.render.charts import render_charts
from reports.render.i18n import analysis_text, chart_caption, check_lang, t
from reports.render.markdown import machine_line, write_report
from reports.render.verdict import verdict
from reports.render.xlsx import write_report_xlsx

CHARTS_DIR = "charts"


@dataclass
class Written:
    html: Path
    markdown: Path
    xlsx: Path
    charts: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    verdicts: list[str] = field(default_factory=list)  # one sentence per profile, projections included


def tables_of(a: Analysis, lang: str = "en") -> dict:
    verdicts = [verdict({**p.entry, **(p.projection or {})}, lang) for p in a.profiles]
    out = {"summary": summary_table(a, verdicts), "steps": steps_table(a), "operations": operations_table(a),
           "resources": resources_table(a), "profiles": profiles_table(a), "projections": projections_table(a)}
    # the projections' limits and models are English text the analysis wrote: said in the report's language
    for key, columns in (("projections", ("what", "model")), ("summary", ("projection model",))):
        for c in columns:
            if c in out[key].columns:
                out[key][c] = out[key][c].map(lambda v: analysis_text(v, lang))
    # the limiting factor's sentence, composed from its recorded facts in the report's language
    if "limiting detail" in out["summary"].columns:
        out["summary"]["limiting detail"] = [limiting_detail(p.entry.get("limiting_factor"), lang) for p in a.profiles]
    return out


STEP_COLUMNS = ["search", "phase", "customers", "operators", "valid", "passed", "requests", "throughput (req/s)",
                "goodput (req/s)", "errors", "refusals", "p95 (ms)", "p99 (ms)", "app CPU (%)", "DB CPU (%)",
                "app CPU per request (ms)", "DB CPU per request (ms)", "Little's law ratio", "invalid reason"]
OP_COLUMNS = ["customers", "operators", "operation", "requests", "p50 (ms)", "p95 (ms)", "p95 low (ms)", "p95 high (ms)",
              "p99 (ms)", "p99 low (ms)", "p99 high (ms)", "errors", "refusals", "verdict"]


def _cost_line(entry: Mapping, projected: float | None, lang: str) -> str | None:
    cost = cost_per_1000(entry)
    if cost is None and projected:
        cost = cost_per_1000(entry, projected)
        if cost:
            return (f"{t('cost_per_1000', lang)}: {cost['currency']} {cost['per_1000_per_month']:,.2f} "
                    f"{t('per_month', lang)} ({t('projected', lang)})")
    if cost is None:
        return None
    return (f"{t('cost_per_1000', lang)}: {cost['currency']} {cost['per_1000_per_month']:,.2f} {t('per_month', lang)} "
            f"({t('price', lang)} {cost['currency']} {cost['per_month']:,.0f} {t('per_month', lang)})")


def _of(df, name):
    """The rows of one profile (an empty table has no columns at all)."""
    return df[df["profile"] == name] if "profile" in df.columns else df


def render_html(a: Analysis, tables: dict, charts: list[tuple[str, Path]], lang: str, notes: list[str]) -> str:
    doc = a.doc
    body = [f"<h1>{t('report_title', lang)}</h1>"]
    if doc.get("partial"):
        body.append(f"<p class='verdict fail'>{t('partial', lang)}</p>")
    for p in a.profiles:
        e = {**p.entry, **(p.projection or {})}
        held = e.get("max_customers") is not None
        body.append(f"<p class='verdict{'' if held else ' fail'}'>{H.html.escape(verdict(e, lang))}</p>")
    body.append(f"<p class='note'>{H.html.escape(t('measured_on', lang, date=doc.get('created'), machine=machine_line(doc, lang)))}</p>")
    if doc.get("unconstrained"):
        body.append(f"<p class='note'>{t('unconstrained', lang)}</p>")
    body.append(f"<p class='note projected'>{t('projected_note', lang)}</p>")
    body += [f"<p class='note'>{H.html.escape(n)}</p>" for n in notes]
    body.append(f"<h2>{t('summary', lang)}</h2>")
    body.append(H.table(tables["summary"].drop(columns=["verdict"], errors="ignore"), lang=lang))
    body += architectures.html_section(a, lang)
    by_name = {}
    for title, path in charts:
        by_name.setdefault(title.split(": ")[0] if ": " in title else "", []).append((title, path))
    for title, path in by_name.get("", []):
        body.append(H.image(path, t("profiles_title", lang)))
    for p in a.profiles:
        name = p.entry.get("name")
        body.append(f"<h2>{H.html.escape(str(name))}</h2>")
        lf = p.entry.get("limiting_factor")
        if lf:
            body.append(f"<p><b>{t('limiting', lang)}</b>{t('colon', lang)}{H.html.escape(str(lf.get('resource')))} / "
                        f"{H.html.escape(str(lf.get('operation')))} — {H.html.escape(str(limiting_detail(lf, lang)))}</p>")
        proj = p.projection or {}
        cost = _cost_line(p.entry, proj.get("projected_max_customers"), lang)
        if cost:
            body.append(f"<p>{H.html.escape(cost)}</p>")
        for title, path in by_name.get(name, []):
            body.append(H.image(path, chart_caption(title, lang)))
        pt = tables["projections"]
        if not _of(pt, name).empty:
            mine = _of(pt, name)
            mine = mine[mine["customers (projected)"].notna() | mine.get("peak operators (projected)", mine["customers (projected)"]).notna()]
            body.append(f"<h3 class='projected'>{t('projections', lang)}</h3>")
            body.append(H.table(mine.drop(columns=["profile"]), lang=lang))
        body += maintenance.html_section(p.entry, lang)
        st = tables["steps"]
        body.append(f"<h3>{t('steps', lang)}</h3>")
        body.append(H.table(_of(st, name), STEP_COLUMNS, lang))
        ops = _of(tables["operations"], name)
        main = [s for s in p.entry.get("steps") or [] if s.get("search", "customers") == "customers"]
        keep = {p.entry.get("max_customers"), p.entry.get("first_failing_customers")} - {None}
        if not keep and main:
            keep = {main[-1].get("customers")}
        body.append(f"<h3>{t('html_operations', lang, ops=t('operations', lang), levels=t('list_sep', lang).join(f'{k:,}' for k in sorted(keep)), customers=t('customers', lang))}</h3>")
        if not ops.empty:
            body.append(H.table(ops[ops["customers"].isin(keep) & (ops["search"] == "customers")], OP_COLUMNS, lang))
    body.append(f"<h2>{t('resources', lang)}</h2>")
    body.append(H.table(tables["resources"], lang=lang))
    return H.page(t("report_title", lang), body, lang)


def write_all(directory: Path, doc: Mapping, *, lang: str = "en", read_samples: bool = True) -> Written:
    """Render every report file of the sweep folder ``directory`` from ``doc`` (its capacity.json)."""
    lang = check_lang(lang)
    directory = Path(directory)
    a = analyse(doc, directory, read_samples=read_samples)
    tables = tables_of(a, lang)
    charts, note = render_charts(a, directory / CHARTS_DIR, lang)
    notes = [note] if note else []
    md = write_report(directory, doc, lang=lang, analysis=a, charts=[(title, p.relative_to(directory)) for title, p in charts])
    page = render_html(a, tables, charts, lang, notes)
    html_path = H.write_page(directory / H.HTML_FILE, page)
    about = [t("measured_on", lang, date=doc.get("created"), machine=machine_line(doc, lang)), t("projected_note", lang)]
    xlsx = write_report_xlsx(directory, tables, lang,
                             notes=list(tables["summary"].get("verdict", [])) + architectures.notes(a, lang) + about + notes,
                             extra=architectures.sheets(a, lang))
    return Written(html=html_path, markdown=md, xlsx=xlsx, charts=[p for _, p in charts], notes=notes,
                   verdicts=list(tables["summary"].get("verdict", [])))


__all__ = ["CHARTS_DIR", "Written", "render_html", "tables_of", "write_all"]
