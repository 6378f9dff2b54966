"""Architectures at equal allowance: profiles that differ only in their architecture — the monolith vs
the microservices, the database local vs across a network — compared side by side.

Detected from the profiles stored in the results, never from names: profiles whose stored profile
is the same once ``name`` and the ``architecture`` section are set aside (the same hardware, engine,
settings, load, SLO and search) form a group, and a group whose members run at least two different
architectures (``kind`` and/or ``network``) is compared. The figures, per profile:

* its capacity as the sweep found it (customers held and the first failing level, *measured*; a
  projected capacity only where the sweep never failed, labelled so) and its limiting factor;
* at the *common level* — the largest customer count every member measured with a valid step, so
  that each served the same staff on the same book — the p95 of every operation and the CPU time per
  request: the app's (and each service's and the gateway's for microservices) and the database's.
  These are *measured* (the first valid step at that level, as ``step_figures`` read it).

The facts for "which wins where, and why" are computed here; :mod:`reports.render.architectures`
puts them into words. Reads results only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reports.analysis.limiting import MICROSERVICES

SERVICE_PARTS = (*MICROSERVICES, "gateway")  # resources.services of a microservices step


def _clean(value: Any) -> Any:
    """A stored profile without its null fields: results written by versions that differ only in
    which optional fields they dump still compare equal."""
    if isinstance(value, Mapping):
        return {k: _clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def rest_of(profile: Mapping) -> str:
    """Everything of a stored profile but its name and architecture, as one comparable string."""
    rest = {k: v for k, v in (profile or {}).items() if k not in ("name", "architecture")}
    return json.dumps(_clean(rest), sort_keys=True, default=str)


def architecture_of(profile: Mapping) -> tuple[str, tuple | None]:
    """``(kind, network)``: what the comparison is about; network ``(rtt_ms, bandwidth)`` or None (local)."""
    arch = (profile or {}).get("architecture") or {}
    net = arch.get("network")
    return (arch.get("kind") or "monolith",
            None if net is None else (net.get("rtt_ms"), net.get("bandwidth")))


@dataclass
class Member:
    """One profile of a comparison."""

    name: str
    kind: str
    network: tuple | None  # (rtt_ms, bandwidth) or None: local
    workers: int | None
    replicas: dict
    held: int | None  # measured
    first_failing: int | None  # measured
    projected: int | None  # projected capacity (only when the sweep never failed)
    projection: dict = field(default_factory=dict)
    limiting: dict = field(default_factory=dict)
    level_step: dict | None = None  # the step at the common level (capacity.json's)
    rps: float | None = None
    p95: dict[str, float] = field(default_factory=dict)  # operation -> ms, at the common level
    app_ms: float | None = None  # CPU ms per request at the common level
    db_ms: float | None = None
    services_ms: dict[str, float] = field(default_factory=dict)  # microservices: per service and gateway

    @property
    def total_ms(self) -> float | None:
        """The whole system's CPU per request (app + database where the database was sampled)."""
        if self.app_ms is None:
            return None
        return self.app_ms + (self.db_ms or 0.0)

    @property
    def never_failed(self) -> bool:
        return self.held is not None and self.first_failing is None


@dataclass
class Pair:
    """Two members that differ in one thing only (the kind, or where the database is)."""

    base: str
    other: str
    differs_in: str  # "kind" | "network"
    operation: str | None  # the operation whose p95 moved most between them
    base_p95: float | None
    other_p95: float | None
    base_total_ms: float | None
    other_total_ms: float | None


@dataclass
class Comparison:
    members: list[Member]
    level: int | None  # the common level (customers), None when no level was measured by all
    operations: list[str]
    winners: list[str]  # most customers held (measured); several when tied
    fastest: dict[str, str] = field(default_factory=dict)  # operation -> member with the lowest p95
    widest: tuple | None = None  # (operation, fast member, fast p95, slow member, slow p95): the largest ratio
    leanest: str | None = None  # member with the least CPU per request
    pairs: list[Pair] = field(default_factory=list)

    def member(self, name: str) -> Member:
        return next(m for m in self.members if m.name == name)

    def wins(self, name: str) -> int:
        return sum(1 for who in self.fastest.values() if who == name)


def groups(profiles: Sequence[Any]) -> list[list[Any]]:
    """The groups of ``profiles`` (objects with ``.entry``, e.g. ``ProfileAnalysis``) that differ only
    in architecture, in the order they first appear; each holds >= 2 architectures."""
    by_rest: dict[str, list[Any]] = {}
    for p in profiles:
        by_rest.setdefault(rest_of(p.entry.get("profile") or {}), []).append(p)
    out = []
    for members in by_rest.values():
        if len({architecture_of(p.entry.get("profile") or {}) for p in members}) >= 2:
            out.append(members)
    return out


def _valid_levels(entry: Mapping) -> set[int]:
    return {s["customers"] for s in entry.get("steps") or []
            if s.get("valid") and s.get("customers") and s.get("search", "customers") == "customers"}


def _at(p: Any, level: int) -> tuple[dict, dict] | None:
    """The first valid step of the customer search at ``level``, with its analysed figures."""
    steps = p.entry.get("steps") or []
    figures = p.steps if len(p.steps) == len(steps) else [{} for _ in steps]
    for s, f in zip(steps, figures, strict=True):
        if s.get("valid") and s.get("customers") == level and s.get("search", "customers") == "customers":
            return s, f
    return None


def _member(p: Any, level: int | None) -> Member:
    e = p.entry
    prof = e.get("profile") or {}
    arch = prof.get("architecture") or {}
    kind, network = architecture_of(prof)
    proj = p.projection or {}
    m = Member(name=str(e.get("name")), kind=kind, network=network, workers=arch.get("workers"),
               replicas=dict(arch.get("replicas") or {}), held=e.get("max_customers"),
               first_failing=e.get("first_failing_customers"),
               projected=proj.get("projected_max_customers") if e.get("first_failing_customers") is None else None,
               projection=dict(proj.get("projection") or {}), limiting=dict(e.get("limiting_factor") or {}))
    found = _at(p, level) if level is not None else None
    if found is None:
        return m
    step, fig = found
    m.level_step = step
    m.rps = step.get("rps")
    ops = fig.get("operations") or step.get("operations") or {}
    m.p95 = {op: o["p95_ms"] for op, o in ops.items() if o.get("p95_ms") is not None}
    m.app_ms = fig.get("app_cpu_ms_per_request")
    m.db_ms = fig.get("db_cpu_ms_per_request")
    services = (step.get("resources") or {}).get("services") or {}
    if m.rps:
        m.services_ms = {s: v["cpu_pct"] * 10.0 / m.rps for s, v in services.items() if v.get("cpu_pct") is not None}
    return m


def _distance(network: tuple | None) -> float:
    return 0.0 if network is None else float(network[0] or 0.0)


def _pairs(members: list[Member]) -> list[Pair]:
    out = []
    for i, a in enumerate(members):
        for b in members[i + 1:]:
            same_kind, same_net = a.kind == b.kind, a.network == b.network
            if same_kind == same_net:
                continue  # the same architecture, or both changed: not one cause
            if (a.workers, a.replicas) != (b.workers, b.replicas) and not same_net:
                continue  # the network changed and so did the processes: not one cause
            # the nearer database / the monolith first: the other is what the change costs or gains
            if not same_net:
                first = _distance(a.network) <= _distance(b.network)
            else:
                first = a.kind == "monolith"
            base, other = (a, b) if first else (b, a)
            common = sorted(set(base.p95) & set(other.p95))
            op = max(common, key=lambda o: (abs(other.p95[o] - base.p95[o]), o)) if common else None
            out.append(Pair(base.name, other.name, "kind" if not same_kind else "network", op,
                            base.p95.get(op) if op else None, other.p95.get(op) if op else None,
                            base.total_ms, other.total_ms))
    return out


def compare(members_of: Sequence[Any]) -> Comparison:
    """The comparison of one group (see :func:`groups`)."""
    common = set.intersection(*(_valid_levels(p.entry) for p in members_of)) if members_of else set()
    level = max(common) if common else None
    members = [_member(p, level) for p in members_of]
    top = max((m.held for m in members if m.held is not None), default=None)
    winners = [m.name for m in members if top is not None and m.held == top]
    ops = sorted(set.intersection(*(set(m.p95) for m in members))) if level is not None else []
    fastest: dict[str, str] = {}
    widest = None
    for op in ops:
        ranked = sorted(members, key=lambda m: (m.p95[op], m.name))
        fast, slow = ranked[0], ranked[-1]
        fastest[op] = fast.name
        ratio = slow.p95[op] / fast.p95[op] if fast.p95[op] > 0 else float("inf")
        if widest is None or ratio > widest[0]:
            widest = (ratio, op, fast.name, fast.p95[op], slow.name, slow.p95[op])
    costs = [m for m in members if m.total_ms is not None]
    leanest = min(costs, key=lambda m: (m.total_ms, m.name)).name if costs else None
    return Comparison(members=members, level=level, operations=ops, winners=winners, fastest=fastest,
                      widest=widest[1:] if widest else None, leanest=leanest, pairs=_pairs(members))


def comparisons(profiles: Sequence[Any]) -> list[Comparison]:
    """Every comparison ``profiles`` (``ProfileAnalysis``) hold; [] when none differ only in architecture."""
    return [compare(g) for g in groups(profiles)]


__all__ = ["Comparison", "Member", "Pair", "SERVICE_PARTS", "architecture_of", "compare", "comparisons", "groups",
           "rest_of"]
