"""The report section "Architectures at equal allowance" (:mod:`reports.analysis.architectures`): the
profiles side by side in one table (a row per figure, a column per profile, each row saying whether
it is measured or projected), and in plain sentences which one wins where, and why: who held the
most customers, what ran out first for each one that failed, which was fastest at the common level
and by how much, what a request cost in CPU, and what each single change (the kind, or where the
database is) did to the operation it moved most. The same for Markdown, HTML and the Excel sheet,
in English and Chinese.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence

import pandas as pd

from reports.analysis.architectures import SERVICE_PARTS, Comparison, Member, comparisons
from reports.render.i18n import kind, t


def _names(names: Sequence[str], lang: str) -> str:
    if lang == "zh":
        return "、".join(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def where(m: Member, lang: str) -> str:
    """Where the database is: local, or how far across the link."""
    if m.network is None:
        return t("arch_local", lang)
    rtt, bandwidth = m.network
    text = t("arch_away", lang, rtt=rtt) if rtt else t("arch_unshaped", lang)
    if bandwidth:
        from profiles.schema import format_bandwidth

        text += f", {format_bandwidth(int(bandwidth))}"
    return text


def kind_text(m: Member, lang: str) -> str:
    if m.kind != "microservices":
        return t("arch_monolith", lang, n=m.workers)
    services = t("list_sep", lang).join(f"{s} ×{m.replicas.get(s, 1)}" for s in SERVICE_PARTS if s != "gateway")
    return t("arch_micro", lang, n=m.workers, services=services)


def _hardware(c: Comparison, profiles: Mapping[str, Mapping], lang: str = "en") -> str:
    hw = (profiles.get(c.members[0].name) or {}).get("hardware") or {}
    cpus = f"{hw['cpus']:g} CPU" if hw.get("cpus") else "CPU –"
    mem = f"{hw['memory'] / 1024**3:g} GiB" if hw.get("memory") else "memory –"
    return f"{cpus}{t('list_sep', lang)}{mem}"


def _why(m: Member, lang: str) -> str:
    lf = m.limiting
    if not lf:
        return t("arch_no_cause", lang)
    op = lf.get("operation") or "?"
    if lf.get("resource"):
        service = t("arch_service", lang, service=lf["service"]) if lf.get("service") else ""
        return t("arch_ran_out", lang, resource=lf["resource"], service=service, op=op)
    points = t("points_" + str(lf.get("points_to") or "waits"), lang)
    return t("arch_no_saturation", lang, points=points, op=op)


def _ms(x: float | None) -> str:
    return "–" if x is None else f"{x:.1f}"


def sentences(c: Comparison, lang: str = "en") -> list[str]:
    """Which one wins where, and why (see the module docstring)."""
    out = []
    by_held = sorted(c.members, key=lambda m: -(m.held if m.held is not None else -1))
    if c.winners:
        first = c.member(c.winners[0])
        atleast = t("arch_atleast", lang) if all(c.member(w).never_failed for w in c.winners) else ""
        if len(c.winners) > 1:
            out.append(t("arch_tied", lang, names=_names(c.winners, lang), held=first.held, atleast=atleast))
        elif first.first_failing is not None:  # what stopped the winner, in the same sentence
            out.append(t("arch_won_failed", lang, name=first.name, held=first.held, failed=first.first_failing,
                         why=_why(first, lang)))
        else:
            out.append(t("arch_won", lang, name=first.name, held=first.held, atleast=atleast))
    else:
        out.append(t("arch_none_held", lang))
    for m in by_held:
        if len(c.winners) == 1 and m.name == c.winners[0] and m.first_failing is not None:
            continue  # said above
        if m.first_failing is not None:
            held = t("arch_held", lang, held=m.held) if m.held is not None else t("arch_held_none", lang)
            out.append(t("arch_failed", lang, name=m.name, held=held, failed=m.first_failing, why=_why(m, lang)))
        elif m.held is not None and m.name not in c.winners:
            proj = (t("arch_projected", lang, n=int(m.projected), model=m.projection.get("model") or "?")
                    if m.projected is not None else "")
            out.append(t("arch_never_failed", lang, name=m.name, held=m.held, proj=proj))
    if c.level is not None and c.fastest:
        top = max(c.wins(m.name) for m in c.members)
        best = [m.name for m in c.members if c.wins(m.name) == top]
        op, fast, fast_p95, slow, slow_p95 = c.widest
        out.append(t("arch_fastest", lang, level=c.level, names=_names(best, lang), k=top, n=len(c.operations), op=op,
                     slow=slow, slow_p95=slow_p95, fast=fast, fast_p95=fast_p95))
    costs = [m for m in c.members if m.total_ms is not None]
    if c.level is not None and costs:
        parts = []
        for m in costs:
            service = ""
            if m.services_ms:
                busiest = max(m.services_ms, key=lambda s: (m.services_ms[s], s))
                service = t("arch_cpu_service", lang, service=busiest, ms=m.services_ms[busiest])
            parts.append(t("arch_cpu_part", lang, name=m.name, total=m.total_ms, app=m.app_ms, service=service,
                           db=_ms(m.db_ms)))
        out.append(t("arch_cpu", lang, parts=("；" if lang == "zh" else "; ").join(parts), leanest=c.leanest))
    for p in c.pairs:
        if p.operation is None:
            continue
        base, other = c.member(p.base), c.member(p.other)
        what = (t("arch_pair_kind", lang, other=kind(other.kind, lang), base=kind(base.kind, lang), where=where(base, lang))
                if p.differs_in == "kind" else
                t("arch_pair_network", lang, kind=kind(base.kind, lang), other=where(other, lang), base=where(base, lang)))
        out.append(t("arch_pair", lang, other=p.other, base=p.base, what=what, op=p.operation, other_p95=p.other_p95,
                     base_p95=p.base_p95, other_ms=_ms(p.other_total_ms), base_ms=_ms(p.base_total_ms)))
    return out


def intro(c: Comparison, profiles: Mapping[str, Mapping], lang: str = "en") -> str:
    names = _names([m.name for m in c.members], lang)
    if c.level is None:
        return t("arch_intro_nolevel", lang, names=names, hw=_hardware(c, profiles, lang))
    return t("arch_intro", lang, names=names, hw=_hardware(c, profiles, lang), level=c.level)


def table(c: Comparison, lang: str = "en") -> pd.DataFrame:
    """A row per figure, a column per profile; numbers stay numbers (the Excel sheet's cells)."""
    measured, projected = t("measured", lang), t("projected", lang)
    rows: list[tuple[str, str, list]] = [
        (t("arch_row_kind", lang), "", [kind_text(m, lang) for m in c.members]),
        (t("arch_row_network", lang), "", [where(m, lang) for m in c.members]),
        (t("arch_row_held", lang), measured, [m.held for m in c.members]),
        (t("arch_row_failing", lang), measured, [m.first_failing for m in c.members]),
        (t("arch_row_projected", lang), projected, [m.projected for m in c.members]),
        (t("arch_row_limiting", lang), measured, [_limiting(m) for m in c.members]),
    ]
    if c.level is not None:
        rows += [
            (t("arch_row_level", lang), measured, [c.level for _ in c.members]),
            (t("arch_row_rps", lang), measured, [m.rps for m in c.members]),
            (t("arch_row_app", lang), measured, [m.app_ms for m in c.members]),
        ]
        for s in SERVICE_PARTS:
            if any(s in m.services_ms for m in c.members):
                rows.append((t("arch_row_service", lang, service=s), measured, [m.services_ms.get(s) for m in c.members]))
        rows += [
            (t("arch_row_db", lang), measured, [m.db_ms for m in c.members]),
            (t("arch_row_total", lang), measured, [m.total_ms for m in c.members]),
        ]
        for op in sorted(set().union(*(m.p95 for m in c.members))):
            rows.append((t("arch_row_p95", lang, op=op), measured, [m.p95.get(op) for m in c.members]))
    cols = [t("arch_figure", lang), t("arch_basis", lang), *[m.name for m in c.members]]
    return pd.DataFrame([[label, basis, *values] for label, basis, values in rows], columns=cols, dtype=object)


def _limiting(m: Member) -> str | None:
    lf = m.limiting
    if not lf:
        return None
    text = " / ".join(str(x) for x in (lf.get("resource") or "–", lf.get("operation")) if x)
    return text + (f" ({lf['service']})" if lf.get("service") else "")


def _cell(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int) or (isinstance(v, float) and v.is_integer() and abs(v) >= 1000):
        return f"{int(v):,}"
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.1f}"
    return str(v).replace("|", "/")


def _join(sentences_: Sequence[str], lang: str) -> str:
    return ("" if lang == "zh" else " ").join(sentences_)  # Chinese puts no space after 。


def _profiles(analysis) -> dict[str, Mapping]:
    return {str(p.entry.get("name")): p.entry.get("profile") or {} for p in analysis.profiles}


def markdown(analysis, lang: str = "en") -> list[str]:
    """The section's lines (none when no profiles differ only in architecture)."""
    if analysis is None:
        return []
    out = []
    for c in comparisons(analysis.profiles):
        df = table(c, lang)
        out += ["", f"## {t('arch_title', lang)}", "", intro(c, _profiles(analysis), lang), ""]
        out += [_join(sentences(c, lang), lang), ""]
        out.append("| " + " | ".join(str(x) for x in df.columns) + " |")
        out.append("|---|---|" + "---:|" * len(c.members))
        out += ["| " + " | ".join(_cell(v) for v in rec) + " |" for rec in df.itertuples(index=False)]
    return out


def html_section(analysis, lang: str = "en") -> list[str]:
    from reports.render import html as H

    out = []
    for c in comparisons(analysis.profiles):
        out += [f"<h2>{html.escape(t('arch_title', lang))}</h2>",
                f"<p class='note'>{html.escape(intro(c, _profiles(analysis), lang))}</p>",
                f"<p>{html.escape(_join(sentences(c, lang), lang))}</p>", H.table(table(c, lang))]
    return out


def sheets(analysis, lang: str = "en") -> list[tuple[str, pd.DataFrame]]:
    """(sheet name, table) per comparison: ``architectures``, ``architectures 2``... (``架构对比``)."""
    out = []
    for i, c in enumerate(comparisons(analysis.profiles)):
        name = t("arch_sheet", lang) + ("" if i == 0 else f" {i + 1}")
        out.append((name, table(c, lang)))
    return out


def notes(analysis, lang: str = "en") -> list[str]:
    """The sentences, for the notes sheet beside the verdicts."""
    out = []
    for c in comparisons(analysis.profiles):
        out += [f"{t('arch_title', lang)}: {intro(c, _profiles(analysis), lang)}", *sentences(c, lang)]
    return out


__all__ = ["html_section", "intro", "kind_text", "markdown", "notes", "sentences", "sheets", "table", "where"]
