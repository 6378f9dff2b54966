"""A SIMULATED system for testing the search logic: it is not jxcbench measuring anything.

``SimulatedSystem(capacity=X)`` passes every step below or at X customers and fails above; variants
add noise near X (a random pass/fail band) and invalid steps. It counts the steps it was asked for,
so tests can check the search's step budget. Nothing in the CLI uses it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from loadgen.search import FAIL, INVALID, PASS, Proposal, StepOutcome


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
