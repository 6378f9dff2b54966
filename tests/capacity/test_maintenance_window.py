"""The maintenance window: every level of a search measures an engine-native backup and restore of
its clean book (real SQLite and, where the server is up, real PostgreSQL), and the report turns them
into a limit of its own (measured, or projected and labelled so)."""

from __future__ import annotations

import pytest

from loadgen.capacity.levels import LevelledSystem
from profiles.schema import Profile
from reports.analysis.maintenance import limits_capacity, maintenance_window
from reports.render import maintenance as render


def _profile(database: dict, maintenance: dict | None = None) -> Profile:
    return Profile.model_validate({
        "name": "window", "database": database, "architecture": {"kind": "monolith", "workers": 1},
        "workload": {"operators": 2}, "maintenance": maintenance or {"backup_window": "1h"},
    })


def _entry(system: LevelledSystem, window_s: float | None, **extra) -> dict:
    """A capacity.json entry whose steps carry what the levels measured (as the sweep writes it)."""
    steps = [{"customers": n, "search": "customers", "valid": True, "backup": b} for n, b in system.backups.items()]
    return {"name": "window", "profile": {"maintenance": {"backup_window": window_s}}, "steps": steps, **extra}


def test_each_level_backs_up_and_restores_its_book(tmp_path):
    with LevelledSystem(_profile({"engine": "sqlite", "url": f"sqlite:///{tmp_path / 'b.sqlite'}"})) as system:
        for n in (300, 900, 300):
            system.move_to(n)
        backups = dict(system.backups)
    assert sorted(backups) == [300, 900]  # once per level: the clean seeded book, not again on return
    for n, b in backups.items():
        assert b["customers_restored"] == n and b["backup_s"] > 0 and b["restore_s"] > 0
        assert b["window_s"] == 3600 and b["fits_window"] is True and "backup API" in b["tool"]
    assert backups[900]["bytes"] > backups[300]["bytes"]
    assert not list(tmp_path.glob("*.snap-bk*"))  # the scratch restore is gone


def test_window_exceeded_is_measured_or_projected(tmp_path):
    with LevelledSystem(_profile({"engine": "sqlite", "url": f"sqlite:///{tmp_path / 'b.sqlite'}"})) as system:
        for n in (300, 600, 1200):
            system.move_to(n)
        times = {n: b["backup_s"] for n, b in system.backups.items()}
        # A window shorter than the largest level's backup: exceeded, measured, at the first level over it.
        window = max(times.values()) * 0.999
        over = _entry(system, window, max_customers=1200, first_failing_customers=None)
        mw = maintenance_window(over)
        assert mw["measured"] and not mw["projected"]
        assert mw["exceeded_at"] == min(n for n, s in times.items() if s > window)
        assert limits_capacity(over, mw)  # below the capacity the latency allowed: it is what limits
        text = "\n".join(render.markdown({**over, "maintenance": None}))
        assert f"at {mw['exceeded_at']:,} customers (measured)" in text and "limiting factor" in text
        assert f"{mw['exceeded_at']:,} customers (measured)" in "".join(render.html_section(over))
        zh = "\n".join(render.markdown({**over, "maintenance": None}, "zh"))  # the Chinese report says it in Chinese
        assert f"在 {mw['exceeded_at']:,} 个客户时备份超出" in zh and "限制因素" in zh and "备份大小" in zh
        # A generous window: not exceeded where measured; any crossing is beyond it, and labelled projected.
        roomy = maintenance_window(_entry(system, max(times.values()) * 50))
        assert not roomy["measured"] and roomy["fits_up_to"] == 1200
        if roomy["exceeded_at"] is not None:
            assert roomy["projected"] and roomy["exceeded_at"] > 1200 and roomy["model"]
            assert "(projected:" in render.headline(roomy)


def test_projection_reaches_the_window_where_the_growth_does():
    """The fit behind "projected": backup time growing linearly with customers reaches the window
    where the line does (the analysis on its own, from results rows)."""
    per_customer, fixed = 0.002, 0.5
    levels = [1000, 2000, 4000, 8000]
    steps = [{"customers": n, "backup": {"backup_s": fixed + per_customer * n * (1 + 0.01 * (i % 2)),
                                        "restore_s": 1.0, "bytes": n * 100, "tool": "t"}}
             for i, n in enumerate(levels)]
    window = 3600.0
    mw = maintenance_window({"profile": {"maintenance": {"backup_window": window}}, "steps": steps})
    expected = (window - fixed) / per_customer
    assert mw["projected"] and not mw["measured"]
    assert abs(mw["exceeded_at"] - expected) / expected < 0.05


def test_managed_postgres_level_uses_pg_dump(tmp_path):
    import os

    from loadgen.errors import JxcError
    from loadgen.sut.managed_postgres import find_bindir
    from tests.dbs import in_ci

    reason = None
    if os.geteuid() != 0:
        reason = "needs root for a managed PostgreSQL"
    else:
        try:
            find_bindir()
        except JxcError as exc:
            reason = str(exc)
    if reason:
        if in_ci():
            pytest.fail(f"CI requires it: {reason}", pytrace=False)
        pytest.skip(reason)
    with LevelledSystem(_profile({"engine": "postgresql", "settings": {"shared_buffers": "32MB"}})) as system:
        system.move_to(300)
        b = system.backups[300]
    assert b["customers_restored"] == 300 and "pg_dump" in b["tool"] and b["bytes"] > 0 and b["fits_window"]
