"""The maintenance window's measurement: an engine-native backup and its restore, on every engine."""

from __future__ import annotations

import pytest

from loadgen.seed import list_snapshots, seed_database
from loadgen.seed.backup import SCRATCH, measure_backup
from tests.dbs import fresh_database


def _param(backend: str):
    return pytest.param(backend, marks=[getattr(pytest.mark, backend)] if backend != "sqlite" else [], id=backend)


@pytest.mark.parametrize("backend", [_param(b) for b in ("sqlite", "postgresql", "mysql")])
def test_backup_restores_every_customer_and_leaves_no_copy(tmp_path, backend):
    with fresh_database(backend, tmp_path) as url:
        seed_database(url, 300, progress=False)
        got = measure_backup(url, tmp_path / "work")
        assert got["engine"] == backend and got["customers_restored"] == 300
        assert got["bytes"] > 300 * 100 and got["backup_s"] > 0 and got["restore_s"] > 0
        assert SCRATCH not in list_snapshots(url)
        assert list((tmp_path / "work").iterdir()) == []


def test_the_cli_prints_backup_and_restore(tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path

    db = f"sqlite:///{tmp_path / 'jxc.sqlite'}"
    seed_database(db, 100, progress=False)
    repo = Path(__file__).resolve().parents[2]
    res = subprocess.run([sys.executable, "-m", "loadgen.cli", "seed", "backup", "--db", db, "--json"],
                         capture_output=True, text=True, cwd=repo, timeout=120)
    assert res.returncode == 0, res.stderr
    got = json.loads(res.stdout)
    assert got["customers_restored"] == 100 and got["bytes"] > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["jxc.sqlite"]
