"""``jxcbench chaos``: faults injected into a real system under a real load; nothing acknowledged may
be lost and the audit must be clean. Short versions (a few seconds of load per fault).

The SQLite run needs nothing but this machine; the managed PostgreSQL run needs root and the server
binaries: skipped with the reason outside CI, failed in CI (as every test of a managed server).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from loadgen.errors import JxcError
from profiles.loader import ProfileError, load_profile
from tests.dbs import in_ci

REPO = Path(__file__).resolve().parents[2]


def _profile(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / f"{name}.yaml"
    p.write_text(text)
    return p


def _cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "120"}
    return subprocess.run([sys.executable, "-m", "loadgen.cli", *args], capture_output=True, text=True, check=False,
                          timeout=timeout, env=env, cwd=REPO)


def _need_managed(engine: str = "postgresql") -> None:
    from loadgen.sut.managed_mysql import find_binaries
    from loadgen.sut.managed_postgres import find_bindir

    reason = None
    if os.geteuid() != 0:
        reason = "needs root (the managed server runs as an unprivileged user we switch to)"
    else:
        try:
            find_bindir() if engine == "postgresql" else find_binaries()
        except JxcError as exc:
            reason = f"no {engine} server binaries: {exc}"
    if reason:
        if in_ci():
            pytest.fail(f"CI requires it: {reason}", pytrace=False)
        pytest.skip(reason)


def test_sqlite_worker_killed_under_load_loses_nothing(tmp_path):
    prof = _profile(tmp_path, "sq-chaos", "database: {engine: sqlite}\narchitecture: {workers: 2}\n"
                                          "workload: {customer_quota: 100}\n"
                                          "faults: {kinds: [kill_worker, db_pause], gap: 2s}\n")
    r = _cli("chaos", str(prof), "--customers", "300", "--json")
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout)
    kill, pause = out["faults"]
    assert kill["fault"] == "kill_worker" and kill["applicable"] and kill["recovered"]
    assert 0 <= kill["recover_s"] < 10 and kill["requests"] > 0
    # A server that does not exist cannot be paused: said, not measured.
    assert not pause["applicable"] and "sqlite" in pause["reason"]
    assert out["acknowledged"]["sales_order"] > 0 and out["acknowledged"]["payment"] > 0
    assert out["missing_total"] == 0 and out["audit"]["ok"] and out["ok"]
    assert "acknowledged:" in r.stderr and "missing: 0" in r.stderr and "kill_worker" in r.stderr


def test_managed_postgres_killed_and_paused_under_load_loses_nothing(tmp_path):
    _need_managed()
    from loadgen.chaos.run import run_chaos

    prof = load_profile(_profile(tmp_path, "pg-chaos", "database: {engine: postgresql, settings: {shared_buffers: 32MB}}\n"
                                                       "architecture: {workers: 2}\nworkload: {customer_quota: 100}\n"
                                                       "faults: {kinds: [db_restart, db_pause], gap: 1500ms, pause: 2s}\n"))
    out = run_chaos(prof, 300)
    restart, pause = out["faults"]
    assert restart["applicable"] and restart["recovered"], restart
    # The server was down: requests failed in between, and success came back only after it was up.
    assert restart["failed"] > 0 and restart["recover_s"] >= restart["fault_s"] * 0.5
    assert pause["applicable"] and pause["recovered"]
    assert pause["recover_s"] >= 2.0 * 0.9  # nothing can be answered while every server process is stopped
    assert out["acknowledged_total"] > 0 and out["missing_total"] == 0 and out["audit"]["ok"] and out["ok"]


def test_managed_mariadb_killed_and_restarted_under_load_loses_nothing(tmp_path):
    """InnoDB's crash recovery after a SIGKILL of mariadbd (the stale socket removed, the server
    started again on the same datadir): every acknowledged order and payment is still there."""
    _need_managed("mysql")
    from loadgen.chaos.run import run_chaos

    prof = load_profile(_profile(tmp_path, "my-chaos", "database: {engine: mysql}\narchitecture: {workers: 2}\n"
                                                       "workload: {customer_quota: 100}\n"
                                                       "faults: {kinds: [db_restart], gap: 1500ms}\n"))
    out = run_chaos(prof, 300)
    (restart,) = out["faults"]
    assert restart["applicable"] and restart["recovered"], restart
    assert restart["failed"] > 0 and restart["recover_s"] >= restart["fault_s"] * 0.5
    assert out["acknowledged_total"] > 0 and out["missing_total"] == 0 and out["audit"]["ok"] and out["ok"]


def test_the_check_finds_an_acknowledged_document_that_is_not_there(tmp_path):
    """The lookup behind "missing: 0" can say otherwise: of a seeded book's real documents and ids
    past its last ones, exactly the latter are named."""
    from sqlalchemy import func, select

    from loadgen.chaos.run import missing_documents
    from loadgen.seed import seed_database
    from reference_app.db import make_engine
    from reference_app.models import Payment, SalesOrder

    url = f"sqlite:///{tmp_path / 'book.sqlite'}"
    seed_database(url, 200, customer_quota=100)
    eng = make_engine(url)
    with eng.connect() as c:
        last_order = c.execute(select(func.max(SalesOrder.id))).scalar_one()
        last_payment = c.execute(select(func.max(Payment.id))).scalar_one()
    eng.dispose()
    assert last_order and last_payment, "the seeded book has a history of orders and payments"
    acked = {"sales_order": [1, last_order, last_order + 1], "payment": [last_payment, last_payment + 9]}
    assert missing_documents(url, acked) == {"sales_order": [last_order + 1], "payment": [last_payment + 9]}


@pytest.mark.parametrize(("text", "field", "value"), [
    ("faults: {kinds: [kill_worker, unplug_the_moon]}", "faults.kinds", "unplug_the_moon"),
    ("faults: {pause: 3 fortnights}", "faults.pause", "3 fortnights"),
    ("faults: {gap: -2s}", "faults.gap", "-2s"),
    ("maintenance: {backup_window: one hour}", "maintenance.backup_window", "one hour"),
    ("maintenance: {backup_window: 0s}", "maintenance.backup_window", "0s"),
])
def test_bad_faults_and_maintenance_name_file_field_and_value(tmp_path, text, field, value):
    p = _profile(tmp_path, "bad", text + "\n")
    with pytest.raises(ProfileError) as err:
        load_profile(p)
    msg = str(err.value)
    assert "bad.yaml" in msg and field in msg and value in msg, msg


def test_durations_parse(tmp_path):
    p = _profile(tmp_path, "ok", "maintenance: {backup_window: 1h}\nfaults: {pause: 90s, gap: 1.5m}\n")
    prof = load_profile(p)
    assert prof.maintenance.backup_window == 3600 and prof.faults.pause == 90 and prof.faults.gap == 90
    assert load_profile(_profile(tmp_path, "m", "maintenance: {backup_window: 30m}\n")).maintenance.backup_window == 1800
