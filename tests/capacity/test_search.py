"""The search logic against a simulated system with a known capacity (see simulated.py)."""

from __future__ import annotations

import math

import pytest

from loadgen.capacity.search import (
    FAIL,
    INCONCLUSIVE,
    INVALID,
    PASS,
    SearchSpec,
    SearchSpecError,
    StepOutcome,
    capacity_search,
    drive,
    frontier_search,
    round_level,
)
from tests.capacity.simulated import SimulatedSystem


def spec(**kw) -> SearchSpec:
    base = dict(start=1000, growth=4.0, maximum=1_000_000, precision=0.10, repeats=1)
    base.update(kw)
    return SearchSpec(**base)


@pytest.mark.parametrize("capacity", [1000, 1234, 3999, 4000, 4001, 17_500, 250_000, 999_999])
@pytest.mark.parametrize("precision", [0.10, 0.02])
def test_finds_known_capacity_within_precision_in_log_steps(capacity, precision):
    s = spec(precision=precision)
    system = SimulatedSystem(capacity)
    result = drive(capacity_search(s), system)
    assert result.max_passing is not None and result.first_failing is not None
    assert result.max_passing <= capacity < result.first_failing
    assert (result.first_failing - result.max_passing) / result.max_passing <= precision
    assert result.steps == len(system.calls) <= s.step_bound()
    # The O(log) promise in numbers: growth steps + bisection halvings, nothing linear in capacity.
    grow = math.ceil(math.log(s.maximum / s.start, s.growth)) + 1
    bisect = math.ceil(math.log2(math.log(s.growth) / math.log1p(precision))) + 1
    assert result.steps <= grow + bisect
    assert result.boundary_agreed is None and not result.uncertain


def test_step_count_is_logarithmic_not_linear():
    # Ten times finer precision costs a few steps more, not ten times as many.
    coarse = drive(capacity_search(spec(precision=0.10)), SimulatedSystem(123_456)).steps
    fine = drive(capacity_search(spec(precision=0.01)), SimulatedSystem(123_456)).steps
    assert fine - coarse <= 4


def test_capacity_above_maximum_reports_pass_at_max():
    system = SimulatedSystem(5_000_000)
    result = drive(capacity_search(spec(repeats=2)), system)
    assert result.max_passing == 1_000_000 and result.first_failing is None
    assert any("may be higher" in n for n in result.notes)
    assert [p.level for p in system.calls].count(1_000_000) == 2  # confirmed once more


def test_growth_jumps_to_the_maximum_when_the_next_level_is_within_precision_of_it():
    # 260,000 x 4 rounds to 1,000,000; a further step to 1,024,000 would tell nothing at 10 %.
    system = SimulatedSystem(5_000_000)
    drive(capacity_search(spec(start=4000, maximum=1_024_000)), system)
    assert [p.level for p in system.calls] == [4000, 16_000, 64_000, 260_000, 1_024_000]


def test_failure_at_start_level():
    result = drive(capacity_search(spec()), SimulatedSystem(10))
    assert result.max_passing is None and result.first_failing == 1000
    assert any("lower the start" in n for n in result.notes)


def test_repeats_confirm_both_boundary_levels():
    system = SimulatedSystem(30_000)
    result = drive(capacity_search(spec(repeats=3)), system)
    confirms = [p for p in system.calls if p.phase == "confirm"]
    assert {p.level for p in confirms} == {result.max_passing, result.first_failing}
    assert len(confirms) == 4  # two more at each boundary
    assert result.levels[result.max_passing] == [PASS] * 3
    assert result.levels[result.first_failing] == [FAIL] * 3
    assert result.boundary_agreed is True and not result.uncertain
    # repeat indexes number the measurements of one point, so each gets its own directory
    assert sorted(p.repeat for p in system.calls if p.level == result.max_passing) == [0, 1, 2]


def test_disagreeing_repeat_at_lower_boundary_takes_conservative_answer():
    # The lower boundary passes in bisection, then fails on its repeat: it is not a pass any more.
    first: dict[int, bool] = {}

    def flaky(p):
        if p.level > 20_000:
            return StepOutcome(FAIL)
        if p.level >= 19_000 and first.get(p.level):
            return StepOutcome(FAIL)  # the repeat at the lower boundary fails
        first[p.level] = True
        return StepOutcome(PASS)

    result = drive(capacity_search(spec(repeats=2)), flaky)
    assert result.boundary_agreed is False and result.uncertain
    assert any("disagree" in n for n in result.notes)
    failing = result.first_failing
    assert result.levels[failing][0] == PASS and FAIL in result.levels[failing]  # was the boundary pass
    assert result.max_passing < failing  # fell back to a lower level that only ever passed
    assert all(o == PASS for o in result.levels[result.max_passing])


def test_disagreeing_repeat_at_upper_boundary_keeps_it_failing():
    seen: set[int] = set()

    def flaky(p):
        if p.level <= 30_000:
            return StepOutcome(PASS)
        if p.level in seen and p.level < 33_000:
            return StepOutcome(PASS)  # the first-failing level passes on its repeat
        seen.add(p.level)
        return StepOutcome(FAIL)

    result = drive(capacity_search(spec(repeats=2)), flaky)
    assert result.boundary_agreed is False and result.uncertain
    assert result.levels[result.first_failing] == [FAIL, PASS]
    assert result.max_passing <= 30_000 < result.first_failing


@pytest.mark.parametrize("seed", range(10))
def test_noisy_system_answer_brackets_the_noise_band(seed):
    system = SimulatedSystem(50_000, noise_band=0.05, seed=seed)
    s = spec(repeats=2)
    result = drive(capacity_search(s), system)
    # Outside the band the system is deterministic, so the answer lies inside the band's reach.
    assert 50_000 * 0.95 / (1 + s.precision) <= result.max_passing <= 50_000 * 1.05
    assert result.first_failing > 50_000 * 0.95
    assert result.steps <= s.step_bound()
    if result.boundary_agreed is False:
        assert result.uncertain


def test_invalid_steps_are_rerun_never_counted():
    system = SimulatedSystem(77_000, invalid_every=3)
    s = spec(invalid_retries=2)
    result = drive(capacity_search(s), system)
    assert result.max_passing <= 77_000 < result.first_failing
    assert (result.first_failing - result.max_passing) / result.max_passing <= s.precision
    invalid = sum(outs.count(INVALID) for outs in result.levels.values())
    assert invalid > 0 and result.steps == len(system.calls)
    for outs in result.levels.values():  # an invalid is always followed by a re-run of the level
        assert outs[-1] in (PASS, FAIL)


def test_level_that_stays_invalid_stops_the_search_and_says_why():
    system = SimulatedSystem(77_000, always_invalid_at={16_000})
    s = spec(invalid_retries=2)
    result = drive(capacity_search(s), system)
    assert result.stopped and "16000" in result.stopped and "invalid 3 times" in result.stopped
    assert "saturated" in result.stopped
    assert result.uncertain
    assert result.levels[16_000] == [INVALID] * 3
    assert result.max_passing == 4000 and result.first_failing is None  # never a pass or a fail


def test_frontier_search_steps_operators_at_fixed_customers():
    def system(p):
        assert p.customers == 20_000
        return StepOutcome(PASS if p.operators <= 37 else FAIL)

    s = SearchSpec(start=5, growth=2.0, maximum=500, precision=0.05, what="operators")
    result = drive(frontier_search(20_000, s), system)
    assert result.max_passing <= 37 < result.first_failing
    assert result.first_failing - result.max_passing <= max(1, 0.05 * result.max_passing)


@pytest.mark.parametrize(
    "kw, message",
    [
        (dict(start=2000, maximum=1000), "above max"),
        (dict(precision=0), "precision must be > 0"),
        (dict(precision=-0.1), "precision must be > 0"),
        (dict(growth=1.0), "growth must be > 1"),
        (dict(repeats=0), "repeats"),
        (dict(start=0), "at least 1"),
    ],
)
def test_bad_settings_are_refused_with_a_clear_message(kw, message):
    with pytest.raises(SearchSpecError, match=message):
        spec(**kw)


def test_search_refuses_a_non_outcome():
    gen = capacity_search(spec())
    next(gen)
    with pytest.raises(TypeError, match="StepOutcome"):
        gen.send({"passed": True})


def test_round_levels_stay_inside_the_bracket():
    assert round_level(4123) == 4100
    assert round_level(1049, 1000, 1100) == 1050
    assert round_level(1000.4, 1000, 1002) == 1001
    assert round_level(999.6, 1000, 1002) == 1001


def test_fallback_boundary_is_confirmed_with_as_many_repeats_as_the_one_it_replaces():
    # Capacity 20,000 (a pass at 19,000 the first time only): the bisection's pass at 19,000 fails its
    # repeat; the answer falls back to the highest lower pass, measured once in the search, and that
    # level is measured again until it too has `repeats` valid measurements.
    for repeats in (2, 3):
        first: dict[int, bool] = {}

        def flaky(p, first=first):
            if p.level > 20_000:
                return StepOutcome(FAIL)
            if p.level >= 19_000 and first.get(p.level):
                return StepOutcome(FAIL)
            first[p.level] = True
            return StepOutcome(PASS)

        result = drive(capacity_search(spec(repeats=repeats)), flaky)
        held = result.max_passing
        assert held is not None and held < 19_000 <= result.first_failing
        assert result.levels[held] == [PASS] * repeats, result.levels
        assert any("fell back" in n for n in result.notes)


def test_fallback_that_fails_its_confirmation_falls_further_and_is_confirmed_again():
    # Every level above 4,000 passes only once; a fallback's confirmation fails and the answer moves
    # down until a level holds all its repeats.
    seen: set[int] = set()

    def once(p):
        if p.level <= 4000:
            return StepOutcome(PASS)
        if p.level > 40_000 or p.level in seen:
            return StepOutcome(FAIL)
        seen.add(p.level)
        return StepOutcome(PASS)

    result = drive(capacity_search(spec(repeats=2, start=1000)), once)
    assert result.max_passing == 4000
    assert result.levels[4000] == [PASS, PASS]
    assert result.first_failing is not None and result.first_failing > 4000


def test_inconclusive_steps_are_repeated_never_a_pass_and_a_level_that_stays_so_tops_the_bracket():
    def judge(p):
        if p.level == 16_000:
            return StepOutcome(INCONCLUSIVE, "x p95 interval straddles 500 ms")
        return StepOutcome(PASS if p.level < 16_000 else FAIL)

    result = drive(capacity_search(spec(invalid_retries=2)), judge)
    assert result.levels[16_000] == [INCONCLUSIVE] * 3  # bounded: 1 + 2 retries
    # never shown to hold: the top of the bracket (said so), and the search bisects below it to
    # the precision instead of stopping without an answer
    assert result.first_failing == 16_000 and result.first_failing_unproven and not result.stopped
    assert 4000 < result.max_passing < 16_000 and (16_000 - result.max_passing) / result.max_passing <= 0.10
    assert all(v == [PASS] for lv, v in result.levels.items() if lv < 16_000)
    assert any("at 16000 customers no step showed that the SLO holds" in n for n in result.notes)
    assert result.to_dict()["first_failing_unproven"] is True

    # invalid every time: unknown, the search stops there (it cannot know which way to go)
    result = drive(capacity_search(spec(invalid_retries=1)),
                   lambda p: StepOutcome(INVALID, "machine busy") if p.level == 16_000 else StepOutcome(PASS))
    assert result.levels[16_000] == [INVALID] * 2 and result.stopped and "16000" in result.stopped
    assert result.max_passing == 4000 and result.first_failing is None and not result.first_failing_unproven

    # inconclusive once, then conclusive: the conclusive measurement decides
    calls: dict[int, int] = {}

    def once(p):
        calls[p.level] = calls.get(p.level, 0) + 1
        if p.level == 16_000 and calls[p.level] == 1:
            return StepOutcome(INCONCLUSIVE, "straddles")
        return StepOutcome(PASS if p.level <= 20_000 else FAIL)

    result = drive(capacity_search(spec()), once)
    assert result.levels[16_000] == [INCONCLUSIVE, PASS]
    assert result.max_passing is not None and 16_000 <= result.max_passing <= 20_000 < result.first_failing


def test_outcome_from_step_object():
    assert StepOutcome.from_step({"valid": True, "passed": False, "verdict": "inconclusive"}).status == INCONCLUSIVE
    assert StepOutcome.from_step({"valid": True, "passed": True, "verdict": "pass"}).status == PASS
    assert StepOutcome.from_step({"valid": True, "passed": False, "verdict": "pass"}).status == FAIL
    assert StepOutcome.from_step({"valid": True, "passed": True}).status == PASS
    assert StepOutcome.from_step({"valid": True, "passed": False}).status == FAIL
    out = StepOutcome.from_step({"valid": False, "passed": True, "invalid_reason": "loadgen saturated"})
    assert out.status == INVALID and out.reason == "loadgen saturated"


def test_ladder_of_operator_levels_then_bisection():
    s = SearchSpec(start=1, growth=2.0, maximum=1, precision=0.10, ladder=(5, 10, 20, 40, 80), what="operators")
    calls = []

    def system(p):
        calls.append(p.operators)
        return StepOutcome(PASS if p.operators <= 27 else FAIL)

    result = drive(frontier_search(1000, s), system)
    assert calls[:4] == [5, 10, 20, 40]
    assert result.max_passing <= 27 < result.first_failing and result.first_failing - result.max_passing <= 2
    assert result.steps <= s.step_bound()
    with pytest.raises(SearchSpecError, match="increasing"):
        SearchSpec(start=1, growth=2.0, maximum=1, precision=0.1, ladder=(10, 5))


def test_a_confirming_repeat_that_stays_inconclusive_ends_the_search():
    """repeats=2: the held level's second measurement never concludes. The search must end (not
    re-measure it forever), keep the one conclusive pass, and say the repeat did not conclude."""
    seen: dict[int, int] = {}

    def judge(p):
        seen[p.level] = seen.get(p.level, 0) + 1
        if p.phase == "confirm" and p.level < 16_000:
            return StepOutcome(INCONCLUSIVE, "straddles")
        return StepOutcome(PASS if p.level < 16_000 else FAIL)

    result = drive(capacity_search(spec(repeats=2, invalid_retries=1)), judge)
    held = result.max_passing
    assert held is not None and held < 16_000 and result.levels[held][0] == PASS
    assert result.levels[held].count(INCONCLUSIVE) == 2 and seen[held] == 3
    assert any(f"a repeat at {held}" in n and "inconclusive" in n for n in result.notes)


def test_inconclusive_retries_apart_from_invalid_ones():
    """A profile whose long extension is its retry (sweep.inconclusive_retries: 0): one inconclusive
    window makes the level unproven at once, while an invalid step still gets its re-runs."""
    def judge(p):
        if p.level == 16_000:
            return StepOutcome(INCONCLUSIVE, "straddles")
        return StepOutcome(PASS if p.level < 16_000 else FAIL)

    result = drive(capacity_search(spec(invalid_retries=2, inconclusive_retries=0)), judge)
    assert result.levels[16_000] == [INCONCLUSIVE]
    assert result.first_failing == 16_000 and result.first_failing_unproven

    tries: dict[int, int] = {}

    def flaky(p):
        tries[p.level] = tries.get(p.level, 0) + 1
        if p.level == 16_000 and tries[p.level] <= 2:
            return StepOutcome(INVALID, "machine busy")  # invalid twice, then a valid pass
        return StepOutcome(PASS if p.level <= 16_000 else FAIL)

    result = drive(capacity_search(spec(invalid_retries=2, inconclusive_retries=0)), flaky)
    assert result.levels[16_000] == [INVALID, INVALID, PASS]
    # more inconclusive re-runs than invalid ones: each kind within its own bound
    result = drive(capacity_search(spec(invalid_retries=0, inconclusive_retries=2)), judge)
    assert result.levels[16_000] == [INCONCLUSIVE] * 3
    with pytest.raises(SearchSpecError, match="inconclusive_retries"):
        spec(inconclusive_retries=-1)
    # ... and an invalid step is not re-run more often because inconclusive ones may be
    result = drive(capacity_search(spec(invalid_retries=0, inconclusive_retries=2)),
                   lambda p: StepOutcome(INVALID, "busy") if p.level == 16_000 else StepOutcome(PASS))
    assert result.levels[16_000] == [INVALID] and result.stopped
