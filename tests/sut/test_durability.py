"""Same durability everywhere by default; a profile may relax it; the step says which it ran with."""

from __future__ import annotations

import pytest

from loadgen.sut import durability as D
from loadgen.sut.launcher import SystemUnderTest
from profiles.schema import Profile


def test_levels_and_settings_win():
    assert D.effective("sqlite", "full", {})["level"] == "full"
    assert D.merged("sqlite", "full", {}) == {"synchronous": "FULL"}
    relaxed = D.effective("sqlite", "relaxed", {"cache_size": -65536})
    assert relaxed["level"] == "relaxed" and relaxed["relaxed_by"] == ["synchronous"]
    # the profile's own settings win over the level, and the level is judged from what results
    assert D.effective("postgresql", "full", {"fsync": "off"})["relaxed_by"] == ["fsync"]
    assert D.effective("mysql", "full", {"innodb_flush_log_at_trx_commit": 2})["level"] == "relaxed"
    assert D.effective("mysql", "relaxed", {"innodb_flush_log_at_trx_commit": 1})["level"] == "full"
    assert D.merged("postgresql", "relaxed", {})["synchronous_commit"] == "off"


def test_profile_field_is_checked():
    assert Profile.model_validate({}).database.durability == "full"
    with pytest.raises(ValueError, match="durability"):
        Profile.model_validate({"database": {"durability": "fast"}})


@pytest.mark.parametrize("level,pragma", [("full", "synchronous=FULL"), ("relaxed", "synchronous=NORMAL")])
def test_the_app_runs_sqlite_with_the_profile_s_synchronous(tmp_path, level, pragma):
    import psutil

    profile = Profile.model_validate({"name": f"d{level}", "database": {"engine": "sqlite", "durability": level},
                                      "architecture": {"workers": 1}})
    with SystemUnderTest(profile, run_dir=tmp_path) as sut:
        sut.seed(200)
        sut.start_app()
        desc = sut.describe()["database"]["durability"]
        assert desc["level"] == level and desc["source"] == "profile"
        # what the app's workers were handed (reference_app.db runs it on every connection)
        env = psutil.Process(sut.app_pids()[-1]).environ()
        assert env["JXC_SQLITE_PRAGMAS"] == pragma


def test_the_app_default_is_full(tmp_path):
    from reference_app.db import make_engine

    eng = make_engine(f"sqlite:///{tmp_path / 'x.sqlite'}")
    with eng.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    eng.dispose()


@pytest.mark.postgresql
def test_a_managed_postgresql_reports_its_durability(tmp_path):
    from loadgen.sut.managed_postgres import ManagedPostgres

    with ManagedPostgres(D.merged("postgresql", "relaxed", {})) as pg:
        live = D.read_live(pg.url)
    assert live["level"] == "relaxed" and live["settings"]["synchronous_commit"] == "off", live
    with ManagedPostgres(D.merged("postgresql", "full", {})) as pg:
        assert D.read_live(pg.url)["level"] == "full"


@pytest.mark.mysql
def test_a_mariadb_server_reports_its_durability():
    from tests.dbs import require_server

    live = D.read_live(require_server("mysql").render_as_string(hide_password=False))
    assert live["source"] == "server" and live["settings"]["innodb_flush_log_at_trx_commit"] in ("1", "2", "0"), live
