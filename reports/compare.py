"""Baseline against current: the CI gate. Capacity and per-operation p95 side by side as Markdown
(ready for a CI job summary) and JUnit XML; a verdict that becomes the exit code:

* **0** no regression; **1** a profile's capacity dropped by more than the allowed fraction, or a
  level that passed in the baseline fails now; **2** the results are not comparable — another
  machine (CPU model, cores, memory), another profile of the same name, another jxcbench version, or
  no profile in common — unless forced.

Reads two ``capacity.json`` documents; runs nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

MACHINE_KEYS = ("cpu_model", "cpu_cores", "memory_bytes")
OK, REGRESSION, INCOMPARABLE = 0, 1, 2


def parse_drop(text: str) -> float:
    """``"10%"`` or ``"0.1"`` -> 0.1; ValueError otherwise."""
    raw = str(text).strip()
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        raise ValueError(f"--max-drop {text!r}: write a percentage (10%) or a fraction (0.1)") from None
    if not 0 <= value < 1:
        raise ValueError(f"--max-drop {text!r}: must be between 0 % and 100 %")
    return value


def _profile_key(entry: Mapping) -> str:
    """What a profile's figures depend on: all of it but the search settings and the price."""
    prof = json.loads(json.dumps(entry.get("profile") or {}))
    hw = prof.get("hardware") or {}
    for key in ("price", "disk"):
        hw.pop(key, None)
    sweep = prof.get("sweep") or {}
    prof["sweep"] = {k: sweep.get(k) for k in ("step_duration_s", "warmup_s")}
    return json.dumps(prof, sort_keys=True)


def incomparable(base: Mapping, current: Mapping) -> list[str]:
    """Why the two results cannot be compared (empty when they can)."""
    reasons = []
    bm, cm = base.get("machine") or {}, current.get("machine") or {}
    for key in MACHINE_KEYS:
        if bm.get(key) != cm.get(key):
            reasons.append(f"machine {key}: {bm.get(key)!r} vs {cm.get(key)!r}")
    if base.get("tool_version") != current.get("tool_version"):
        reasons.append(f"jxcbench version: {base.get('tool_version')} vs {current.get('tool_version')}")
    if bool(base.get("unconstrained")) != bool(current.get("unconstrained")):
        reasons.append("one was measured with --unconstrained, the other not")
    bp = {e.get("name"): e for e in base.get("profiles") or []}
    cp = {e.get("name"): e for e in current.get("profiles") or []}
    common = sorted(set(bp) & set(cp))
    if not common:
        reasons.append(f"no profile in common (baseline: {', '.join(sorted(bp)) or 'none'}; current: {', '.join(sorted(cp)) or 'none'})")
    for name in common:
        if _profile_key(bp[name]) != _profile_key(cp[name]):
            reasons.append(f"profile {name} differs between the two results")
    return reasons


def _levels(entry: Mapping) -> dict[tuple, str]:
    """(customers, operators) of the customer search -> pass / fail over its valid steps."""
    out: dict[tuple, str] = {}
    for s in entry.get("steps") or []:
        if s.get("search", "customers") != "customers" or not s.get("valid"):
            continue
        key = (s.get("customers"), s.get("operators"))
        out[key] = "fail" if (out.get(key) == "fail" or not s.get("passed")) else "pass"
    return out


def _ops_at(entry: Mapping, customers: int | None) -> dict[str, float]:
    """p95 per operation at ``customers`` (the worst over repeats)."""
    ops: dict[str, float] = {}
    for s in entry.get("steps") or []:
        if s.get("search", "customers") == "customers" and s.get("valid") and s.get("customers") == customers:
            for name, o in (s.get("operations") or {}).items():
                if o.get("p95_ms") is not None:
                    ops[name] = max(ops.get(name, 0.0), o["p95_ms"])
    return ops


@dataclass
class ProfileComparison:
    name: str
    base: int | None
    current: int | None
    change: float | None
    status: str  # regression | improvement | same
    failures: list[str] = field(default_factory=list)
    level: int | None = None
    operations: list[tuple[str, float | None, float | None]] = field(default_factory=list)


@dataclass
class Comparison:
    reasons: list[str]
    forced: bool
    max_drop: float
    profiles: list[ProfileComparison]
    only_in_base: list[str]
    only_in_current: list[str]

    @property
    def exit_code(self) -> int:
        if self.reasons and not self.forced:
            return INCOMPARABLE
        return REGRESSION if any(p.failures for p in self.profiles) else OK

    def markdown(self) -> str:
        lines = ["## jxcbench compare", ""]
        if self.reasons:
            lines.append(("**Not comparable** (compared anyway: --force): " if self.forced else "**Not comparable**: ")
                         + "; ".join(self.reasons) + ".")
            lines.append("")
            if not self.forced:
                return "\n".join(lines) + "\n"
        verdict = {OK: "no regression", REGRESSION: "**regression**"}[self.exit_code]
        lines += [f"Result: {verdict} (allowed capacity drop {self.max_drop:.0%}).", "",
                  "| profile | baseline customers | current customers | change | result |", "|---|---:|---:|---:|---|"]
        for p in self.profiles:
            change = f"{p.change:+.1%}" if p.change is not None else "–"
            lines.append(f"| {p.name} | {_n(p.base)} | {_n(p.current)} | {change} | {p.status} |")
        for p in self.profiles:
            if p.failures:
                lines += ["", f"**{p.name}**:"] + [f"- {f}" for f in p.failures]
        for p in self.profiles:
            if p.operations:
                lines += ["", f"### {p.name}: p95 per operation at {p.level:,} customers", "",
                          "| operation | baseline p95 ms | current p95 ms | change |", "|---|---:|---:|---:|"]
                for name, b, c in p.operations:
                    change = f"{(c - b) / b:+.1%}" if b and c is not None else "–"
                    lines.append(f"| {name} | {_ms(b)} | {_ms(c)} | {change} |")
        for label, names in (("only in the baseline", self.only_in_base), ("only in the current results", self.only_in_current)):
            if names:
                lines += ["", f"Profiles {label} (not compared): {', '.join(names)}."]
        return "\n".join(lines) + "\n"

    def junit(self) -> str:
        cases = []
        if self.reasons:
            body = f"<failure message={quoteattr('not comparable: ' + '; '.join(self.reasons))}/>" if not self.forced else ""
            cases.append(f"<testcase classname='jxcbench.compare' name='comparable'>{body}</testcase>")
        for p in self.profiles:
            body = "".join(f"<failure message={quoteattr(f)}/>" for f in p.failures[:1])
            detail = escape(f"baseline {_n(p.base)}, current {_n(p.current)} customers")
            cases.append(f"<testcase classname={quoteattr('jxcbench.' + p.name)} name='capacity'>{body}"
                         f"<system-out>{detail}</system-out></testcase>")
        failures = sum(1 for c in cases if "<failure" in c)
        return (f"<?xml version='1.0' encoding='utf-8'?>\n<testsuites><testsuite name='jxcbench compare' tests='{len(cases)}' "
                f"failures='{failures}' errors='0'>{''.join(cases)}</testsuite></testsuites>\n")


def _n(x) -> str:
    return "–" if x is None else f"{x:,}"


def _ms(x) -> str:
    return "–" if x is None else f"{x:,.0f}"


def compare(base: Mapping, current: Mapping, *, max_drop: float = 0.10, force: bool = False) -> Comparison:
    reasons = incomparable(base, current)
    bp = {e.get("name"): e for e in base.get("profiles") or []}
    cp = {e.get("name"): e for e in current.get("profiles") or []}
    rows = []
    for name in sorted(set(bp) & set(cp)):
        b, c = bp[name], cp[name]
        held_b, held_c = b.get("max_customers"), c.get("max_customers")
        change = None
        failures = []
        if held_b:
            change = ((held_c or 0) - held_b) / held_b
            if change < -max_drop:
                failures.append(f"capacity {_n(held_c)} customers is {-change:.1%} below the baseline's {_n(held_b)} "
                                f"(allowed drop {max_drop:.0%})")
        lb, lc = _levels(b), _levels(c)
        for key in sorted(k for k in lb if lb[k] == "pass" and lc.get(k) == "fail"):
            load = f"{key[1]} operators" if key[1] is not None else "the profile's arrival rate"
            failures.append(f"{key[0]:,} customers with {load} passed in the baseline and fails now")
        status = "regression" if failures else (
            "improvement" if change is not None and change > max_drop or (not held_b and held_c) else "same")
        both = sorted(k[0] for k in set(lb) & set(lc) if k[0] is not None)
        level = held_b if held_b in both else (max(both) if both else None)
        ops = []
        if level is not None:
            ob, oc = _ops_at(b, level), _ops_at(c, level)
            ops = [(n, ob.get(n), oc.get(n)) for n in sorted(set(ob) | set(oc))]
        rows.append(ProfileComparison(name, held_b, held_c, change, status, failures, level, ops))
    return Comparison(reasons, force, max_drop, rows, sorted(set(bp) - set(cp)), sorted(set(cp) - set(bp)))


__all__ = ["INCOMPARABLE", "OK", "REGRESSION", "Comparison", "compare", "incomparable", "parse_drop"]
