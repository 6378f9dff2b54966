"""One chaos run: bring the profile's system up at N customers, put the chaos load on it, inject the
profile's faults one after the other, then check what was promised.

Timeline: ``gap`` of undisturbed load (the baseline), then for each fault: inject, wait until the
load sees a success again (or ``recover_within`` passes), ``gap`` more load; then stop the load.
Per fault it records the *error burst* (failed requests that ended from the fault's start until the
next fault, and the time from the first to the last of them) and the *time to recover*: from the
fault's start until the first request sent after it succeeded.

Afterwards, with the app stopped and the database still up: every sales order and payment the load
saw acknowledged must exist (looked up by id), and the reference app's audit must find no
violation. ``ok`` is false when either does not hold, or a fault never recovered.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from loadgen.chaos.faults import FAULTS, NotApplicable
from loadgen.chaos.load import ChaosLoad, Outcome

OPERATORS = 4
"""Chaos load threads: enough to keep writes in flight on every worker, few enough for a 2-core box."""


def _recovered_at(outcomes: list[Outcome], since: float) -> float | None:
    """End time of the first success among requests *sent* at or after ``since``."""
    ends = [o.end for o in outcomes if o.ok and o.start >= since]
    return min(ends) if ends else None


def _wait_recovered(load: ChaosLoad, since: float, within: float) -> float | None:
    deadline = since + within
    while time.monotonic() < deadline:
        at = _recovered_at(load.snapshot(), since)
        if at is not None:
            return at
        time.sleep(0.05)
    return None


def burst(outcomes: list[Outcome], begin: float, until: float) -> dict[str, Any]:
    """The failed requests that ended in [begin, until): how many, and first-to-last in seconds."""
    failed = sorted(o.end for o in outcomes if o.failed and begin <= o.end < until)
    return {"failed": len(failed), "burst_s": round(failed[-1] - failed[0], 3) if failed else 0.0,
            "requests": sum(1 for o in outcomes if begin <= o.end < until)}


def missing_documents(db_url: str, acked: dict[str, list[int]]) -> dict[str, list[int]]:
    """The acknowledged ids that the database does not hold, per kind."""
    from sqlalchemy import select

    from reference_app.db import make_engine
    from reference_app.models import Payment, SalesOrder

    tables = {"sales_order": SalesOrder, "payment": Payment}
    eng = make_engine(db_url, pool_size=1, max_overflow=0)
    out: dict[str, list[int]] = {}
    try:
        with eng.connect() as conn:
            for kind, ids in acked.items():
                model, found = tables[kind], set()
                for i in range(0, len(ids), 1000):  # bounded IN lists
                    chunk = ids[i:i + 1000]
                    found.update(conn.execute(select(model.id).where(model.id.in_(chunk))).scalars())
                out[kind] = sorted(set(ids) - found)
    finally:
        eng.dispose()
    return out


def run_audit(db_url: str) -> dict[str, Any]:
    from reference_app.audit import audit
    from reference_app.db import make_engine

    eng = make_engine(db_url, pool_size=1, max_overflow=0)
    try:
        return audit(eng).as_dict()
    finally:
        eng.dispose()


def run_chaos(profile: Any, customers: int, *, unconstrained: bool = False,
              on_stage: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Bring up, load, inject, check (see the module docstring); the result as a plain dict."""
    from loadgen.capacity.book import read_book
    from loadgen.sut.launcher import SystemUnderTest
    from loadgen.synth import LOADTEST_PASSWORD

    say = on_stage or (lambda _text: None)
    cfg = profile.faults
    with SystemUnderTest(profile, unconstrained=unconstrained) as sut:
        say(f"seeding {customers:,} customers")
        sut.seed(customers)
        say("starting the app")
        sut.start_app()
        book = read_book(sut.db_url)
        sales = book["operators"].get("sales") or []
        if not sales:
            from loadgen.errors import JxcError

            raise JxcError(f"--customers {customers}: the book has no salesperson to write orders", exit_code=2)
        load = ChaosLoad(sut.base_url, (sales * OPERATORS)[:OPERATORS], LOADTEST_PASSWORD,
                         book["product_ids"], book["warehouse_ids"])
        t0 = time.monotonic()
        load.start()
        rows: list[dict[str, Any]] = []
        try:
            say(f"baseline load ({cfg.gap:g} s)")
            time.sleep(cfg.gap)
            for kind in cfg.kinds:
                say(f"fault: {kind}")
                row: dict[str, Any] = {"fault": kind}
                try:
                    inj = FAULTS[kind](sut, cfg)
                except NotApplicable as exc:
                    rows.append({**row, "applicable": False, "reason": str(exc)})
                    continue
                at = _wait_recovered(load, inj.began, cfg.recover_within)
                row.update(applicable=True, detail=inj.detail, at_s=round(inj.began - t0, 3),
                           fault_s=round(inj.ended - inj.began, 3),
                           recovered=at is not None, recover_s=round(at - inj.began, 3) if at is not None else None)
                rows.append(row)
                row["_began"] = inj.began
                time.sleep(cfg.gap)
        finally:
            load.stop()
        t_end = time.monotonic()
        outcomes = load.snapshot()
        injected = [r for r in rows if r.get("applicable")]
        for i, r in enumerate(injected):
            until = injected[i + 1]["_began"] if i + 1 < len(injected) else t_end
            r.update(burst(outcomes, r.pop("_began"), until))
        first = min((r["at_s"] for r in injected), default=None)
        baseline = burst(outcomes, t0, t0 + first if first is not None else t_end)
        say("checking acknowledged documents and the audit")
        sut.stop_app()  # nothing writes while we look
        missing = missing_documents(sut.db_url, load.acked)
        audit = run_audit(sut.db_url)
        system = sut.describe()
    acked = {k: len(v) for k, v in load.acked.items()}
    lost = sum(len(v) for v in missing.values())
    unrecovered = [r["fault"] for r in injected if not r["recovered"]]
    return {
        "schema": 1, "profile": profile.name, "customers": customers, "system": system,
        "duration_s": round(t_end - t0, 3), "requests": len(outcomes),
        "failed": sum(1 for o in outcomes if o.failed), "baseline": baseline, "faults": rows,
        "acknowledged": acked, "acknowledged_total": sum(acked.values()),
        "missing": missing, "missing_total": lost, "audit": audit,
        "unrecovered": unrecovered,
        "ok": lost == 0 and audit["ok"] and not unrecovered and sum(acked.values()) > 0,
    }


__all__ = ["OPERATORS", "burst", "missing_documents", "run_audit", "run_chaos"]
