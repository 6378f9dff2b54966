"""The verdict names the staff at the capacity, and the headroom when the sweep never failed."""

from __future__ import annotations

from reports.analysis.limiting import headroom
from reports.render.verdict import verdict

STAFFING = {"mode": "staffed", "staff": {"sales": 106, "manager": 11, "clerk": 22, "back_office": 11},
            "online": {"sales": 53, "manager": 6, "clerk": 11, "back_office": 6}}


def _entry(**kw) -> dict:
    return {"name": "p", "profile": {"slo": {"p95_ms": 500}, "hardware": {"cpus": 1}}, "staffed": True,
            "staffing": STAFFING, "search": {}, "complete": True, **kw}


def test_verdict_names_the_staff():
    v = verdict(_entry(max_customers=90_000, first_failing_customers=110_000,
                       limiting_factor={"resource": "db_cpu", "detail": "at 110000 customers: x p95 900 ms > 500 ms"}))
    assert v.startswith("On p, the system held 90,000 customers (106 salespeople, 11 managers, 22 clerks, "
                        "11 back-office staff; 76 working at once) within the SLO (p95 ≤ 500 ms); at 110,000 it failed")


def test_unbounded_sweep_says_so_with_the_headroom():
    step = {"customers": 256_000, "passed": True, "valid": True,
            "resources": {"app_cpu_pct": 35.0, "db_cpu_pct": 12.0, "app_rss_mb": 100, "db_rss_mb": 0}}
    room = headroom(step, {"hardware": {"cpus": 1}})
    # app + database together against the 1-CPU allowance (issue 12: one quota, not two halves)
    assert room["resource"] == "cpu" and room["share"] == 0.47
    v = verdict(_entry(max_customers=256_000, first_failing_customers=None, headroom=room,
                       profile={"slo": {"p95_ms": 500}, "business": "a busy order desk"}))
    assert v.startswith("On p (a busy order desk), the system held 256,000 customers (")
    assert "did not fail up to the most this sweep searched (sweep.max_customers)" in v
    assert "cpu, was at 47% of the profile's allowance" in v
