"""A throwaway MariaDB (or MySQL) server: install-db into a temp datadir, mariadbd on a free port.

* Its own socket and pid file in the temp dir; TCP on 127.0.0.1 only; ``--no-defaults`` so that the
  machine's my.cnf cannot leak settings into the measurement.
* utf8mb4 throughout; ``--local-infile=1`` for the seeder's bulk loads.
* Run as ``mysql`` (or the ``jxcbench`` user) when we are root; joins the run's cgroup before exec.
* With a ``network`` link (``architecture.network``): inside the link's namespace, bound to the far
  address only, port 3306; root may connect from our end of the link.
* Settings from the profile become ``--name=value`` options (``innodb_buffer_pool_size: 256M``).
"""

from __future__ import annotations

import os
import pwd
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

DEFAULT_SETTINGS: dict[str, object] = {
    "innodb_buffer_pool_size": "128M",
    "innodb_flush_log_at_trx_commit": 1,  # durable commits: measured honestly
    "max_connections": 200,
    "skip_log_bin": True,
    "performance_schema": "OFF",
}
DATABASE = "jxcbench"


def find_binaries() -> tuple[Path, Path]:
    """``(install_db, server)``: mariadb-install-db/mariadbd, or mysql_install_db/mysqld."""
    for inst, server in (("mariadb-install-db", "mariadbd"), ("mysql_install_db", "mysqld")):
        i = shutil.which(inst)
        s = shutil.which(server) or next((p for p in (f"/usr/sbin/{server}",) if Path(p).exists()), None)
        if i and s:
            return Path(i), Path(s)
    raise JxcError("database.engine: mysql is managed, but its server binaries (mariadb-install-db + mariadbd, "
                   "or mysql_install_db + mysqld) are not installed; install MariaDB or set database.url to an "
                   "external server")


def _user() -> pwd.struct_passwd | None:
    """``mysql`` if it exists (the packaged servers expect it), else the jxcbench service user."""
    base = P.service_user()
    if base is None:
        return None
    try:
        return pwd.getpwnam("mysql")
    except KeyError:
        return base


def _option(name: str, value: object) -> str:
    name = name.replace("_", "-")
    if value is True:
        return f"--{name}"
    if value is False:
        return f"--{name}=0"
    return f"--{name}={value}"


class ManagedMySQL:
    """``start()`` -> URL; ``stop()`` removes everything. Use as a context manager."""

    engine = "mysql"

    def __init__(self, settings: dict[str, object] | None = None, *, cgroup: Cgroup | None = None,
                 network: Link | None = None) -> None:
        self.settings = {**DEFAULT_SETTINGS, **(settings or {})}
        self.cgroup = cgroup
        # Set: the server runs inside this namespace and listens on its address only (port 3306 is
        # free there: the namespace is ours), the app connects from our end of the link.
        self.network = network
        self.host = network.ns_addr if network else "127.0.0.1"
        self.client_host = network.host_addr if network else "127.0.0.1"
        self.tmpdir: Path | None = None
        self.proc: subprocess.Popen | None = None
        self.port: int | None = None
        self.url: str | None = None

    def __enter__(self) -> ManagedMySQL:
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

    @property
    def socket(self) -> Path:
        assert self.tmpdir is not None
        return self.tmpdir / "mysqld.sock"

    def start(self, *, timeout: float = 60.0) -> str:
        install_db, server = find_binaries()
        user = _user()
        self.tmpdir = Path(tempfile.mkdtemp(prefix="jxcbench-mysql-"))
        registry.claim_dir(self.tmpdir)
        data = self.tmpdir / "data"
        data.mkdir()
        P.chown_tree(self.tmpdir, user)
        argv = [str(install_db), "--no-defaults", f"--datadir={data}", "--auth-root-authentication-method=normal",
                "--skip-test-db", "--skip-name-resolve"]
        if user is not None:
            argv.append(f"--user={user.pw_name}")
        P.run_checked(argv, what="mariadb-install-db", user=user, cwd=self.tmpdir)
        log = self.tmpdir / "mysqld.log"
        for _attempt in range(3):
            self.port = 3306 if self.network else P.free_port()
            self._launch(server, data, user, log)
            if P.wait_until(self._ready, timeout=timeout, proc=self.proc):
                break
            if self.proc.poll() is None:
                raise JxcError(f"managed MariaDB did not accept connections in {timeout:.0f} s: {P.log_tail(log)}",
                               exit_code=1)
            if "Address already in use" not in P.log_tail(log, 20):
                raise JxcError(f"database.settings: managed MariaDB failed to start: {P.log_tail(log, 3)}")
        else:
            raise JxcError(f"managed MariaDB could not find a free port: {P.log_tail(log)}", exit_code=1)
        import pymysql

        # root@localhost exists only for the socket; give TCP clients (on 127.0.0.1, or at our end of
        # the link when the server is across one) the same rights.
        conn = pymysql.connect(unix_socket=str(self.socket), user="root", autocommit=True)
        try:
            with conn.cursor() as cur:
                cur.execute(f"CREATE DATABASE `{DATABASE}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
                cur.execute(f"CREATE USER IF NOT EXISTS 'root'@'{self.client_host}'")
                cur.execute(f"GRANT ALL PRIVILEGES ON *.* TO 'root'@'{self.client_host}' WITH GRANT OPTION")
        finally:
            conn.close()
        # Across a link, clients go where it says: the far address (netem), or the delay relay on our end.
        host, port = self.network.endpoint(self.port) if self.network else (self.host, self.port)
        self.url = f"mysql+pymysql://root@{host}:{port}/{DATABASE}?charset=utf8mb4&local_infile=1"
        return self.url

    def _launch(self, server: Path, data: Path, user: pwd.struct_passwd | None, log: Path) -> None:
        assert self.tmpdir is not None
        argv = [str(server), "--no-defaults", f"--datadir={data}", f"--port={self.port}",
                f"--bind-address={self.host}", f"--socket={self.socket}", f"--pid-file={self.tmpdir / 'mysqld.pid'}",
                f"--log-error={log}", "--local-infile=1", "--character-set-server=utf8mb4",
                "--collation-server=utf8mb4_unicode_ci", "--skip-name-resolve"]
        argv += [_option(k, v) for k, v in self.settings.items()]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     stdin=subprocess.DEVNULL, cwd=self.tmpdir, env=P.child_env(user),
                                     start_new_session=True,
                                     preexec_fn=P.preexec(self.cgroup, user,
                                                          self.network.enter if self.network else None))
        registry.claim_process(self.proc.pid)

    # One process holds every connection's memory, and glibc's allocator keeps much of what a bulk
    # load freed: measured after seeding 85,000 customers (64M buffer pool), the server's USS went
    # 75 -> 188 MiB, and a restart brought it to 108 MiB. A server in production has not just been
    # bulk-loaded, so a step restarts it after the book is written (LevelledSystem.move_to).
    keeps_bulk_load_memory = True

    def kill_and_restart(self, *, timeout: float = 60.0) -> float:
        """SIGKILL the server (a crash: InnoDB recovers from its redo log on the way up), start it
        again on the same datadir and port; the seconds until it accepted connections again."""
        return self._relaunch(signal.SIGKILL, timeout=timeout, what="a kill")

    def restart(self, *, timeout: float = 60.0) -> float:
        """Shut the server down cleanly (SIGTERM: InnoDB flushes and stops), start it again on the
        same datadir and port; the seconds until it accepted connections again."""
        return self._relaunch(signal.SIGTERM, timeout=timeout, what="a restart")

    def _relaunch(self, sig: signal.Signals, *, timeout: float, what: str) -> float:
        import time

        assert self.proc is not None and self.tmpdir is not None
        if sig == signal.SIGKILL:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)  # its own session: the server and anything it started
            except ProcessLookupError:
                pass
            # the outage starts once the kill is sent (see ManagedPostgres.kill_and_restart)
            t0 = time.monotonic()
            self.proc.wait()
        else:
            t0 = time.monotonic()
            P.stop_process(self.proc, sig=sig, grace=60)  # SIGKILL only if the clean shutdown hangs
        registry.release_process(self.proc.pid)
        self.socket.unlink(missing_ok=True)  # a crashed server leaves its socket file behind
        self._launch(find_binaries()[1], self.tmpdir / "data", _user(), self.tmpdir / "mysqld.log")
        if not P.wait_until(self._ready, timeout=timeout, proc=self.proc):
            raise JxcError(f"managed MariaDB did not come back after {what}: "
                           f"{P.log_tail(self.tmpdir / 'mysqld.log')}", exit_code=1)
        return time.monotonic() - t0

    def _ready(self) -> bool:
        import pymysql

        pymysql.connect(unix_socket=str(self.socket), user="root", connect_timeout=2).close()
        return True

    def stop(self) -> None:
        """SIGTERM (clean InnoDB shutdown), SIGKILL if stuck, then delete the datadir."""
        if self.proc is not None:
            P.stop_process(self.proc, sig=signal.SIGTERM, grace=20)
            registry.release_process(self.proc.pid)
            self.proc = None
        if self.tmpdir is not None:
            P.remove_tree(self.tmpdir)
            registry.release_dir(self.tmpdir)
        self.tmpdir = None


__all__ = ["ManagedMySQL", "find_binaries", "DEFAULT_SETTINGS"]
