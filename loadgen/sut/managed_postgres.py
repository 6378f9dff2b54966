"""A throwaway PostgreSQL cluster: initdb in a temp dir, postgres on a free 127.0.0.1 port, deleted after.

With a ``network`` link (``architecture.network``) it runs inside the link's namespace instead,
listening on the far address only, port 5432, with a pg_hba line trusting our end of the link.

* ``--locale C.UTF-8``: pg_trgm needs a UTF-8 ``LC_CTYPE`` to index Chinese names (see
  reference_app.schema); ``C`` collation keeps sorting cheap and identical everywhere.
* Run as the unprivileged ``jxcbench`` user when we are root (postgres refuses root).
* ``fsync`` stays on: we measure what a real deployment would pay for durable commits.
* The server process is started directly (not via ``pg_ctl``) so that its pid is ours, it joins the
  run's cgroup before exec, and its children (backends) inherit the group.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from loadgen.errors import JxcError
from loadgen.sut import process as P
from loadgen.sut import registry
from loadgen.sut.cgroups import Cgroup
from loadgen.sut.netns import Link

# Bench defaults; the profile's settings override them.
DEFAULT_SETTINGS: dict[str, object] = {
    "fsync": "on",
    "synchronous_commit": "on",
    "max_connections": 100,
    "shared_buffers": "128MB",
    "log_min_messages": "warning",
    "logging_collector": "off",
    "dynamic_shared_memory_type": "posix",
}
DATABASE = "jxcbench"


def find_bindir() -> Path:
    """Where ``initdb`` and ``postgres`` live: ``pg_config --bindir``, else the newest /usr/lib/postgresql/*/bin."""
    candidates: list[Path] = []
    if shutil.which("pg_config"):
        try:
            out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, timeout=10).stdout.strip()
            candidates.append(Path(out))
        except (OSError, subprocess.SubprocessError):
            pass
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    if shutil.which("initdb"):
        candidates.append(Path(shutil.which("initdb")).resolve().parent)
    for d in candidates:
        if (d / "initdb").exists() and (d / "postgres").exists():
            return d
    raise JxcError("database.engine: postgresql is managed, but its server binaries (initdb, postgres) are not "
                   "installed (looked at pg_config --bindir and /usr/lib/postgresql/*/bin); install PostgreSQL or "
                   "set database.url to an external server")


def _setting(value: object) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


class ManagedPostgres:
    """``start()`` -> URL; ``stop()`` removes everything. Use as a context manager."""

    engine = "postgresql"
    # Every connection is a backend process of its own: what the seeder's bulk load allocated goes
    # back to the kernel when its connection closes, so nothing needs a restart after seeding (and
    # a restart would only empty shared_buffers). Compare ManagedMySQL.
    keeps_bulk_load_memory = False

    def __init__(self, settings: dict[str, object] | None = None, *, cgroup: Cgroup | None = None,
                 network: Link | None = None) -> None:
        self.settings = {**DEFAULT_SETTINGS, **(settings or {})}
        self.cgroup = cgroup
        # Set: the server runs inside this namespace and listens on its address only (port 5432 is
        # free there: the namespace is ours); otherwise 127.0.0.1 on a free port.
        self.network = network
        self.host = network.ns_addr if network else "127.0.0.1"
        self.tmpdir: Path | None = None
        self.proc: subprocess.Popen | None = None
        self.port: int | None = None
        self.url: str | None = None

    def __enter__(self) -> ManagedPostgres:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def start(self, *, timeout: float = 60.0) -> str:
        bindir = find_bindir()
        user = P.service_user()
        self.tmpdir = Path(tempfile.mkdtemp(prefix="jxcbench-pg-"))
        registry.claim_dir(self.tmpdir)
        data = self.tmpdir / "data"
        P.chown_tree(self.tmpdir, user)
        P.run_checked(
            [str(bindir / "initdb"), "-D", str(data), "--locale", "C.UTF-8", "--encoding", "UTF8",
             "-U", "postgres", "--auth", "trust", "--no-sync"],
            what="initdb", user=user, cwd=self.tmpdir,
        )
        if self.network is not None:  # initdb trusts local connections only; add our end of the link
            with open(data / "pg_hba.conf", "a") as fh:
                fh.write(f"host all all {self.network.host_addr}/32 trust\n")
        log = self.tmpdir / "postgres.log"
        for _attempt in range(3):  # a free port can be taken between probing and binding
            self.port = 5432 if self.network else P.free_port()
            self._launch(bindir, data, user, log)
            if P.wait_until(self._ready, timeout=timeout, proc=self.proc):
                break
            if self.proc.poll() is None:
                raise JxcError(f"managed PostgreSQL did not accept connections in {timeout:.0f} s: "
                               f"{P.log_tail(log)}", exit_code=1)
            if "could not bind" not in P.log_tail(log, 20):
                raise JxcError(f"database.settings: managed PostgreSQL failed to start: {P.log_tail(log, 3)}")
        else:
            raise JxcError(f"managed PostgreSQL could not find a free port: {P.log_tail(log)}", exit_code=1)
        import psycopg

        with psycopg.connect(host=self.host, port=self.port, user="postgres", dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{DATABASE}" ENCODING \'UTF8\' TEMPLATE template0')
        # Across a link, clients go where it says: the far address (netem), or the delay relay on our end.
        host, port = self.network.endpoint(self.port) if self.network else (self.host, self.port)
        self.url = f"postgresql+psycopg://postgres@{host}:{port}/{DATABASE}"
        return self.url

    def _launch(self, bindir: Path, data: Path, user, log: Path) -> None:  # user: a pwd entry or None
        argv = [str(bindir / "postgres"), "-D", str(data), "-p", str(self.port),
                "-c", f"listen_addresses={self.host}", "-c", f"unix_socket_directories={self.tmpdir}"]
        for k, v in self.settings.items():
            argv += ["-c", f"{k}={_setting(v)}"]
        with open(log, "ab") as fh:
            self.proc = subprocess.Popen(argv, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         cwd=self.tmpdir, env=P.child_env(user), start_new_session=True,
                                         preexec_fn=P.preexec(self.cgroup, user,
                                                              self.network.enter if self.network else None))
        registry.claim_process(self.proc.pid)

    def kill_and_restart(self, *, timeout: float = 60.0) -> float:
        """SIGKILL the server, postmaster and backends together (a crash, no checkpoint), start it
        again on the same data directory and port; crash recovery replays the WAL. Returns the
        seconds until it accepted connections again."""
        import time

        import psutil

        assert self.proc is not None and self.tmpdir is not None
        try:
            children = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            children = []
        # The whole process group at once (the server was started in its own session), as a
        # machine crash or the OOM killer takes it: a postmaster killed alone leaves its backends
        # finishing their queries for a moment, and the outage would start later than the kill.
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        # The outage starts once the kill is sent, not before the call: on a busy machine this thread
        # can wait for the GIL between the two while the load's threads send (and the server still
        # answers) requests that would then count as a recovery.
        t0 = time.monotonic()
        self.proc.wait()
        registry.release_process(self.proc.pid)
        # Backends still attached to the old shared memory make the new postmaster refuse to start.
        _gone, alive = psutil.wait_procs(children, timeout=10)
        for p in alive:
            p.kill()
        self._launch(find_bindir(), self.tmpdir / "data", P.service_user(), self.tmpdir / "postgres.log")
        if not P.wait_until(self._ready, timeout=timeout, proc=self.proc):
            raise JxcError(f"managed PostgreSQL did not come back after a kill: "
                           f"{P.log_tail(self.tmpdir / 'postgres.log')}", exit_code=1)
        return time.monotonic() - t0

    def _ready(self) -> bool:
        import psycopg

        with psycopg.connect(host=self.host, port=self.port, user="postgres", dbname="postgres",
                             connect_timeout=2):
            return True

    def stop(self) -> None:
        """Fast shutdown (SIGINT: roll back sessions, checkpoint), SIGKILL if stuck, then delete the dir."""
        if self.proc is not None:
            P.stop_process(self.proc, sig=signal.SIGINT, grace=15)
            registry.release_process(self.proc.pid)
            self.proc = None
        if self.tmpdir is not None:
            P.remove_tree(self.tmpdir)
            registry.release_dir(self.tmpdir)
        self.tmpdir = None


__all__ = ["ManagedPostgres", "find_bindir", "DEFAULT_SETTINGS"]
