"""A level re-measured after an inconclusive window is judged on every window it got, pooled.

Near the boundary an operation's p95 sits close to its threshold, and the 95 % order-statistic
interval of a rare operation (70-150 samples in a window) rests on its few largest samples: one slow
request makes the step inconclusive. Re-running the step and judging the new window *alone* throws
the first window's samples away and asks the same small sample the same question again, so whether
the level counts as held is decided by luck (the quickstart's repeatability runs disagreed for
exactly this reason, issue 12).

The windows of one level measure the same experiment: the same book (restored from the level's
snapshot, never what an earlier window wrote), the same staff, the same profile. So a retry is judged
on the samples of all of them together — the contiguous run of inconclusive windows just before it
and its own — with the same per-operation 95 % intervals and rules as a single window
(:func:`loadgen.measure.slo.judge_operations`), at ``POOLED_CONFIDENCE`` (see below). With twice
the samples the upper bound of a p95 no longer rests on the one or two largest samples of a window.

What pooling never does:

* turn a window that failed on its own into anything else (its lower bound above the threshold is a
  failure of the level, as before); only a retry that passed or stayed inconclusive on its own is
  re-judged, and the pooled samples may make it *fail* as well as pass;
* pool across levels, across a passing confirmation (repeats stay independent confirmations), or
  with an invalid window (its samples are not a measurement).

The number of looks: the pooled judgement is a second look at the level, so its intervals are 99 %
ones (``POOLED_CONFIDENCE``), as the window's own looks after the first are. The interval of a
failure is the same kind: a pooled failure needs its 99 % lower bound above the threshold.
``bench/verdict_calibration.py`` measures the whole rule (a window with its extension, then a pooled
retry) and prints its false-pass rate at the true p95 against the 5 % the verdict promises.

step.json of the retry keeps its own window's figures and verdict (``own_verdict``) and gets
``pooled``: the windows pooled, their requests, per-operation percentiles, intervals and verdicts;
its ``verdict`` / ``passed`` / ``inconclusive_reason`` / ``fail_reason`` are then the level's
judgement on the pooled samples, which is what the search reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from loadgen.measure.percentiles import summarise_frame
from loadgen.measure.samples import read_samples
from loadgen.measure.slo import (
    EXTENSION_CONFIDENCE,
    FAIL,
    INCONCLUSIVE,
    PASS,
    inconclusive_reasons,
    judge_operations,
    slo_failures,
    step_verdict,
)

# The pooled look is a level's second look at its verdict: its intervals are 99 % ones, like the
# window's looks after the first (EXTENSION_CONFIDENCE), so that the two looks together keep the
# false-pass rate at the true p95 within the 5 % the verdict promises. bench/verdict_calibration.py:
# pooling at 95 % would reach ~5.7 %; at 99 % ~3.9 % (one window alone: ~3.6-4.4 %).
POOLED_CONFIDENCE = EXTENSION_CONFIDENCE
_COLUMNS = ["operation", "latency_ms", "outcome", "phase"]


def poolable(step: dict) -> bool:
    """A window that may join a pool: valid, inconclusive (after any pooling of its own), samples kept."""
    return bool(step.get("valid")) and step.get("verdict") == INCONCLUSIVE


def pooled_judgement(windows: Sequence[tuple[str, Path, float]], slo: Any) -> dict | None:
    """The level's judgement on the pooled samples of ``windows`` (``(name, step_dir, measured_s)``,
    oldest first), or None when a window's samples file is missing (nothing to pool).

    The percentiles and intervals are those of one window holding all the samples (the windows'
    measured seconds add up to its length)."""
    frames = []
    for _name, step_dir, _measured in windows:
        path = Path(step_dir) / "samples.parquet"
        if not path.is_file():
            return None
        frames.append(read_samples(path, columns=_COLUMNS))
    df = pd.concat(frames, ignore_index=True)
    for col in ("operation", "outcome", "phase"):
        df[col] = df[col].astype(str)
    measured_s = float(sum(m for _n, _d, m in windows))
    fig = summarise_frame(df, measured_s, confidence=POOLED_CONFIDENCE)
    failures = slo_failures(fig, slo, POOLED_CONFIDENCE)
    verdicts, unjudged = judge_operations(fig["operations"], slo, POOLED_CONFIDENCE)
    verdict = step_verdict(verdicts, unjudged, failures)
    operations = {name: {"requests": op["requests"], "p95_ms": op["p95_ms"], "p95_ci_ms": op["p95_ci_ms"],
                         "p99_ms": op["p99_ms"], "p99_ci_ms": op["p99_ci_ms"], "verdict": verdicts[name]["verdict"]}
                  for name, op in fig["operations"].items()}
    reason = None
    if verdict == INCONCLUSIVE:
        reason = (f"pooled over {len(windows)} windows ({measured_s:g} s, {fig['requests']} requests): "
                  + "; ".join(inconclusive_reasons(fig, slo, unjudged, POOLED_CONFIDENCE)))
    return {
        "windows": [name for name, _d, _m in windows],
        "confidence": POOLED_CONFIDENCE,
        "measured_s": round(measured_s, 3),
        "requests": fig["requests"],
        "error_rate": fig["error_rate"],
        "verdict": verdict,
        "failures": failures,
        "inconclusive_reason": reason,
        "unjudged_operations": unjudged,
        "operations": operations,
    }


def apply_pooled(step: dict, pooled: dict) -> dict:
    """``step`` with its verdict replaced by the pooled one (see the module docstring); its own
    window's verdict kept as ``own_verdict``. A window that failed on its own is left alone."""
    own = step.get("verdict")
    if not step.get("valid") or own not in (PASS, INCONCLUSIVE):
        return step
    out = dict(step)
    out["own_verdict"] = own
    out["pooled"] = pooled
    out["verdict"] = pooled["verdict"]
    out["passed"] = pooled["verdict"] == PASS
    out["inconclusive_reason"] = pooled["inconclusive_reason"]
    if pooled["verdict"] == FAIL:
        out["fail_reason"] = f"pooled over {len(pooled['windows'])} windows: " + "; ".join(pooled["failures"])
    return out


__all__ = ["apply_pooled", "poolable", "pooled_judgement"]
