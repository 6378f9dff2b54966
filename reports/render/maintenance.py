"""The maintenance-window section of a report: backup and restore time against customers and the
customer count where the backup outgrows ``maintenance.backup_window`` (measured, or projected and
labelled so). Read from a profile entry's ``maintenance`` (written by the sweep), else computed from
its steps (an older capacity.json)."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from reports.analysis.maintenance import limits_capacity, maintenance_window
from reports.render.i18n import t


def window_of(entry: Mapping) -> dict[str, Any] | None:
    mw = entry.get("maintenance")
    if mw is None:
        mw = maintenance_window(entry)
        if mw is not None:
            mw["limits_capacity"] = limits_capacity(entry, mw)
    return mw


def _dur(s: float | None) -> str:
    if s is None:
        return "-"
    return f"{s / 3600:.2f} h" if s >= 3600 else f"{s / 60:.1f} min" if s >= 120 else f"{s:.2f} s"


def headline(mw: Mapping, lang: str = "en") -> str:
    """One sentence: where the window is exceeded, or how far it is known to fit."""
    window = mw.get("window_s")
    if not window:
        return t("mw_no_window", lang)
    if mw.get("exceeded_at") is None:
        fits = mw.get("fits_up_to")
        return t("mw_fits", lang, window=_dur(window), fits=f"{fits:,}") if fits else t("mw_none", lang)
    n = mw["exceeded_at"]
    if mw.get("measured"):
        text = t("mw_exceeded_measured", lang, window=_dur(window), n=f"{n:,}")
    else:
        hi = f"{mw['high']:,}" if mw.get("high") is not None else t("mw_beyond", lang)
        lo = f"{mw['low']:,}" if mw.get("low") is not None else "?"
        text = t("mw_exceeded_projected", lang, window=_dur(window), n=f"{n:,}", model=mw.get("model"), low=lo, high=hi)
    if mw.get("limits_capacity"):
        text += t("mw_limits", lang)
    return text


def _columns(lang: str) -> list[str]:
    return [t(k, lang) for k in ("customers", "mw_backup", "mw_restore", "mw_size", "mw_tool")]


def markdown(entry: Mapping, lang: str = "en") -> list[str]:
    mw = window_of(entry)
    if not mw:
        return []
    out = ["", "### " + t("mw_title", lang), "", headline(mw, lang), "",
           "| " + " | ".join(_columns(lang)) + " |", "|---:|---:|---:|---:|---|"]
    for p in mw["points"]:
        size = f"{p['bytes'] / 1e6:,.1f} MB" if p.get("bytes") is not None else "-"
        out.append(f"| {p['customers']:,} | {_dur(p['backup_s'])} | {_dur(p.get('restore_s'))} | {size} | {p.get('tool') or '-'} |")
    return out


def html_section(entry: Mapping, lang: str = "en") -> list[str]:
    mw = window_of(entry)
    if not mw:
        return []
    rows = "".join(
        f"<tr><td>{p['customers']:,}</td><td>{_dur(p['backup_s'])}</td><td>{_dur(p.get('restore_s'))}</td>"
        f"<td>{(p['bytes'] or 0) / 1e6:,.1f} MB</td><td>{html.escape(str(p.get('tool') or '-'))}</td></tr>"
        for p in mw["points"])
    cls = " class='projected'" if mw.get("projected") else ""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in _columns(lang))
    return [f"<h3>{html.escape(t('mw_title', lang))}</h3>",
            f"<p{cls}>{html.escape(headline(mw, lang))}</p>",
            f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"]


__all__ = ["headline", "html_section", "markdown", "window_of"]
