"""A SIMULATED system for testing the search logic: it is not jxcbench measuring anything.

``SimulatedSystem(capacity=X)`` passes every step below or at X customers and fails above; variants
add noise near X (a random pass/fail band) and invalid steps. It counts the steps it was asked for,
so tests can check the search's step budget. Nothing in the CLI uses it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from loadgen.capacity.search import FAIL, INVALID, PASS, Proposal, StepOutcome


@dataclass
class SimulatedSystem:
    capacity: int
    noise_band: float = 0.0  # relative band around capacity where outcomes are random
    invalid_every: int = 0  # every n-th call is invalid (0: never)
    always_invalid_at: set[int] = field(default_factory=set)
    seed: int = 1
    calls: list[Proposal] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def __call__(self, proposal: Proposal) -> StepOutcome:
        self.calls.append(proposal)
        n = proposal.level
        if n in self.always_invalid_at:
            return StepOutcome(INVALID, "simulated: load generator saturated")
        if self.invalid_every and len(self.calls) % self.invalid_every == 0:
            return StepOutcome(INVALID, "simulated: too few requests for p99")
        if self.noise_band and abs(n - self.capacity) <= self.noise_band * self.capacity:
            return StepOutcome(PASS if self._rng.random() < 0.5 else FAIL)
        return StepOutcome(PASS if n <= self.capacity else FAIL)


class SimulatedStepRunner:
    """A SIMULATED ``loadgen.capacity.step.run_step`` for sweep tests: no system, no load, no database.

    Same call signature and the same files as the real runner (``out_dir/step.json``, schema 1),
    with latencies computed from a known capacity: p95 grows linearly with customers and crosses the
    profile's SLO exactly above ``capacity``. ``customer_search`` is the operation that degrades and
    ``db_cpu`` the resource that saturates, so the limiting factor is known too. It records every
    call, so tests can count what a resumed sweep measured again. Never used by the CLI.
    """

    def __init__(self, capacity: int, *, u_max: int | None = None, delay_s: float = 0.0,
                 interrupt_at_call: int | None = None, invalid_levels: set[int] = frozenset(),
                 inconclusive_first: set[int] = frozenset(), rare_operation: str | None = None,
                 inconclusive_from: int | None = None) -> None:
        self.capacity = capacity
        self.u_max = u_max
        self.delay_s = delay_s
        self.interrupt_at_call = interrupt_at_call
        self.invalid_levels = set(invalid_levels)
        # levels whose first measurement is inconclusive (its 95 % interval straddles the threshold)
        self.inconclusive_first = set(inconclusive_first)
        # every measurement from this many customers up to the capacity is inconclusive (the p95 sits so
        # close to its threshold that its 95 % interval always straddles it)
        self.inconclusive_from = inconclusive_from
        self.rare_operation = rare_operation  # an operation too rare to judge, on every step
        self.calls: list[tuple[int, int | None]] = []

    def __call__(self, profile, *, customers, operators=None, rate=None, duration_s, warmup_s, out_dir,
                 unconstrained=False) -> dict:
        import json
        import time
        from pathlib import Path

        if self.interrupt_at_call is not None and len(self.calls) + 1 == self.interrupt_at_call:
            raise KeyboardInterrupt  # as if Ctrl-C arrived during this step
        self.calls.append((customers, operators))
        if self.delay_s:
            time.sleep(self.delay_s)
        slo = profile["slo"] if isinstance(profile, dict) else profile.slo.model_dump()
        threshold = slo["p95_ms"]
        load = customers / self.capacity
        if self.u_max is not None and operators is not None:
            load = max(load, operators / self.u_max)
        search_p95 = threshold * load  # crosses the SLO exactly above capacity
        passed = search_p95 <= threshold
        valid = customers not in self.invalid_levels
        inconclusive = customers in self.inconclusive_first and self.calls.count((customers, operators)) == 1
        if self.inconclusive_from is not None and self.inconclusive_from <= customers <= self.capacity:
            inconclusive = True
        verdict = "inconclusive" if inconclusive or not valid else ("pass" if passed else "fail")
        passed = passed and not inconclusive
        step = {
            "schema": 1, "simulated": True,
            "customers": customers, "operators": operators, "duration_s": duration_s,
            "requests": 1200, "rps": 1200 / duration_s, "error_rate": 0.0,
            "passed": passed and valid, "valid": valid,
            "invalid_reason": None if valid else "simulated: load generator saturated",
            "fail_reason": None if passed or not valid or inconclusive else f"customer_search p95 {search_p95:.0f} ms > {threshold:g} ms",
            "verdict": verdict,
            "inconclusive_reason": "simulated: customer_search p95 interval straddles the threshold" if inconclusive else None,
            "unjudged_operations": ({self.rare_operation: {"requests": 40, "percentiles": ["p95", "p99"],
                                                           "requests_needed": 368}} if self.rare_operation else {}),
            "latency_ms": {"p50": search_p95 / 4, "p95": search_p95, "p99": search_p95 * 1.5, "max": search_p95 * 2},
            "operations": {
                "customer_search": {"requests": 400, "p95_ms": search_p95, "errors": 0},
                "sales_order": {"requests": 800, "p95_ms": search_p95 / 3, "errors": 0},
            },
            "resources": {"app_cpu_pct": 30.0, "db_cpu_pct": min(100.0, 90.0 * load), "loadgen_cpu_pct": 10.0,
                          "app_rss_mb": 120.0, "db_rss_mb": 200.0, "db_bytes": customers * 1000},
        }
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        (Path(out_dir) / "step.json").write_text(json.dumps(step, indent=2))
        return step


def profile_dict(name: str = "sim-sqlite", **sweep) -> dict:
    """A profile as plain data, shaped like profiles.schema.Profile (for sweeps of the simulation)."""
    base_sweep = {"start_customers": 1000, "growth": 4.0, "max_customers": 1_000_000, "precision": 0.10,
                  "step_duration_s": 60, "warmup_s": 10, "repeats": 1, "operators": None}
    base_sweep.update(sweep)
    return {
        "name": name,
        "hardware": {"cpus": 1, "cpuset": None, "memory": "2GiB"},
        "database": {"engine": "sqlite", "managed": False, "url": None, "settings": {}, "index_level": "basic"},
        "architecture": {"kind": "monolith", "workers": 1},
        "workload": {"mix": {"sales": 0.7, "clerk": 0.2, "manager": 0.1}, "think_time_s": [1.0, 3.0],
                     "operators": 20, "rate": None, "customer_quota": 1000},
        "slo": {"p95_ms": 500, "p99_ms": 1500, "error_rate": 0.01, "operations": {}},
        "sweep": base_sweep,
    }
