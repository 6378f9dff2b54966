"""``report.md`` from a ``capacity.json`` document: the verdict in one sentence, then the evidence.

Pure rendering: reads the document (and, when given, its analysis), returns text. Measured figures
say how each was obtained (measured window, request count, spread across repeats); projected ones
say "projected" with their model and interval; invalid steps are listed with their reasons rather
than hidden.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from pathlib import Path

from reports.analysis.limiting import limiting_detail
from reports.render import architectures, maintenance
from reports.render.i18n import analysis_text, chart_caption, col, search_text, t, word
from reports.render.verdict import slo_text, verdict

REPORT_FILE = "report.md"


def _head(names: list[str], lang: str, zh_as: Mapping[str, str] | None = None) -> str:
    """A Markdown table's header row in ``lang``; ``zh_as``: a header whose Chinese is another
    column's (report.md's "errors" is the error rate, not a count)."""
    return "| " + " | ".join(col((zh_as or {}).get(n, n) if lang == "zh" else n, lang) for n in names) + " |"


def _n(x: object) -> str:
    if x is None:
        return "–"
    if isinstance(x, float) and not x.is_integer():
        return f"{x:,.1f}"
    return f"{int(x):,}"


def _ms(x: object) -> str:
    return "–" if x is None else f"{x:,.0f}"


def _pct(x: object, digits: int = 0) -> str:
    return "–" if x is None else f"{x:.{digits}f} %"


def _spread(entry: Mapping) -> dict[tuple, str]:
    """p95 min–max across repeats of the same (customers, operators) point."""
    by_point: dict[tuple, list[float]] = defaultdict(list)
    for s in entry.get("steps", []):
        p95 = (s.get("latency_ms") or {}).get("p95")
        if s.get("valid") and p95 is not None:
            by_point[(s.get("customers"), s.get("operators"))].append(p95)
    return {k: f"{min(v):,.0f}–{max(v):,.0f} ms (n={len(v)})" for k, v in by_point.items() if len(v) > 1}


def _window(s: Mapping, lang: str = "en") -> str:
    """The measured window: as planned (``duration_s``), or for a step stopped early the real one
    (``measured_s``) out of the planned, e.g. "8.0 s of 30 s window"."""
    planned = s.get("duration_s")
    if not s.get("early_stopped"):
        if s.get("extension_s") and s.get("measured_s") is not None and planned is not None:
            return t("win_extended", lang, m=s["measured_s"], p=planned, e=s["extension_s"])
        return t("win_planned", lang, p=planned) if planned is not None else "–"
    real = s.get("measured_s")
    if real is None:
        real = (s.get("stopped_early") or {}).get("at_s")
    if real is None:
        return t("win_part", lang, p=planned) if planned is not None else "–"
    return t("win_of", lang, r=real, p=planned) if planned is not None else t("win_real", lang, r=real)


def _db_cpu_column(entry: Mapping, lang: str = "en") -> Callable[[Mapping], str]:
    """What the DB CPU column can say: SQLite works inside the app processes (its CPU is in "app
    CPU"), and an external server is not sampled; a 0 % there would read as a measurement."""
    db = (entry.get("profile") or {}).get("database") or {}
    if db.get("engine") == "sqlite":
        return lambda res: t("db_in_app", lang)
    if db.get("managed") is False:
        return lambda res: t("db_not_sampled", lang)
    return lambda res: _pct(res.get("db_cpu_pct"))


def _why(s: Mapping, lang: str = "en") -> str:
    """Why a valid step did not pass: its failures, or the intervals that stayed open; and a re-run
    judged on its level's windows pooled says so (loadgen.capacity.pooling), whatever its verdict."""
    pooled = s.get("pooled") or {}
    note = t("why_pooled", lang, n=len(pooled.get("windows") or []), requests=pooled.get("requests"),
             own=s.get("own_verdict")) if pooled else ""
    if not s.get("valid") or s.get("passed"):
        return note
    if s.get("verdict") == "inconclusive":
        why = t("why_inconclusive", lang, reason=s.get("inconclusive_reason") or "")
    else:
        why = s.get("fail_reason") or ""
    return (f"{why}（{note}）" if lang == "zh" else f"{why} ({note})") if note else why


def _unjudged(entry: Mapping, lang: str = "en") -> list[str]:
    """Operations too rare to judge: named, with how many requests they had and would need."""
    steps = [s for s in entry.get("steps", []) if s.get("unjudged_operations")]
    if not steps:
        return []
    out = ["", "### " + t("md_rare_title", lang), "", t("md_rare", lang), ""]
    at = entry.get("unjudged_operations") or {}
    if at:
        out.append(t("md_rare_at", lang, n=_n(entry.get("max_customers")), ops=("；" if lang == "zh" else "; ").join(
            t("md_rare_op", lang, op=op, pct="/".join(u.get("percentiles", [])), requests=u.get("requests"),
              needed=u.get("requests_needed"))
            for op, u in at.items())))
        out.append("")
    out += [_head(["step", "not judged"], lang), "|---|---|"]
    for s in steps:
        out.append(f"| {s.get('dir')} | " + ", ".join(
            f"{op} {'/'.join(u.get('percentiles', []))} ({u.get('requests')})" for op, u in s["unjudged_operations"].items()) + " |")
    return out


STEPS_HEAD = ["#", "search", "phase", "customers", "operators", "result", "measured", "requests", "rps", "p95 ms", "p99 ms",
              "errors", "app CPU", "DB CPU", "p95 spread over repeats", "why it failed"]


def _steps_table(entry: Mapping, lang: str = "en") -> list[str]:
    spread = _spread(entry)
    db_cpu = _db_cpu_column(entry, lang)
    lines = [
        _head(STEPS_HEAD, lang, {"errors": "error rate"}),
        "|---|---|---|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for i, s in enumerate(entry.get("steps", []), 1):
        lat, res = s.get("latency_ms") or {}, s.get("resources") or {}
        result = t("res_invalid" if not s.get("valid") else ("res_pass" if s.get("passed") else
                   "res_inconclusive" if s.get("verdict") == "inconclusive" else "res_fail"), lang)
        if s.get("extension_s"):
            result += t("res_extended", lang, s=s["extension_s"])
        if s.get("early_stopped"):
            result += t("res_stopped_early", lang)
        measured = _window(s, lang)
        if s.get("warmup_s"):
            measured += t("win_warmup", lang, w=s["warmup_s"])
        if s.get("early_stopped"):
            measured += t("win_stopped", lang)
        if s.get("percentile_method"):
            measured += t("win_percentiles", lang, m=s["percentile_method"])
        if s.get("simulated"):
            measured += t("win_simulated", lang)
        lines.append(
            f"| {i} | {word('search', s.get('search', ''), lang)} | {word('phase', s.get('phase', ''), lang)} | {_n(s.get('customers'))} | {_n(s.get('operators'))} "
            f"| {result} | {measured} | {_n(s.get('requests'))} | {_n(s.get('rps'))} | {_ms(lat.get('p95'))} "
            f"| {_ms(lat.get('p99'))} | {_pct(100 * s['error_rate'], 2) if s.get('error_rate') is not None else '–'} "
            f"| {_pct(res.get('app_cpu_pct'))} | {db_cpu(res)} "
            f"| {spread.get((s.get('customers'), s.get('operators')), '')} "
            f"| {_why(s, lang).replace('|', '/')} |"
        )
    return lines


def _frontier(entry: Mapping, lang: str = "en") -> list[str]:
    rows = entry.get("frontier") or []
    if not rows:
        return []
    out = ["", "### " + t("md_frontier", lang), "", _head(["customers", "most operators that passed", "first failing", "note"], lang), "|---:|---:|---:|---|"]
    for f in rows:
        note = search_text((f.get("search") or {}).get("stopped"), lang) or (t("md_uncertain", lang) if (f.get("search") or {}).get("uncertain") else "")
        out.append(f"| {_n(f.get('customers'))} | {_n(f.get('max_operators'))} | {_n(f.get('first_failing_operators'))} | {note} |")
    return out


def machine_line(doc: Mapping, lang: str = "en") -> str:
    m = doc.get("machine") or {}
    mem = m.get("memory_bytes")
    parts = [
        t("m_host", lang, host=m.get("host")),
        f"{m.get('cpu_model')} ×{m.get('cpu_cores')}",
        f"{mem / 1024**3:.0f} GiB" if mem else None,
        m.get("os"),
        f"Python {m.get('python')}",
        f"jxcbench {doc.get('tool_version')}",
        f"git {str(m.get('git_revision'))[:12]}" if m.get("git_revision") else None,
    ]
    line = t("list_sep", lang).join(p for p in parts if p)
    dbs = m.get("db_servers") or {}
    if dbs:
        line += t("m_databases", lang) + ("；" if lang == "zh" else "; ").join(f"{k}: {v}" for k, v in sorted(dbs.items()))
    return line


def _durability(entry: Mapping, lang: str = "en") -> str:
    """How durably the profile's database committed, as its steps recorded it (the server's own
    answer where one ran), else as the profile asked."""
    rec = next((s.get("durability") for s in entry.get("steps", []) if s.get("durability")), None)
    db = (entry.get("profile") or {}).get("database") or {}
    if not rec:
        level = db.get("durability") or "full"
        return t("dur_as_asked", lang, level=t("dur_full", lang) if level == "full" else level)
    knobs = rec.get("settings") or {}
    if rec.get("level") == "relaxed":
        by = ", ".join(f"{k}={knobs[k]}" for k in rec.get("relaxed_by") or [] if k in knobs)
        text = t("dur_relaxed", lang, by=by)
    else:
        full = t("dur_full", lang)
        knobs_text = ", ".join(f"{k}={v}" for k, v in knobs.items())
        text = (f"{full}（{knobs_text}）" if lang == "zh" else f"{full} ({knobs_text})") if knobs else full
    return text + (t("dur_server", lang) if rec.get("source") == "server" else "")


def _projections(p, lang: str = "en") -> list[str]:
    """The projected limits of one profile (``reports.analysis.tables.ProfileAnalysis``)."""
    from reports.analysis.projection import _limits

    limits = sorted((x for x in _limits(p.models) if x.get("estimate") is not None), key=lambda x: x["estimate"])
    out = []
    if limits:
        out += ["", "### " + t("projections", lang), "",
                _head(["limit", "model", "customers (projected)", "interval"], lang), "|---|---|---:|---|"]
        for x in limits[:8]:
            out.append(f"| {analysis_text(x['what'], lang)} | {analysis_text(x['model'], lang)} | {_n(x['estimate'])} "
                       f"| {_n(x.get('low'))} – {_n(x.get('high')) if x.get('high') is not None else t('beyond', lang)} |")
    for f in p.models.get("frontier", []):
        u = f.get("usl")
        if u and u.get("peak_operators"):
            out.append(t("md_usl", lang, c=_n(f["customers"]), sigma=u["sigma"], kappa=u["kappa"], r2=u["r2"],
                         peak=u["peak_operators"], rps=u["peak_rps"]))
    size = p.models.get("size") or {}
    if size.get("per_customer"):
        out.append(t("md_db_size", lang, bytes=size["per_customer"], points=size["points"]))
    return out


def render_markdown(doc: Mapping, lang: str = "en", analysis=None, charts=()) -> str:
    """``analysis``: :func:`reports.analysis.tables.analyse` of ``doc`` (adds projections, costs and
    CPU per request); ``charts``: [(title, path relative to the report)] to link."""
    from reports.analysis.tables import cost_per_1000

    by_name = {p.entry.get("name"): p for p in (analysis.profiles if analysis is not None else [])}

    def with_projection(entry: Mapping) -> Mapping:
        p = by_name.get(entry.get("name"))
        return {**entry, **(p.projection or {})} if p is not None else entry

    lines = [f"# {t('report_title', lang)}", ""]
    if doc.get("partial"):
        lines += [t("md_partial", lang), ""]
    for entry in doc.get("profiles", []):
        lines.append(f"**{verdict(with_projection(entry), lang)}**")
    lines += ["", t("measured_on", lang, date=doc.get("created"), machine=machine_line(doc, lang))]
    if doc.get("unconstrained"):
        lines.append(t("unconstrained", lang))
    if analysis is None and not any(e.get("projected_max_customers") is not None for e in doc.get("profiles", [])):
        lines.append(t("md_all_measured", lang))
    else:
        lines.append(t("projected_note", lang))
    lines += architectures.markdown(analysis, lang)
    for entry in doc.get("profiles", []):
        prof = entry.get("profile") or {}
        sweep = prof.get("sweep") or {}
        search = entry.get("search") or {}
        lines += ["", f"## {entry.get('name')}", "", verdict(with_projection(entry), lang), ""]
        cost = cost_per_1000(entry)
        if cost:
            lines += [t("md_cost", lang, c=cost["currency"], month=cost["per_month"], per1000=cost["per_1000_per_month"]), ""]
        lines.append(t(
            "md_search", lang, growth=sweep.get("growth"), start=_n(sweep.get("start_customers")),
            max=_n(sweep.get("max_customers")), precision=search.get("precision") or 0, repeats=search.get("repeats"),
            steps=search.get("steps", len(entry.get("steps", []))), duration=sweep.get("step_duration_s"),
            warmup=sweep.get("warmup_s"), slo=slo_text(prof.get("slo"), lang),
            extension=t("md_extension", lang, x=1 + sweep["max_extension"]) if sweep.get("max_extension") else ""))
        lines += ["", t("md_durability", lang, engine=(prof.get("database") or {}).get("engine", "sqlite"),
                        text=_durability(entry, lang))]
        lf = entry.get("limiting_factor")
        if lf and lf.get("saturated") is False:
            points = t("points_" + str(lf.get("points_to") or "waits"), lang)
            lines += ["", t("md_limiting", lang) + t("colon", lang) + t(
                "md_limiting_none", lang, none=t("md_no_saturation", lang), points=points,
                op=lf.get("operation") or t("unknown", lang), detail=limiting_detail(lf, lang))]
        elif lf:
            lines += ["", t("md_limiting", lang) + t("colon", lang) + t(
                "md_limiting_resource", lang, resource=lf.get("resource") or t("unknown", lang),
                op=lf.get("operation") or t("unknown", lang), detail=limiting_detail(lf, lang))]
        for note in search.get("notes") or []:
            lines.append(f"- {search_text(note, lang)}")
        p = by_name.get(entry.get("name"))
        if p is not None:
            lines += _projections(p, lang)
        lines += maintenance.markdown(entry, lang)
        mine = [(title, path) for title, path in charts if str(title).startswith(f"{entry.get('name')}: ")]
        if mine:
            lines += ["", "### " + t("charts", lang), ""] + [f"![{chart_caption(title, lang)}]({Path(path).as_posix()})" for title, path in mine]
        lines += ["", "### " + t("md_steps", lang), "", *_steps_table(entry, lang)]
        lines += _frontier(entry, lang)
        lines += _unjudged(entry, lang)
        invalid = [s for s in entry.get("steps", []) if not s.get("valid")]
        lines += ["", "### " + t("md_invalid", lang), ""]
        if invalid:
            lines += [f"- {s.get('dir')}: {s.get('invalid_reason') or t('md_no_reason', lang)}" for s in invalid]
        else:
            lines.append(t("md_none", lang))
    return "\n".join(lines) + "\n"


def write_report(out: Path, doc: Mapping, lang: str = "en", analysis=None, charts=()) -> Path:
    path = Path(out) / REPORT_FILE
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(render_markdown(doc, lang, analysis, charts))
    tmp.replace(path)
    return path


__all__ = ["REPORT_FILE", "machine_line", "render_markdown", "verdict", "write_report"]
