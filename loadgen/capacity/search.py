"""The capacity search, as pure logic: which step to measure next, and what the measurements mean.

No I/O here. A search is a generator: it *proposes* the next step (:class:`Proposal`: customers,
operators, repeat index) and *receives* what that step showed (:class:`StepOutcome`: pass, fail or
invalid) through ``send``; when it has an answer it returns a :class:`SearchResult`. Whoever drives
it (``loadgen.capacity.sweep`` with real steps, a test with a simulated system) decides how a step is
measured. Because the search is deterministic given the outcomes, resuming an interrupted sweep is
just replaying the outcomes already on disk.

The algorithm along one axis (customers at fixed operators, or operators at fixed customers):

1. **Grow** geometrically from ``start`` by ``growth`` up to ``maximum`` until a level fails.
2. **Bisect** between the last pass and the first fail until ``(fail - pass) / pass <= precision``.
   The midpoint is the *geometric* mean: the precision is relative, so halving the log-ratio of the
   bracket is the fastest way to reach it (a bracket of ratio ``r`` needs
   ``ceil(log2(ln r / ln(1 + precision)))`` steps; the arithmetic mean wastes steps near the top when
   the bracket is wide, e.g. after a growth factor of 4).
3. **Confirm**: measure each boundary level until it has ``repeats`` valid measurements. A level
   counts as passing only if *every* valid measurement passed, as failing if *any* failed. When the
   repeats disagree the result says so (``boundary_agreed = False``, ``uncertain = True``) and the
   answer is the conservative one (a flaky lower boundary is not a pass).

An **invalid** step (saturated load generator, crashed system, too few requests) is neither pass
nor fail: the same point is re-run up to ``invalid_retries`` more times; if it stays invalid the
level is *unknown* and the search stops there and says why (it cannot know which way to go). An
**inconclusive** step (an operation's confidence interval still straddles its threshold after the
window's extension) is re-run within the same bound too (or ``inconclusive_retries`` times, when the
profile says so: a long extension may already be the retry), never counts as a pass, and a re-run
is judged on the windows so far pooled (:mod:`loadgen.capacity.pooling`, done by the sweep). A level that
stays inconclusive is *unproven*: it was measured properly, and it did not show that it holds. The
capacity is the largest level shown to hold, so an unproven level is the top of the bracket like a
failing one (the verdict says which it was) and the search goes on below it, rather than stopping
without an answer: near the boundary, where some operation's p95 sits close to its threshold,
"not shown at 95 % confidence" is the expected outcome, not a broken measurement.

**Fallback**: when a repeat at the highest passing level fails, the conservative answer falls back to
a lower passing level, which may have been measured only once. It is then confirmed like the one it
replaces (``repeats`` valid measurements), falling further if one of those fails.

Whether a running step's SLO is already lost (the early stop) is the step's business, not the
search's: :mod:`loadgen.measure.slo`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field


PASS = "pass"
FAIL = "fail"
INVALID = "invalid"
INCONCLUSIVE = "inconclusive"  # valid, but the confidence bounds decide neither way: re-run, never a pass
UNKNOWN = "unknown"  # a level whose every measurement was invalid
UNPROVEN = "unproven"  # a level measured, but never shown to hold: inconclusive (and nothing failed)

# Grow and bisect pick "round" levels (2 significant digits, more only when needed to stay strictly
# inside the bracket): a report saying "held 28,000 customers" reads better than 28,284, and the
# precision (10 % by default) does not justify more digits.
_MAX_SIG_DIGITS = 12


class SearchSpecError(ValueError):
    """A search setting that cannot work (start above maximum, precision <= 0, ...)."""


@dataclass(frozen=True)
class StepOutcome:
    """What one measured step showed: ``pass``, ``fail``, ``inconclusive`` or ``invalid`` (with the
    reason)."""

    status: str
    reason: str = ""

    def __post_init__(self) -> None:
        if self.status not in (PASS, FAIL, INVALID, INCONCLUSIVE):
            raise ValueError(f"StepOutcome.status must be pass, fail, inconclusive or invalid, not {self.status!r}")

    @classmethod
    def from_step(cls, step: Mapping) -> StepOutcome:
        """Read a step object of the results contract (``valid``, ``verdict``, ``passed``,
        ``invalid_reason``). A step written before ``verdict`` existed is read from ``passed``."""
        if not step.get("valid", False):
            return cls(INVALID, str(step.get("invalid_reason") or "step marked invalid"))
        verdict = step.get("verdict")
        if verdict == INCONCLUSIVE:
            return cls(INCONCLUSIVE, str(step.get("inconclusive_reason") or "confidence bounds straddle a threshold"))
        if verdict == PASS and not step.get("passed"):
            return cls(FAIL)  # a contradiction is read the conservative way
        return cls(PASS if step.get("passed") else FAIL)


@dataclass(frozen=True)
class Proposal:
    """The next step to measure. ``repeat`` numbers the measurements of one point (0 = first)."""

    customers: int
    operators: int | None
    repeat: int
    phase: str  # "grow" | "bisect" | "confirm"
    level: int  # the searched value (customers or operators, depending on the axis)


@dataclass(frozen=True)
class SearchSpec:
    """The settings of one search along one axis; refuses settings that cannot work."""

    start: int
    growth: float
    maximum: int
    precision: float
    repeats: int = 1
    invalid_retries: int = 2
    # re-runs of an inconclusive step (None: invalid_retries); see the module docstring
    inconclusive_retries: int | None = None
    what: str = "customers"  # names the axis in messages
    ladder: tuple[int, ...] = ()  # explicit growth levels (e.g. operator counts) instead of x growth

    def __post_init__(self) -> None:
        w = self.what
        if self.ladder:
            if any(b <= a for a, b in zip(self.ladder, self.ladder[1:], strict=False)) or self.ladder[0] < 1:
                raise SearchSpecError(f"{w} levels must be increasing positive integers, got {list(self.ladder)}")
            object.__setattr__(self, "start", self.ladder[0])
            object.__setattr__(self, "maximum", self.ladder[-1])
        if self.start < 1:
            raise SearchSpecError(f"start {w} must be at least 1, got {self.start}")
        if self.maximum < self.start:
            raise SearchSpecError(f"start {w} ({self.start}) is above max {w} ({self.maximum})")
        if not self.precision > 0:
            raise SearchSpecError(f"precision must be > 0 (e.g. 0.10 for ±10 %), got {self.precision}")
        if not self.growth > 1:
            raise SearchSpecError(f"growth must be > 1 (e.g. 4.0), got {self.growth}")
        if self.repeats < 1:
            raise SearchSpecError(f"repeats must be at least 1, got {self.repeats}")
        if self.invalid_retries < 0:
            raise SearchSpecError(f"invalid_retries must be >= 0, got {self.invalid_retries}")
        if self.inconclusive_retries is not None and self.inconclusive_retries < 0:
            raise SearchSpecError(f"inconclusive_retries must be >= 0, got {self.inconclusive_retries}")

    @property
    def inconclusive_tries(self) -> int:
        """Measurements an inconclusive level gets before it is unproven."""
        return 1 + (self.invalid_retries if self.inconclusive_retries is None else self.inconclusive_retries)

    def step_bound(self) -> int:
        """Most steps a search can take when no step is invalid (the O(log) promise, testable)."""
        if self.ladder:
            widest = max((b / a for a, b in zip(self.ladder, self.ladder[1:], strict=False)), default=1.0)
            bisect = math.ceil(math.log2(max(math.log(max(widest, 1.0 + 1e-9)) / math.log1p(self.precision), 1.0))) + 1
            return len(self.ladder) + bisect + 2 * (self.repeats - 1)
        grow = math.ceil(math.log(self.maximum / self.start) / math.log(self.growth)) + 1 if self.maximum > self.start else 1
        # The widest bracket bisection can face is one growth factor; rounding to round numbers can
        # cost one extra halving.
        bisect = math.ceil(math.log2(max(math.log(self.growth) / math.log1p(self.precision), 1.0))) + 1
        confirm = 2 * (self.repeats - 1)
        return grow + bisect + confirm


@dataclass
class SearchResult:
    """The answer of one search along one axis, and how it was reached."""

    max_passing: int | None  # largest level that passed (conservatively), None if none did
    first_failing: int | None  # smallest level that failed, None if none did
    steps: int  # measurements taken (including repeats and invalid re-runs)
    levels: dict[int, list[str]]  # every outcome per level, in order measured
    boundary_agreed: bool | None  # None when nothing was repeated
    uncertain: bool
    stopped: str | None = None  # why the search stopped before an answer (e.g. an unknown level)
    notes: list[str] = field(default_factory=list)
    first_failing_unproven: bool = False  # the bracket's top was not shown to hold (inconclusive), not failed

    @property
    def bracket_ratio(self) -> float | None:
        """(first_failing - max_passing) / max_passing, when both exist."""
        if self.max_passing is None or self.first_failing is None:
            return None
        return (self.first_failing - self.max_passing) / self.max_passing

    def to_dict(self) -> dict:
        return {
            "max_passing": self.max_passing,
            "first_failing": self.first_failing,
            "steps": self.steps,
            "levels": {str(k): v for k, v in sorted(self.levels.items())},
            "boundary_agreed": self.boundary_agreed,
            "uncertain": self.uncertain,
            "stopped": self.stopped,
            "notes": list(self.notes),
            "first_failing_unproven": self.first_failing_unproven,
        }


def round_level(x: float, lo: int | None = None, hi: int | None = None) -> int:
    """``x`` rounded to the fewest significant digits (>= 2) that keep it strictly inside (lo, hi)."""
    x = max(1.0, x)
    for digits in range(2, _MAX_SIG_DIGITS + 1):
        scale = 10 ** max(0, math.floor(math.log10(x)) + 1 - digits)
        r = int(round(x / scale) * scale)
        if (lo is None or r > lo) and (hi is None or r < hi):
            return r
    # No round number fits: the nearest integer inside the bracket (the caller ensures one exists).
    r = int(round(x))
    if lo is not None:
        r = max(r, lo + 1)
    if hi is not None:
        r = min(r, hi - 1)
    return r


SearchGen = Generator[Proposal, StepOutcome, SearchResult]


def search(spec: SearchSpec, point: Callable[[int], tuple[int, int | None]] | None = None) -> SearchGen:
    """The search along one axis. ``point(level) -> (customers, operators)`` places a level.

    Default: the level is the customer count, operators unset (the profile's own).
    """
    place = point or (lambda level: (level, None))
    levels: dict[int, list[str]] = {}
    reasons: dict[int, list[str]] = {}
    notes: list[str] = []

    def measure(level: int, phase: str) -> Generator[Proposal, StepOutcome, str]:
        """One valid, conclusive measurement of ``level`` (re-running invalid and inconclusive ones);
        pass/fail or unknown."""
        # each kind within its own bound, and no more measurements in all than the larger bound
        tries = max(spec.invalid_retries + 1, spec.inconclusive_tries)
        inconclusive = invalid = 0
        for _ in range(tries):
            if inconclusive >= spec.inconclusive_tries or invalid > spec.invalid_retries:
                break
            customers, operators = place(level)
            outcome = yield Proposal(customers, operators, len(levels.get(level, [])), phase, level)
            if not isinstance(outcome, StepOutcome):
                raise TypeError(f"the search needs a StepOutcome, got {outcome!r}")
            levels.setdefault(level, []).append(outcome.status)
            if outcome.status in (PASS, FAIL):
                return outcome.status
            inconclusive += outcome.status == INCONCLUSIVE
            invalid += outcome.status != INCONCLUSIVE
            reasons.setdefault(level, []).append(f"{outcome.status}: {outcome.reason}" if outcome.status == INCONCLUSIVE
                                                 else outcome.reason)
        if inconclusive:
            notes.append(f"at {level} {spec.what} no step showed that the SLO holds ({reasons[level][-1]}): "
                         f"counted as not held, the search went on below it")
            return UNPROVEN
        return UNKNOWN

    def finish(stopped: str | None = None) -> SearchResult:
        return _conclude(spec, levels, notes, stopped)

    # 1. grow
    last_pass: int | None = None
    first_fail: int | None = None
    level = spec.start
    while True:
        status = yield from measure(level, "grow")
        if status == UNKNOWN:
            return finish(_unknown_message(spec, level, reasons[level]))
        if status in (FAIL, UNPROVEN):
            first_fail = level
            break
        last_pass = level
        if level >= spec.maximum:
            notes.append(f"passed at the maximum searched ({spec.maximum} {spec.what}); the capacity may be higher")
            break
        level = _next_level(spec, level)

    # 2. bisect
    if last_pass is not None and first_fail is not None:
        lo, hi = last_pass, first_fail
        while (hi - lo) / lo > spec.precision and hi - lo > 1:
            mid = round_level(math.sqrt(lo * hi), lo, hi)
            status = yield from measure(mid, "bisect")
            if status == UNKNOWN:
                return finish(_unknown_message(spec, mid, reasons[mid]))
            if status == PASS:
                lo = mid
            else:
                hi = mid
        last_pass, first_fail = lo, hi
    elif first_fail is not None:
        notes.append(f"failed already at the start level ({spec.start} {spec.what}); lower the start to find the capacity")

    # 3. confirm the boundary levels, and again whatever level a failed repeat falls back to
    given_up: set[int] = set()
    fell_back: set[int] = set()
    while True:
        current = _conclude(spec, levels, [], None)
        # an unproven top was measured 1 + invalid_retries times already, none of them conclusive
        todo = [b for b in (current.max_passing, current.first_failing)
                if b is not None and b not in given_up and _valid_count(levels[b]) < spec.repeats
                and not (b == current.first_failing and current.first_failing_unproven)]
        if not todo:
            break
        boundary = todo[0]
        if last_pass is not None and boundary < last_pass and boundary == current.max_passing and boundary not in fell_back:
            fell_back.add(boundary)
            notes.append(f"a repeat at {current.first_failing} {spec.what} failed; the answer fell back to {boundary} "
                         f"{spec.what}, confirmed with {spec.repeats} valid measurement{'s' if spec.repeats != 1 else ''} too")
        status = yield from measure(boundary, "confirm")
        if status in (UNKNOWN, UNPROVEN):  # a repeat that never concluded: not measured again, said so
            given_up.add(boundary)
            notes.append(f"a repeat at {boundary} {spec.what} stayed invalid or inconclusive: {reasons[boundary][-1]}")
    return finish()


def _next_level(spec: SearchSpec, level: int) -> int:
    if spec.ladder:
        return next(x for x in spec.ladder if x > level)
    nxt = min(spec.maximum, max(level + 1, round_level(level * spec.growth)))
    # A level within the precision of the maximum is the maximum: a last step from 1,000,000 to
    # 1,024,000 would cost a whole measurement and tell nothing the precision cares about.
    return spec.maximum if nxt * (1 + spec.precision) >= spec.maximum else nxt


def conclude(spec: SearchSpec, levels: Mapping[int, Sequence[str]], stopped: str | None = None) -> SearchResult:
    """The (provisional) answer from the outcomes so far, e.g. for a sweep interrupted midway."""
    return _conclude(spec, {k: list(v) for k, v in levels.items()}, [], stopped)


def _valid_count(outcomes: Iterable[str]) -> int:
    return sum(1 for o in outcomes if o in (PASS, FAIL))


def _unknown_message(spec: SearchSpec, level: int, reasons: Sequence[str]) -> str:
    last = reasons[-1] if reasons else "invalid"
    what = "invalid or inconclusive" if any(r.startswith(INCONCLUSIVE) for r in reasons) else "invalid"
    return (
        f"stopped: the step at {level} {spec.what} was {what} {len(reasons)} time{'s' if len(reasons) != 1 else ''} "
        f"(last: {last}), so it is unknown whether it passes"
    )


def level_verdict(outcomes: Sequence[str]) -> str:
    """Conservative verdict of one level: fail if any valid step failed, pass if all conclusive ones
    passed; unproven when its only valid steps were inconclusive, unknown when none was valid."""
    valid = [o for o in outcomes if o in (PASS, FAIL)]
    if not valid:
        return UNPROVEN if INCONCLUSIVE in outcomes else UNKNOWN
    return FAIL if FAIL in valid else PASS


def _conclude(spec: SearchSpec, levels: dict[int, list[str]], notes: list[str], stopped: str | None) -> SearchResult:
    verdicts = {lv: level_verdict(outs) for lv, outs in levels.items()}
    # The bracket's top: the smallest level that failed or was never shown to hold.
    fails = sorted(lv for lv, v in verdicts.items() if v in (FAIL, UNPROVEN))
    first_failing = fails[0] if fails else None
    passes = sorted(lv for lv, v in verdicts.items() if v == PASS and (first_failing is None or lv < first_failing))
    max_passing = passes[-1] if passes else None

    repeated = [lv for lv in (max_passing, first_failing) if lv is not None and _valid_count(levels[lv]) > 1]
    # Any disagreement among repeated measurements near the boundary makes it uncertain, also one at
    # a level that the conservative rule has since turned into a failure.
    flaky = [lv for lv, outs in levels.items() if len({o for o in outs if o in (PASS, FAIL)}) > 1]
    agreed: bool | None = None
    if repeated or flaky:
        agreed = not flaky
    if flaky:
        detail = "; ".join(f"{lv}: {', '.join(levels[lv])}" for lv in sorted(flaky))
        notes.append(f"repeated steps disagree ({detail}); taking the conservative answer")
    if max_passing is not None and first_failing is not None:
        ratio = (first_failing - max_passing) / max_passing
        if ratio > spec.precision * 1.0000001 and first_failing - max_passing > 1 and stopped is None:
            notes.append(
                f"the bracket {max_passing}..{first_failing} is ±{ratio:.0%}, wider than the precision ±{spec.precision:.0%}"
            )
    return SearchResult(
        max_passing=max_passing,
        first_failing=first_failing,
        steps=sum(len(v) for v in levels.values()),
        levels=dict(levels),
        boundary_agreed=agreed,
        uncertain=bool(flaky) or stopped is not None,
        stopped=stopped,
        notes=notes,
        first_failing_unproven=first_failing is not None and verdicts[first_failing] == UNPROVEN,
    )


def drive(gen: SearchGen, evaluate: Callable[[Proposal], StepOutcome]) -> SearchResult:
    """Run a search to its end, measuring each proposal with ``evaluate``."""
    try:
        proposal = next(gen)
        while True:
            proposal = gen.send(evaluate(proposal))
    except StopIteration as stop:
        return stop.value


def capacity_search(spec: SearchSpec, *, operators: int | None = None) -> SearchGen:
    """Largest customer count that passes, at a fixed operator count (None = the profile's)."""
    return search(spec, lambda level: (level, operators))


def frontier_search(customers: int, spec: SearchSpec) -> SearchGen:
    """U_max(N): the largest operator count that passes at ``customers`` (``spec`` is in operators)."""
    return search(spec, lambda level: (customers, level))


__all__ = [
    "FAIL",
    "INCONCLUSIVE",
    "INVALID",
    "PASS",
    "UNKNOWN",
    "UNPROVEN",
    "Proposal",
    "SearchResult",
    "SearchSpec",
    "SearchSpecError",
    "StepOutcome",
    "capacity_search",
    "conclude",
    "drive",
    "frontier_search",
    "level_verdict",
    "round_level",
    "search",
]
