"""LevelledSystem: one system for a profile's steps, its book grown in place and taken back through
snapshots (real SQLite, real seeder, real steps)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine, text

from loadgen.errors import JxcError
from loadgen.capacity.levels import LevelledSystem
from profiles.schema import Profile


def _profile(**database) -> Profile:
    return Profile.model_validate({
        "name": "levels", "database": {"engine": "sqlite", **database},
        "architecture": {"kind": "monolith", "workers": 1},
        "workload": {"operators": 4, "think_time_s": [0.0, 0.02], "mix": {"sales": 0.75, "manager": 0.25}},
        "slo": {"p95_ms": 5000, "p99_ms": 10000, "error_rate": 0.05},
    })


def _customers(db_url: str) -> int:
    eng = create_engine(db_url)
    try:
        with eng.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM customers")).scalar_one()
    finally:
        eng.dispose()


def test_grows_in_place_and_goes_back_through_snapshots(tmp_path):
    db = tmp_path / "book.sqlite"
    with LevelledSystem(_profile(url=f"sqlite:///{db}")) as system:
        url = f"sqlite:///{db}"
        moves = [system.move_to(n) for n in (300, 1200, 600, 600, 1500)]
        assert [m["from"] for m in moves] == ["seeded", "grown", "restored", "grown", "restored"]
        # back to 600: from the 300 snapshot, then grown; 600 again (nothing measured) is already
        # there; up to 1500 starts from the 1200 snapshot rather than growing 600 -> 1500
        assert moves[2]["snapshot"] == "l300" and "seed_s" in moves[2]
        assert "seed_s" not in moves[3] and "restore_s" not in moves[3]
        assert moves[4]["snapshot"] == "l1200"
        assert _customers(url) == 1500
        system.move_to(600)
        assert _customers(url) == 600
        assert sorted(system.snapshots) == [300, 600, 1200, 1500]
    # an external database file is the user's: it stays, our snapshots do not
    assert db.exists() and not list(tmp_path.glob("book.sqlite.snap-*"))


def test_an_external_database_is_not_emptied_to_go_below_its_first_level(tmp_path):
    with LevelledSystem(_profile(url=f"sqlite:///{tmp_path / 'b.sqlite'}")) as system:
        system.move_to(400)
        with pytest.raises(JxcError, match="no snapshot at or below it .*did not create"):
            system.move_to(200)
        assert _customers(f"sqlite:///{tmp_path / 'b.sqlite'}") == 400  # untouched


def test_a_resumed_search_below_its_first_level_gets_a_fresh_book(tmp_path):
    """A resumed sweep's system starts at the level its record asks for first; the search may then
    bisect below it (measured or not). A system of our own is replaced and the book seeded from
    nothing, and the step says so."""
    with LevelledSystem(_profile()) as system:
        system.move_to(400)
        first, first_dir = system._sut, system._sut.workdir
        system.measured = True  # a step ran on it
        book = system.move_to(200)
        assert book["from"] == "seeded" and "below every level" in book["rebuilt"], book
        assert system._sut is not first and not first_dir.exists()
        assert system.level == 200 and list(system.snapshots) == [200]
        assert _customers(system._sut.db_url) == 200
        assert system.move_to(100)["from"] == "seeded"  # not measured, but still below: the same way
        assert _customers(system._sut.db_url) == 100


@pytest.mark.slow
def test_every_step_measures_a_clean_book_whatever_the_path(tmp_path):
    """After a step, its operators' writes are gone before the next: a repeat starts from the same
    snapshot, and a larger level is grown from a clean snapshot, not from the measured book."""
    profile = _profile()
    with LevelledSystem(profile) as system:
        first = system(profile, customers=300, duration_s=3.0, warmup_s=1.0, out_dir=tmp_path / "a", min_requests=50)
        workdir = system._sut.workdir
        repeat = system(profile, customers=300, duration_s=3.0, warmup_s=1.0, out_dir=tmp_path / "b", min_requests=50)
        assert _customers(system._sut.db_url) > 300  # the repeat's operators created customers ...
        up = system.move_to(600)
        assert _customers(system._sut.db_url) == 600  # ... and the next level does not hold them
    assert first["book"]["from"] == "seeded"
    assert repeat["book"]["from"] == "restored" and repeat["book"]["snapshot"] == "l300"
    assert up["from"] == "restored" and up["snapshot"] == "l300" and "seed_s" in up
    assert first["requests"] > 0 and repeat["requests"] > 0 and repeat["audit"]["ok"]
    assert json.loads((tmp_path / "b" / "step.json").read_text())["book"]["from"] == "restored"
    assert not workdir.exists()  # the system and its snapshots are gone with it


def test_a_managed_database_that_died_is_rebuilt_and_its_book_seeded_again(tmp_path):
    """A failed level can take the managed server with it (the OOM killer took MariaDB at 120,000
    customers in 512 MiB): the next level gets a new system and a book seeded from nothing, and says
    so, instead of a restore into a server that is gone."""
    import os
    import signal
    import time

    from tests.dbs import in_ci

    if os.geteuid() != 0:  # a managed server runs as its own user
        (pytest.fail if in_ci() else pytest.skip)("a managed server needs root")
    profile = Profile.model_validate({**_profile().model_dump(mode="json"),
                                      "database": {"engine": "postgresql", "managed": True,
                                                   "settings": {"shared_buffers": "32MB"}}})
    with LevelledSystem(profile) as system:
        system.move_to(400)
        system.measured = True  # a step ran on it
        sut = system._sut
        os.kill(sut.db_pids()[0], signal.SIGKILL)  # the postmaster, as the OOM killer would
        deadline = time.monotonic() + 20
        while sut.database_answers() and time.monotonic() < deadline:
            time.sleep(0.2)
        book = system.move_to(200)
        assert "rebuilt" in book and book["from"] == "seeded", book
        assert system._sut is not sut and system.level == 200 and list(system.snapshots) == [200]
        assert _customers(system._sut.db_url) == 200
        assert "server_restart_s" not in book  # PostgreSQL's backends gave their memory back on their own


def test_a_managed_mariadb_is_restarted_once_its_book_is_written(tmp_path, monkeypatch):
    """MariaDB's one process keeps much of what the seeder's bulk load freed; a step's memory limit
    would count it against the load. After every move the server is restarted cleanly: a new
    process, the same book, and less memory held than right after the load."""
    import os

    import psutil

    from loadgen.sut.managed_mysql import ManagedMySQL
    from tests.dbs import in_ci

    if os.geteuid() != 0:  # a managed server runs as its own user
        (pytest.fail if in_ci() else pytest.skip)("a managed server needs root")
    held: list[tuple[int, int]] = []  # (USS before, USS after) each restart
    restart = ManagedMySQL.restart

    def measured_restart(self, **kw):
        before = psutil.Process(self.pid).memory_full_info().uss
        seconds = restart(self, **kw)
        held.append((before, psutil.Process(self.pid).memory_full_info().uss))
        return seconds

    monkeypatch.setattr(ManagedMySQL, "restart", measured_restart)
    profile = Profile.model_validate({**_profile().model_dump(mode="json"),
                                      "database": {"engine": "mysql", "managed": True,
                                                   "settings": {"innodb_buffer_pool_size": "32M"}}})
    with LevelledSystem(profile) as system:
        first = system.move_to(20000)
        pid = system._sut.db_pids()[0]
        grown = system.move_to(30000)
        assert system._sut.db_pids()[0] != pid  # a new server process on the same datadir ...
        assert _customers(system._sut.db_url) == 30000  # ... holding the whole book
        system.measured = True
        back = system.move_to(20000)
        assert _customers(system._sut.db_url) == 20000
    assert all(m["server_restart_s"] > 0 for m in (first, grown, back)), (first, grown, back)
    assert [m["from"] for m in (first, grown, back)] == ["seeded", "grown", "restored"]
    assert len(held) == 3
    before, after = held[0]
    assert after < before, f"USS {before >> 20} MiB after seeding 20,000 customers, {after >> 20} MiB after the restart"
