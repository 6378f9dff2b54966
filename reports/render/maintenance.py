"""The maintenance-window section of a report: backup and restore time against customers and the
customer count where the backup outgrows ``maintenance.backup_window`` (measured, or projected and
labelled so). Read from a profile entry's ``maintenance`` (written by the sweep), else computed from
its steps (an older capacity.json)."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from reports.analysis.maintenance import limits_capacity, maintenance_window


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


def headline(mw: Mapping) -> str:
    """One sentence: where the window is exceeded, or how far it is known to fit."""
    window = mw.get("window_s")
    if not window:
        return "No maintenance.backup_window set: backup and restore times are measured, no limit is judged."
    if mw.get("exceeded_at") is None:
        fits = mw.get("fits_up_to")
        return (f"The backup fits the {_dur(window)} window at every level measured (up to {fits:,} customers); "
                "no fit reaches the window within 1000× that.") if fits else "No backup was measured."
    n = mw["exceeded_at"]
    if mw.get("measured"):
        text = f"The backup no longer fits the {_dur(window)} window at {n:,} customers (measured)."
    else:
        hi = f"{mw['high']:,}" if mw.get("high") is not None else "beyond"
        lo = f"{mw['low']:,}" if mw.get("low") is not None else "?"
        text = (f"The backup outgrows the {_dur(window)} window at about {n:,} customers (projected: "
                f"{mw.get('model')} fit of backup time against customers, interval {lo} – {hi}).")
    if mw.get("limits_capacity"):
        text += " This is the limiting factor: it comes before the latency limit."
    return text


def markdown(entry: Mapping) -> list[str]:
    mw = window_of(entry)
    if not mw:
        return []
    out = ["", "### Maintenance window (engine-native backup and restore)", "", headline(mw), "",
           "| customers | backup | restore | backup size | tool |", "|---:|---:|---:|---:|---|"]
    for p in mw["points"]:
        size = f"{p['bytes'] / 1e6:,.1f} MB" if p.get("bytes") is not None else "-"
        out.append(f"| {p['customers']:,} | {_dur(p['backup_s'])} | {_dur(p.get('restore_s'))} | {size} | {p.get('tool') or '-'} |")
    return out


def html_section(entry: Mapping) -> list[str]:
    mw = window_of(entry)
    if not mw:
        return []
    rows = "".join(
        f"<tr><td>{p['customers']:,}</td><td>{_dur(p['backup_s'])}</td><td>{_dur(p.get('restore_s'))}</td>"
        f"<td>{(p['bytes'] or 0) / 1e6:,.1f} MB</td><td>{html.escape(str(p.get('tool') or '-'))}</td></tr>"
        for p in mw["points"])
    cls = " class='projected'" if mw.get("projected") else ""
    return ["<h3>Maintenance window (engine-native backup and restore)</h3>",
            f"<p{cls}>{html.escape(headline(mw))}</p>",
            ("<table><thead><tr><th>customers</th><th>backup</th><th>restore</th><th>backup size</th><th>tool</th>"
             f"</tr></thead><tbody>{rows}</tbody></table>")]


__all__ = ["headline", "html_section", "markdown", "window_of"]
