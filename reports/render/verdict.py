"""The answer for one profile in one sentence, and the SLO in words: what the CLI prints after a
sweep and every report puts first, written once so that they always say the same.
"""

from __future__ import annotations

from collections.abc import Mapping

from reports.analysis.limiting import limiting_cause
from reports.render.i18n import TEXT, analysis_text, search_text, t


def slo_text(slo: Mapping | None, lang: str = "en") -> str:
    if not slo:
        return t("no_slo", lang)
    parts = []
    sep = t("list_sep", lang)
    if slo.get("p95_ms") is not None:
        parts.append(t("slo_ms", lang, what="p95", ms=slo["p95_ms"]))
    if slo.get("p99_ms") is not None:
        parts.append(t("slo_ms", lang, what="p99", ms=slo["p99_ms"]))
    if slo.get("error_rate") is not None:
        parts.append(t("errors_le", lang, x=slo["error_rate"]))
    for op, o in (slo.get("operations") or {}).items():
        own = [t("slo_ms", lang, what=k[:3], ms=v) for k, v in (o or {}).items() if v is not None]
        if own:
            parts.append(f"{op}{t('colon', lang)}{sep.join(own)}")
    return sep.join(parts)


def staff_text(staffing: Mapping | None, lang: str = "en") -> str | None:
    """``106 salespeople, 11 managers, 22 clerks, 11 back-office staff; 75 working at once``."""
    staff = (staffing or {}).get("staff")
    if not staff:
        return None
    parts = []
    for role, n in staff.items():
        if not n:
            continue
        key = f"role_{role}"
        words = TEXT[key].get(lang) or TEXT[key]["en"] if key in TEXT else [role, role]
        parts.append(f"{n:,} {words[n != 1]}" if lang != "zh" else f"{n:,} {words[0]}")
    online = sum(((staffing or {}).get("online") or {}).values())
    return t("staff_online", lang, words=("、" if lang == "zh" else ", ").join(parts), online=online)


def _load(entry: Mapping, lang: str = "en") -> str:
    if entry.get("staffed"):
        return t("load_staff", lang)
    if entry.get("operators") is not None:
        return t("load_operators", lang, n=entry["operators"])
    if entry.get("rate") is not None:
        return t("load_rate", lang, r=entry["rate"])
    return t("load_profile", lang)


def _n(x: float | None, lang: str) -> str:
    return f"{x:,.0f}" if x is not None else t("beyond", lang)


def verdict(entry: Mapping, lang: str = "en") -> str:
    """The answer for one profile in one sentence (a projected capacity says it is projected)."""
    name = entry.get("name")
    slo = slo_text((entry.get("profile") or {}).get("slo"), lang)
    held, failed = entry.get("max_customers"), entry.get("first_failing_customers")
    lf = entry.get("limiting_factor") or {}
    search = entry.get("search") or {}
    load = _load(entry, lang)
    why = ""
    if failed is not None and (entry.get("first_failing_unproven") or search.get("first_failing_unproven")):
        # not a failure: the level's 95 % bounds still straddled a threshold after its repeats
        cause = str(entry.get("first_failing_unproven") or "").split("): ", 1)[-1].split(";")[0]
        why = t("v_why_unproven", lang, failed=failed, cause=cause or "?")
    elif failed is not None:
        cause = limiting_cause(lf, lang) or "SLO"
        why = t("v_why", lang, failed=failed, cause=cause) + (t("v_limiting", lang, resource=lf["resource"]) if lf.get("resource") else "")
        if lf.get("saturated") is False:
            why += t("v_unsaturated", lang, points_to=t("points_" + str(lf.get("points_to") or "waits"), lang))
    projection = entry.get("projection") or {}
    staff = staff_text(entry.get("staffing"), lang) if entry.get("staffed") else None
    held_with = (t("held_with_staff", lang, held=held, staff=staff) if staff and held is not None
                 else t("held_with_load", lang, held=held or 0, load=load))
    business = (entry.get("profile") or {}).get("business")
    if business:
        name = f"{name}（{business}）" if lang == "zh" else f"{name} ({business})"
    room_of = entry.get("headroom") or {}
    room = (t("v_room", lang, resource=room_of["resource"], share=room_of["share"])
            if room_of.get("resource") and room_of.get("share") is not None else "")
    if held is not None and failed is not None:
        sentence = t("v_held_failed", lang, name=name, held_with=held_with, slo=slo, why=why)
    elif held is not None and search.get("stopped"):
        sentence = t("v_held_stopped", lang, name=name, held_with=held_with, slo=slo)
    elif held is not None and entry.get("projected_max_customers") is not None:
        sentence = t("v_held_projected", lang, name=name, held_with=held_with, slo=slo, room=room,
                     proj=int(entry["projected_max_customers"]), model=analysis_text(projection.get("model"), lang) or "?",
                     low=_n(projection.get("low"), lang), high=_n(projection.get("high"), lang),
                     limit=analysis_text(projection.get("limit"), lang) or "?")
    elif held is not None:
        sentence = t("v_held_max", lang, name=name, held_with=held_with, slo=slo, room=room)
    elif failed is not None:
        sentence = t("v_failed_smallest", lang, name=name, load=load, slo=slo, why=why)
    else:
        sentence = t("v_nothing", lang, name=name)
    if search.get("stopped"):
        sentence += t("v_stopped", lang, stopped=search_text(search["stopped"], lang))
    unjudged = entry.get("unjudged_operations") or {}
    if held is not None and unjudged:
        sentence += t("v_unjudged", lang, ops=", ".join(f"{op} {'/'.join(u.get('percentiles', []))}"
                                                       for op, u in unjudged.items()))
    if search.get("boundary_agreed") is False:
        sentence += t("v_disagreed", lang)
    if not entry.get("complete", True):
        sentence += t("v_partial", lang)
    return sentence


__all__ = ["slo_text", "staff_text", "verdict"]
