"""The maintenance window, a limiting factor of its own: the customer count from which the nightly
engine-native backup no longer fits ``maintenance.backup_window``, whatever the latency says.

Read from a ``capacity.json`` profile entry alone: each step of the customer search carries the
backup and restore measured at its level (``step["backup"]``: ``backup_s``, ``restore_s``,
``bytes``, ``tool``; :mod:`loadgen.seed.backup`, wired in by ``loadgen.capacity.levels``). When a
measured level's backup took longer than the window, that level is the limit, *measured*. Otherwise
the backup time is fitted against customers (:func:`reports.analysis.models.fit_growth`) and where
the fit reaches the window is the limit, *projected*, with its model and interval.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reports.analysis.models import fit_growth


def backup_points(entry: Mapping) -> list[dict[str, Any]]:
    """One row per customer level measured: customers, backup_s, restore_s, bytes, tool (first seen)."""
    seen: dict[int, dict[str, Any]] = {}
    for s in entry.get("steps") or []:
        b = s.get("backup")
        n = s.get("customers")
        if not n or not isinstance(b, Mapping) or b.get("backup_s") is None or n in seen:
            continue
        seen[n] = {"customers": n, "backup_s": b["backup_s"], "restore_s": b.get("restore_s"),
                   "bytes": b.get("bytes"), "tool": b.get("tool")}
    return [seen[n] for n in sorted(seen)]


def maintenance_window(entry: Mapping) -> dict[str, Any] | None:
    """The backup-window limit of one profile entry; None when no backup was measured.

    ``{"window_s", "points", "exceeded_at", "measured": bool, "projected": bool, "model", "low",
    "high", "fits_up_to"}``: ``exceeded_at`` is the first customer count whose backup does not fit
    (measured, or projected from the fit), None when it fits as far as can be said.
    """
    points = backup_points(entry)
    if not points:
        return None
    window = ((entry.get("profile") or {}).get("maintenance") or {}).get("backup_window")
    out: dict[str, Any] = {"window_s": window, "points": points, "exceeded_at": None, "measured": False,
                           "projected": False, "model": None, "low": None, "high": None,
                           "fits_up_to": None}
    if not window:
        return out
    fitting = [p["customers"] for p in points if p["backup_s"] <= window]
    out["fits_up_to"] = max(fitting) if fitting else None
    over = [p["customers"] for p in points if p["backup_s"] > window]
    if over:
        out.update(exceeded_at=min(over), measured=True)
        return out
    fit = fit_growth([p["customers"] for p in points], [p["backup_s"] for p in points])
    if fit is None:
        return out
    cross = fit.crossing(float(window))
    out["model"] = fit.form
    out["r2"] = fit.r2
    if cross is not None:
        out.update(exceeded_at=round(cross["estimate"]), projected=True,
                   low=None if cross["low"] is None else round(cross["low"]),
                   high=None if cross["high"] is None else round(cross["high"]))
    return out


def limits_capacity(entry: Mapping, limit: Mapping | None) -> bool:
    """Whether the window is exceeded at or below the capacity the latency gave (measured held
    customers, else the projected capacity): then it, not the latency, is what limits."""
    if not limit or limit.get("exceeded_at") is None:
        return False
    held = entry.get("first_failing_customers") or entry.get("projected_max_customers") or entry.get("max_customers")
    return held is None or limit["exceeded_at"] <= held


__all__ = ["backup_points", "limits_capacity", "maintenance_window"]
