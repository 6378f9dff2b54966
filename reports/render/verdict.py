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


_ROLE_WORDS = {"sales": ("salesperson", "salespeople"), "manager": ("manager", "managers"),
               "clerk": ("clerk", "clerks"), "back_office": ("back-office staff", "back-office staff")}


def staff_text(staffing: Mapping | None) -> str | None:
    """``106 salespeople, 11 managers, 22 clerks, 11 back-office staff; 75 working at once``."""
    staff = (staffing or {}).get("staff")
    if not staff:
        return None
    words = ", ".join(f"{n:,} {_ROLE_WORDS.get(r, (r, r))[n != 1]}" for r, n in staff.items() if n)
    online = sum(((staffing or {}).get("online") or {}).values())
    return f"{words}; {online:,} working at once"


def _load(entry: Mapping) -> str:
    if entry.get("staffed"):
        return "the book's own staff"
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
    staff = staff_text(entry.get("staffing")) if entry.get("staffed") else None
    held_with = f"{held:,} customers ({staff})" if staff and held is not None else f"{held or 0:,} customers with {_load(entry)}"
    business = (entry.get("profile") or {}).get("business")
    on = f"On {name} ({business})" if business else f"On {name}"
    room = entry.get("headroom") or {}
    if held is not None and failed is not None:
        sentence = f"{on}, the system held {held_with} within the SLO ({slo}); {why}."
    elif held is not None and search.get("stopped"):
        sentence = f"{on}, the system held {held_with} within the SLO ({slo}); nothing above that was decided."
    elif held is not None:
        sentence = (f"{on}, the system held {held_with} within the SLO ({slo}) and did not fail up to "
                    "the most this sweep searched (sweep.max_customers)")
        if room.get("resource"):
            sentence += (f"; there the busiest resource, {room['resource']}, was at {room['share']:.0%} of the "
                         "profile's allowance, so the capacity is higher: raise sweep.max_customers.")
        else:
            sentence += "; the capacity may be higher: raise sweep.max_customers."
    elif failed is not None:
        sentence = f"{on}, the system did not meet the SLO ({slo}) with {_load(entry)} even at the smallest level searched; {why}."
    else:
        sentence = f"{on}, no step gave a pass or a fail yet, so there is no capacity figure."
    if search.get("stopped"):
        sentence += f" The search {search['stopped']}."
    if search.get("boundary_agreed") is False:
        sentence += " Repeated boundary steps disagreed: the figure is the conservative one and uncertain."
    if not entry.get("complete", True):
        sentence += " (Partial: the sweep has not finished this profile.)"
    return sentence


__all__ = ["slo_text", "staff_text", "verdict"]
