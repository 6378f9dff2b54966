"""The answer for one profile in one sentence, and the SLO in words: what the CLI prints after a
sweep and every report puts first, written once so that they always say the same.
"""

from __future__ import annotations

from collections.abc import Mapping


def slo_text(slo: Mapping | None) -> str:
    if not slo:
        return "no SLO"
    parts = []
    if slo.get("p95_ms") is not None:
        parts.append(f"p95 ≤ {slo['p95_ms']:g} ms")
    if slo.get("p99_ms") is not None:
        parts.append(f"p99 ≤ {slo['p99_ms']:g} ms")
    if slo.get("error_rate") is not None:
        parts.append(f"errors ≤ {slo['error_rate']:.1%}")
    for op, o in (slo.get("operations") or {}).items():
        own = [f"{k[:3]} ≤ {v:g} ms" for k, v in (o or {}).items() if v is not None]
        if own:
            parts.append(f"{op}: {', '.join(own)}")
    return ", ".join(parts)


def _load(entry: Mapping) -> str:
    if entry.get("operators") is not None:
        return f"{entry['operators']:,} operators"
    if entry.get("rate") is not None:
        return f"an arrival rate of {entry['rate']:g}/s"
    return "the profile's load"


def verdict(entry: Mapping) -> str:
    """The answer for one profile in one sentence."""
    name = entry.get("name")
    slo = slo_text((entry.get("profile") or {}).get("slo"))
    held, failed = entry.get("max_customers"), entry.get("first_failing_customers")
    lf = entry.get("limiting_factor") or {}
    search = entry.get("search") or {}
    why = ""
    if failed is not None:
        cause = (lf.get("detail") or "").split(": ", 1)[-1].split(";")[0] or "the SLO"
        why = f"at {failed:,} it failed: {cause}" + (f" (limiting: {lf['resource']})" if lf.get("resource") else "")
        if lf.get("saturated") is False:
            why += f" (no resource saturated; the samples point to {str(lf.get('points_to') or 'waits').replace('_', ' ')})"
    if held is not None and failed is not None:
        sentence = f"On {name}, the system held {held:,} customers with {_load(entry)} within the SLO ({slo}); {why}."
    elif held is not None and search.get("stopped"):
        sentence = f"On {name}, the system held {held:,} customers with {_load(entry)} within the SLO ({slo}); nothing above that was decided."
    elif held is not None:
        sentence = (f"On {name}, the system held {held:,} customers with {_load(entry)} within the SLO ({slo}), "
                    "the most this sweep searched; the capacity may be higher.")
    elif failed is not None:
        sentence = f"On {name}, the system did not meet the SLO ({slo}) with {_load(entry)} even at the smallest level searched; {why}."
    else:
        sentence = f"On {name}, no step gave a pass or a fail yet, so there is no capacity figure."
    if search.get("stopped"):
        sentence += f" The search {search['stopped']}."
    unjudged = entry.get("unjudged_operations") or {}
    if held is not None and unjudged:
        sentence += (" Not judged at that level, too few requests for a 95 % bound: "
                     + ", ".join(f"{op} {'/'.join(u.get('percentiles', []))}" for op, u in unjudged.items()) + ".")
    if search.get("boundary_agreed") is False:
        sentence += " Repeated boundary steps disagreed: the figure is the conservative one and uncertain."
    if not entry.get("complete", True):
        sentence += " (Partial: the sweep has not finished this profile.)"
    return sentence


__all__ = ["slo_text", "verdict"]
