"""Settle before measuring: analyse, checkpoint, wait (bounded) until the database's I/O is quiet."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time

import pytest

from loadgen.seed import seed_database
from loadgen.seed.settle import settle

# Writes and fsyncs 4 MiB every 50 ms: ~80 MiB/s of I/O for as long as it lives.
WRITER = ("import os, sys, time\nfd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT)\nb = os.urandom(4 << 20)\n"
          "while True:\n    os.pwrite(fd, b, 0)\n    os.fsync(fd)\n    time.sleep(0.05)\n")


def test_sqlite_is_analysed_checkpointed_and_quiet(tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    seed_database(url, 300, progress=False)
    con = sqlite3.connect(tmp_path / "db.sqlite")  # keeps the WAL from being removed at close
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE IF NOT EXISTS scratch (x)")
    con.execute("INSERT INTO scratch VALUES (1)")
    con.commit()
    assert os.path.getsize(tmp_path / "db.sqlite-wal") > 0
    out = settle(url)
    assert out["quiet"] and out["statements"] == ["ANALYZE", "PRAGMA wal_checkpoint(TRUNCATE)"], out
    assert not out["failed"] and out["settle_s"] < 30
    assert os.path.getsize(tmp_path / "db.sqlite-wal") == 0  # folded back into the database file
    assert con.execute("SELECT count(*) FROM sqlite_stat1").fetchone()[0] > 0
    con.close()


@pytest.mark.slow
def test_the_wait_is_for_quiet_io_and_bounded(tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    seed_database(url, 50, progress=False, history=False)
    busy = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path / "io.bin")])
    try:
        time.sleep(0.3)
        t0 = time.monotonic()
        out = settle(url, io_pids=lambda: [busy.pid], max_s=3.0)
        took = time.monotonic() - t0
    finally:
        busy.kill()
        busy.wait()
    assert out["quiet"] is False and out["io_bytes_per_s"] > 1 << 20, out
    assert 3.0 <= took < 6.0
    idle = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        out = settle(url, io_pids=lambda: [idle.pid], max_s=10.0, quiet_for_s=1.0)
    finally:
        idle.kill()
        idle.wait()
    assert out["quiet"] is True and out["settle_s"] < 5.0, out


@pytest.mark.postgresql
def test_a_managed_postgresql_is_checkpointed(tmp_path):
    from loadgen.sut.managed_postgres import ManagedPostgres

    with ManagedPostgres() as pg:
        seed_database(pg.url, 300, progress=False)
        import psutil

        out = settle(pg.url, io_pids=lambda: [pg.pid] + [c.pid for c in psutil.Process(pg.pid).children()])
    assert out["statements"] == ["ANALYZE", "CHECKPOINT"] and not out["failed"], out
    assert out["io"].startswith("database server processes") and out["settle_s"] <= 31
