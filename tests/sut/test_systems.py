"""A managed PostgreSQL / MariaDB plus the app, inside one cgroup; up, checked, and gone afterwards.

One bring-up per engine (startup costs seconds): each test brings its system up, checks limits as
the kernel reports them, membership of the DB server and app workers, a query, /healthz, then tears
it down and checks that no process, cgroup directory or temp directory is left.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import psutil
import pytest
from sqlalchemy import create_engine, text

from loadgen.errors import JxcError
from loadgen.sut import cgroups as cg
from loadgen.sut.launcher import SystemUnderTest
from profiles.loader import load_profile
from tests.sut.conftest import write_profile

MiB = 1024**2

PROFILES = {
    "postgresql": "hardware: {cpus: 1, memory: 512MiB}\n"
                  "database: {engine: postgresql, settings: {shared_buffers: 32MB, max_connections: 40}}\n"
                  "architecture: {workers: 2}\n",
    "mysql": "hardware: {cpus: 1, memory: 512MiB}\n"
             "database: {engine: mysql, settings: {innodb_buffer_pool_size: 32M, max_connections: 40}}\n"
             "architecture: {workers: 2}\n",
}


def _cgroup_procs(paths: list[Path]) -> set[int]:
    out: set[int] = set()
    for d in paths:
        out.update(int(x) for x in (d / "cgroup.procs").read_text().split())
    return out


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.parametrize("engine", ["postgresql", "mysql"])
def test_managed_system_inside_cgroup_and_gone_afterwards(cgroups_writable, tmp_path, engine):
    profile = load_profile(write_profile(tmp_path, f"{engine}-small", PROFILES[engine]))
    with SystemUnderTest(profile) as sut:
        g = sut.cgroup
        dirs = list(dict.fromkeys(g.dirs.values()))
        # limits read straight from the kernel's files
        if g.version == 1:
            cpu, mem = g.dirs["cpu"], g.dirs["memory"]
            assert int((cpu / "cpu.cfs_quota_us").read_text()) / int((cpu / "cpu.cfs_period_us").read_text()) == 1.0
            assert int((mem / "memory.limit_in_bytes").read_text()) == 512 * MiB
        else:
            q, p = (g.dirs["cpu"] / "cpu.max").read_text().split()
            assert int(q) / int(p) == 1.0
            assert int((g.dirs["memory"] / "memory.max").read_text()) == 512 * MiB
        assert sut.limits["mode"].startswith("cgroup v") and sut.limits["memory"] == 512 * MiB
        db_pid = sut._db.pid
        db_tmp = sut._db.tmpdir
        assert db_pid in _cgroup_procs(dirs)
        assert db_tmp.is_dir()
        eng = create_engine(sut.db_url)
        with eng.connect() as conn:
            assert conn.execute(text("SELECT 1 + 1")).scalar() == 2
            if engine == "postgresql":
                assert conn.execute(text("SHOW shared_buffers")).scalar() == "32MB"
                assert conn.execute(text("SHOW lc_ctype")).scalar() == "C.UTF-8"
            else:
                assert conn.execute(text("SELECT @@innodb_buffer_pool_size")).scalar() == 32 * MiB
                assert conn.execute(text("SELECT @@character_set_server")).scalar() == "utf8mb4"
        eng.dispose()
        sut.seed(30)
        sut.start_app()
        assert httpx.get(f"{sut.base_url}/healthz", timeout=10).json() == {"status": "ok"}
        app_pids, db_pids = sut.app_pids(), sut.db_pids()
        assert len(app_pids) >= 3  # supervisor + 2 workers
        assert set(app_pids) | set(db_pids) <= _cgroup_procs(dirs)
        assert sut.healthy()
        workdir = sut.workdir
    assert not any(_alive(p) for p in app_pids + db_pids)
    assert not any(d.exists() for d in dirs)
    assert not db_tmp.exists() and not workdir.exists()
    assert cg.leftovers(sut.run_id) == []


def test_constrained_profile_unconstrained_flag_is_recorded(tmp_path):
    profile = load_profile(write_profile(tmp_path, "lite", "hardware: {cpus: 1, memory: 1GiB}\n"))
    with SystemUnderTest(profile, unconstrained=True) as sut:
        assert sut.cgroup is None and sut.limits["mode"] == "native, unconstrained"
        assert sut.limits["requested"]["memory"] == 1024**3
        assert sut.db_url.startswith("sqlite:///")


def test_unreachable_external_url_is_a_clear_error(tmp_path):
    port = 1  # nothing listens there
    profile = load_profile(write_profile(
        tmp_path, "ext", f"database: {{engine: postgresql, url: 'postgresql+psycopg://u:secret@127.0.0.1:{port}/x'}}\n"))
    with pytest.raises(JxcError) as info:
        with SystemUnderTest(profile):
            pass
    msg = str(info.value)
    assert msg.startswith("database.url: cannot reach postgresql+psycopg://u:***@127.0.0.1:1/x")
    assert "secret" not in msg


def test_bad_engine_setting_fails_clearly_and_leaves_nothing(cgroups_writable, tmp_path):
    profile = load_profile(write_profile(
        tmp_path, "badset", "hardware: {cpus: 1}\ndatabase: {engine: postgresql, settings: {no_such_setting: 1}}\n"))
    sut = SystemUnderTest(profile)
    with pytest.raises(JxcError, match="no_such_setting"):
        with sut:
            pass
    assert cg.leftovers(sut.run_id) == []
    assert not any(p.name.startswith(f"jxcbench-run-{sut.run_id}") for p in Path("/tmp").iterdir())


def test_exception_inside_block_tears_everything_down(cgroups_writable, tmp_path):
    profile = load_profile(write_profile(tmp_path, "sq", "hardware: {cpus: 1, memory: 512MiB}\narchitecture: {workers: 1}\n"))
    sut = SystemUnderTest(profile)
    with pytest.raises(RuntimeError, match="boom"):
        with sut:
            sut.seed(10)
            sut.start_app()
            pids = sut.app_pids()
            dirs = list(sut.cgroup.dirs.values())
            assert set(pids) <= _cgroup_procs(dirs)
            raise RuntimeError("boom")
    assert not any(_alive(p) for p in pids)
    assert not any(d.exists() for d in dirs) and cg.leftovers(sut.run_id) == []


def test_missing_server_binaries_name_the_engine(tmp_path, monkeypatch):
    from loadgen.sut.managed_mysql import find_binaries

    monkeypatch.setenv("PATH", str(tmp_path))  # nothing installed on this PATH
    with pytest.raises(JxcError, match=r"database.engine: mysql is managed, but its server binaries"):
        find_binaries()
