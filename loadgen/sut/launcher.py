"""Bring up the whole system under test for a profile: cgroup, database, app workers — and tear it down.

``SystemUnderTest`` is what ``up``, ``run`` and ``sweep`` share::

    with SystemUnderTest(profile) as sut:        # cgroup + database (managed / external / sqlite file)
        sut.seed(10_000)                         # or loadgen.seed.seed_database(sut.db_url, ...)
        sut.start_app()                          # uvicorn workers inside the cgroup, /healthz waited for
        ... sut.base_url, sut.db_url, sut.app_pids(), sut.db_pids(), sut.cgroup_path, sut.limits ...

With ``architecture.network`` set, the managed server runs in its own network namespace behind a
shaped veth pair (``loadgen.sut.netns``) and ``sut.db_url`` names its address across the link.

Leaving the block — normally, by an exception, Ctrl-C or SIGTERM (turned into an exception while
inside) — stops the app, stops and deletes a managed database, deletes its namespace and link,
kills whatever is left in the cgroup and removes it. An external database URL is used as given and
never dropped.

A SIGKILL leaves no ``finally``: every child then dies with jxcbench (parent-death signal,
:mod:`loadgen.lifeline`; the app's workers via :mod:`loadgen.sut.app_server`), and the temporary
directories, cgroup and processes are recorded in :mod:`loadgen.sut.registry` for the next run
to remove.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from loadgen.errors import JxcError
from loadgen.sut import cgroups as cg
from loadgen.sut import durability
from loadgen.sut import netns
from loadgen.sut import process as P
from loadgen.sut import registry
from loadgen.sut.app_server import FACTORY
from loadgen.sut.managed_mysql import ManagedMySQL
from loadgen.sut.managed_postgres import ManagedPostgres
from loadgen.sut.service_network import ServiceLinks
from reference_app.micro.topology import SERVICES, service_urls

_REPO = Path(__file__).resolve().parents[2]
HEALTH_TIMEOUT_S = 90.0


def _describe_url(url: str) -> str:
    from sqlalchemy import make_url

    return make_url(url).render_as_string(hide_password=True)


def check_reachable(url: str, *, field: str = "database.url") -> None:
    """Connect and run SELECT 1; a clear error naming the URL (password hidden) if that fails."""
    from sqlalchemy import create_engine, text

    from reference_app.db import normalise_url

    try:
        u = normalise_url(url)
        args = {} if u.get_backend_name() == "sqlite" else {"connect_timeout": 5}
        eng = create_engine(u, connect_args=args)
        try:
            with eng.connect() as conn:
                conn.execute(text("SELECT 1"))
        finally:
            eng.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure means "unreachable"; say why
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        raise JxcError(f"{field}: cannot reach {_describe_url(url)}: {reason}") from None


@contextlib.contextmanager
def _restore_sigint():
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def make_cgroup(hw: Any, run_id: str, *, unconstrained: bool,
                stack: contextlib.ExitStack) -> tuple[cg.Cgroup | None, dict[str, Any]]:
    """The profile's hardware limits as a cgroup ``jxcbench-<run_id>`` (None without limits, or with
    ``unconstrained``), and what ``limits`` records: the mode and the limits the kernel applied. This
    process (the load generator) is pinned outside the group's CPUs until ``stack`` closes; the
    caller removes the group (:meth:`Cgroup.destroy`, ``registry.release_cgroup``)."""
    if not hw.constrained:
        return None, {"mode": "native, no limits in profile", "cpus": None, "cpuset": None, "memory": None}
    if unconstrained:
        return None, {"mode": "native, unconstrained", "cpus": None, "cpuset": None, "memory": None,
                      "requested": {"cpus": hw.cpus, "cpuset": hw.cpuset, "memory": hw.memory}}
    cpuset = cg.choose_cpuset(hw.cpus, hw.cpuset)
    group = cg.create(run_id, cpus=hw.cpus, cpuset=cpuset, memory=hw.memory)
    registry.claim_cgroup(list(group.dirs.values()))
    try:
        limits = {"mode": f"cgroup v{group.version}", **group.applied()}
        limits["loadgen_cpus"] = stack.enter_context(cg.pinned_outside(cpuset))
    except BaseException:
        group.destroy()
        registry.release_cgroup(list(group.dirs.values()))
        raise
    return group, limits


class SystemUnderTest:
    """The profile's system, up while inside the ``with`` block (see the module docstring)."""

    def __init__(self, profile: Any, *, unconstrained: bool = False, run_dir: Path | None = None,
                 port: int | None = None, run_id: str | None = None, app_host: str | None = None) -> None:
        system = profile.get("system") if isinstance(profile, dict) else getattr(profile, "system", None)
        if system is not None:
            # An external system is brought up by its own commands (loadgen.sut.external), never as
            # the reference app: refuse here rather than measure the wrong system.
            source = (system.get("source") if isinstance(system, dict) else system.source) or "the profile"
            raise JxcError(f"{source}: system: an external system is measured with `jxcbench sweep` only "
                           "(`run`, `up`, `seed` and `serve` bring up the reference app)")
        self.profile = profile
        self.unconstrained = unconstrained
        self.run_id = run_id or cg.new_run_id()
        self.port = port
        # None: the app listens on 127.0.0.1 only. A host name or address: the app listens on every
        # interface and the load (remote Locust workers included) reaches it at http://app_host:port.
        self.app_host = app_host
        self._run_dir = Path(run_dir) if run_dir else None
        self.workdir: Path | None = None
        self.cgroup: cg.Cgroup | None = None
        self.limits: dict[str, Any] = {}
        self.loadgen_cpus: list[int] | None = None
        self.db_url: str | None = None
        self.base_url: str | None = None
        self._db: ManagedPostgres | ManagedMySQL | None = None
        self.network: netns.Link | None = None
        # architecture.service_network: the relays in front of each service, made at the first start
        self.service_links: ServiceLinks | None = None
        self._service_ports: dict[str, int] = {}
        self._app: subprocess.Popen | None = None
        self._stack = contextlib.ExitStack()

    # -- lifecycle ------------------------------------------------------------------------------
    def __enter__(self) -> SystemUnderTest:
        try:
            self._stack.enter_context(cg.sigterm_as_exception())
            self._stack.enter_context(_restore_sigint())
            self._stack.callback(self._teardown)
            self._make_workdir()
            self._make_cgroup()
            self._make_network()
            self._start_database()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def _make_workdir(self) -> None:
        if self._run_dir is not None:
            self._run_dir.mkdir(parents=True, exist_ok=True)
            self.workdir = Path(tempfile.mkdtemp(prefix="sut-", dir=self._run_dir))
        else:
            self.workdir = Path(tempfile.mkdtemp(prefix=f"jxcbench-run-{self.run_id}-"))
        registry.claim_dir(self.workdir)

    def _make_cgroup(self) -> None:
        self.cgroup, self.limits = make_cgroup(self.profile.hardware, self.run_id, unconstrained=self.unconstrained,
                                               stack=self._stack)
        self.loadgen_cpus = self.limits.get("loadgen_cpus")

    def _make_network(self) -> None:
        """``architecture.network``: the namespace and shaped link the managed server will sit behind."""
        net = self.profile.architecture.network
        if net is None:
            return
        db = self.profile.database
        if db.engine == "sqlite" or not db.managed:  # the schema refuses these; a hand-built profile may not
            raise JxcError("architecture.network: only a managed postgresql/mysql server can be put across a "
                           "network (sqlite has no server; an external one is not ours to move)")
        self.network = netns.Link(self.run_id, rtt_ms=net.rtt_ms, bandwidth=net.bandwidth)
        self.network.create()
        self.network.measure_rtt()

    def _start_database(self) -> None:
        db = self.profile.database
        if db.engine == "sqlite":
            if db.url:
                self.db_url = db.url
            else:
                base = self._run_dir or self.workdir
                self.db_url = f"sqlite:///{base / (self.profile.name or 'jxcbench')}.sqlite"
            return
        if not db.managed:
            check_reachable(db.url)
            self.db_url = db.url
            return
        cls = ManagedPostgres if db.engine == "postgresql" else ManagedMySQL
        self._db = cls(durability.merged(db.engine, db.durability, db.settings), cgroup=self.cgroup,
                       network=self.network)
        self._db.start()
        self.db_url = self._db.url

    def seed(self, customers: int, *, progress: bool = False) -> Any:
        """Create the schema and grow the database to ``customers`` (the seeder; no-op if there)."""
        from loadgen.seed import seed_database

        wl = self.profile.workload
        return seed_database(self.db_url, customers, customer_quota=wl.customer_quota, staffing=wl.staffing,
                             index_level=self.profile.database.index_level, progress=progress)

    @property
    def microservices(self) -> bool:
        return getattr(self.profile.architecture, "kind", "monolith") == "microservices"

    def _argv(self, port: int) -> list[str]:
        arch = self.profile.architecture
        host = "0.0.0.0" if self.app_host else "127.0.0.1"
        if self.microservices:
            # The services' supervisor (reference_app.micro.run): every service and the gateway are
            # its children, so the cgroup it starts in holds them all.
            argv = [sys.executable, "-m", "reference_app.micro.run", "--db", self.db_url, "--host", host,
                    "--port", str(port), "--gateway-workers", str(arch.workers)]
            for service in SERVICES:
                argv += ["--replicas", f"{service}={arch.replicas_of(service)}"]
            return argv + self._service_network_args()
        return [sys.executable, "-m", "uvicorn", FACTORY, "--factory", "--host", host, "--port", str(port),
                "--workers", str(arch.workers), "--log-level", "warning", "--no-access-log"]

    def _service_network_args(self) -> list[str]:
        """``architecture.service_network``: each service on a port of ours, called through a delay
        relay in front of it (:mod:`loadgen.sut.service_network`). The relays and ports are made at
        the first start and kept for the system's life (every step's app calls through the same)."""
        net = self.profile.architecture.service_network
        if not self.microservices or net is None:
            return []
        if self.service_links is None:
            self.service_links = ServiceLinks(net.rtt_ms).create()
            self.service_links.measure_rtt()
            self._service_ports = {s: P.free_port() for s in SERVICES}
        args: list[str] = []
        for service, port in self._service_ports.items():
            args += ["--service-port", f"{service}={port}",
                     "--peer-url", f"{service}={self.service_links.peer_url(service, port)}"]
        return args

    def start_app(self, *, timeout: float = HEALTH_TIMEOUT_S) -> str:
        """Start ``uvicorn`` with the reference app (:data:`loadgen.sut.app_server.FACTORY`) and ``--workers N``
        inside the cgroup; wait for /healthz.

        Microservices: the seeded (monolith) database is first copied into the services' own
        databases (:func:`reference_app.micro.split.split_monolith`: every start begins from the
        seeded book, as a restored snapshot does for the monolith), then the services and the
        gateway start under one supervisor."""
        import httpx

        assert self.workdir is not None and self.db_url is not None
        if self.microservices:
            from reference_app.micro.split import split_monolith

            split_monolith(self.db_url)
        env = dict(os.environ)
        env["JXC_DATABASE_URL"] = self.db_url
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_REPO), env.get("PYTHONPATH")]))
        db = self.profile.database
        if db.engine == "sqlite":
            # the durability level's synchronous=..., then the profile's own PRAGMAs (they win)
            pragmas = durability.merged("sqlite", db.durability, db.settings)
            env["JXC_SQLITE_PRAGMAS"] = ";".join(f"{k}={v}" for k, v in pragmas.items())
        log = self.workdir / "app.log"
        for _attempt in range(3):
            port = self.port or P.free_port()
            argv = self._argv(port)
            with open(log, "ab") as fh:
                self._app = subprocess.Popen(argv, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                             cwd=str(_REPO), env=env, start_new_session=True,
                                             preexec_fn=P.preexec(self.cgroup, None))
            registry.claim_process(self._app.pid)
            self.base_url = f"http://{self.app_host or '127.0.0.1'}:{port}"

            def healthy() -> bool:
                return httpx.get(f"{self.base_url}/healthz", timeout=2).status_code == 200

            if P.wait_until(healthy, timeout=timeout, proc=self._app, interval=0.2):
                return self.base_url
            tail = P.log_tail(log, 8)
            if self._app.poll() is None:
                P.stop_process(self._app, grace=5)
                raise JxcError(f"the app did not answer /healthz within {timeout:.0f} s: {tail}", exit_code=1)
            if self.port is not None or "address already in use" not in tail.lower():
                raise JxcError(f"the app failed to start: {tail}", exit_code=1)
        raise JxcError(f"the app could not find a free port: {P.log_tail(log)}", exit_code=1)

    def database_answers(self) -> bool:
        """Whether the database accepts a connection and a ``SELECT 1`` now (:func:`check_reachable`;
        SQLite: always, it is a file in the app). A managed server the OOM killer took answers no more."""
        if self.profile.database.engine == "sqlite" or not self.db_url:
            return True
        try:
            check_reachable(self.db_url)
        except JxcError:
            return False
        return True

    def release_bulk_load_memory(self) -> float | None:
        """Restart a managed server that keeps what a bulk load allocated (MariaDB: one process,
        glibc's arenas) once the book is written, so that a step's memory is the load's, not the
        seeder's. The seconds the restart took; None when nothing was restarted (PostgreSQL,
        SQLite, an external server: not ours to restart)."""
        if self._db is None or not getattr(self._db, "keeps_bulk_load_memory", False):
            return None
        return self._db.restart()

    def app_running(self) -> bool:
        return self._app is not None and self._app.poll() is None

    def healthy(self) -> bool:
        """Whether the app answers /healthz with 200 right now."""
        import httpx

        if self.base_url is None or self._app is None or self._app.poll() is not None:
            return False
        try:
            return httpx.get(f"{self.base_url}/healthz", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    # -- what samplers and reports read ------------------------------------------------------------
    @staticmethod
    def _tree(pid: int | None) -> list[int]:
        import psutil

        if pid is None:
            return []
        try:
            p = psutil.Process(pid)
            return [pid] + [c.pid for c in p.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def app_pids(self) -> list[int]:
        """The uvicorn supervisor and its workers (current; workers may be restarted)."""
        return self._tree(self._app.pid if self._app else None)

    def service_roots(self) -> dict[str, Any] | None:
        """Microservices: per service (and the gateway), a callable giving its uvicorn process, for
        the per-service CPU and memory of a step (``resources.services``); None for a monolith."""
        if not self.microservices:
            return None
        import psutil

        def roots(name: str) -> Any:
            marker = f"reference_app.micro.entry:{name}"

            def find() -> list[int]:
                out = []
                for pid in self.app_pids()[1:]:
                    try:
                        if marker in " ".join(psutil.Process(pid).cmdline()):
                            out.append(pid)
                    except psutil.Error:
                        pass
                return out
            return find
        return {name: roots(name) for name in (*SERVICES, "gateway")}

    def books(self) -> Any:
        """The audit of the system's data after a step: the monolith's audit of its database, or the
        cross-service audit of the services' databases."""
        from reference_app.db import make_engine

        if self.microservices:
            from reference_app.micro.audit import audit_services
            from reference_app.micro.topology import service_urls

            engines = {s: make_engine(u, pool_size=1, max_overflow=1) for s, u in service_urls(self.db_url).items()}
            try:
                return audit_services(engines)
            finally:
                for e in engines.values():
                    e.dispose()
        from reference_app.audit import audit

        engine = make_engine(self.db_url, pool_size=1, max_overflow=1)
        try:
            return audit(engine)
        finally:
            engine.dispose()

    def db_pids(self) -> list[int]:
        """The managed database server and its backends; empty for SQLite (in-app) and external servers."""
        return self._tree(self._db.pid if self._db else None)

    def local_server_pids(self) -> list[int]:
        """An external database server on this machine (127.0.0.1, localhost, ::1): the process
        listening on its port and its children — shared with whoever else uses it, so not sampled as
        the system's database, but not counted as a foreign process either. Empty otherwise."""
        import psutil
        from sqlalchemy import make_url

        db = self.profile.database
        if db.engine == "sqlite" or db.managed or not self.db_url:
            return []
        u = make_url(self.db_url)
        if (u.host or "localhost") not in ("127.0.0.1", "localhost", "::1"):
            return []
        port = u.port or {"postgresql": 5432, "mysql": 3306}[db.engine]
        try:
            pid = next((c.pid for c in psutil.net_connections(kind="tcp")
                        if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port and c.pid), None)
        except psutil.Error:
            return []
        return self._tree(pid)

    def cgroup_stats(self) -> dict[str, int]:
        """The run's cgroup counters (OOM kills, CPU throttling, memory charged); {} without a cgroup."""
        return self.cgroup.stats() if self.cgroup is not None else {}

    @property
    def cgroup_path(self) -> str | None:
        return self.cgroup.path if self.cgroup else None

    def describe(self) -> dict[str, Any]:
        """What was actually brought up (for step.json / the report)."""
        db = self.profile.database
        return {
            "run_id": self.run_id, "base_url": self.base_url,
            "database": {"engine": db.engine, "managed": bool(db.managed),
                         "url": _describe_url(self.db_url) if self.db_url else None,
                         "settings": dict(db.settings), "settings_applied": self._settings_applied(),
                         "durability": self.durability()},
            "workers": self.profile.architecture.workers, "limits": self.limits,
            "architecture": self._architecture(),
            # None: the database is local (127.0.0.1 or in-app); else the link as configured and measured.
            "network": self.network.describe() if self.network else None,
            # microservices: None when the services call each other on loopback
            "service_network": self.service_links.describe() if self.service_links else None,
        }

    def _architecture(self) -> dict[str, Any]:
        arch = self.profile.architecture
        if not self.microservices:
            return {"kind": "monolith", "workers": arch.workers}
        return {"kind": "microservices", "gateway_workers": arch.workers,
                "replicas": {s: arch.replicas_of(s) for s in SERVICES},
                "databases": {s: _describe_url(u) for s, u in service_urls(self.db_url).items()} if self.db_url else None}

    def durability(self) -> dict[str, Any]:
        """How durably the database commits: what the server reports where one runs (managed or
        external), else what the profile's level and settings give (SQLite: the app's PRAGMAs)."""
        db = self.profile.database
        live = durability.read_live(self.db_url) if self.db_url and db.engine != "sqlite" else None
        if live is not None:
            live["requested"] = db.durability if db.managed else "as the external server is configured"
            return live
        return durability.effective(db.engine, db.durability, db.settings)

    def _settings_applied(self) -> str:
        """How the profile's engine settings reached the database (recorded, never silently dropped)."""
        db = self.profile.database
        if not db.settings:
            return "none given"
        if db.engine == "sqlite":
            return "PRAGMAs on every app connection (JXC_SQLITE_PRAGMAS)"
        if db.managed:
            return "server options of the managed server"
        return "not applied: the external server is used as it is configured"

    # -- teardown ---------------------------------------------------------------------------------
    def _teardown(self) -> None:
        # A second Ctrl-C / SIGTERM while we clean up must not abort the cleanup half-way; the
        # handlers in force before __enter__ are restored right after (by the exit stack).
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        errors: list[BaseException] = []
        for step in (self.stop_app, self._remove_service_links, self._drop_service_databases, self._stop_db,
                     self._remove_network, self._remove_cgroup, self._remove_workdir):
            try:
                step()
            except BaseException as exc:  # noqa: BLE001 - finish every step, report the first failure
                errors.append(exc)
        if errors:
            raise errors[0]

    def stop_app(self) -> None:
        """Stop the app (no-op if it is not running); the database and cgroup stay up."""
        if self._app is not None:
            P.stop_process(self._app, grace=10)
            registry.release_process(self._app.pid)
            self._app = None

    def _drop_service_databases(self) -> None:
        """Microservices on an external server: the services' databases are copies this run made
        (``<name>_customers``...), dropped with it; the profile's own database is left as it is."""
        db = self.profile.database
        if self.microservices and self.db_url and db.engine != "sqlite" and not db.managed:
            from reference_app.micro.topology import drop_service_databases

            drop_service_databases(self.db_url)

    def _stop_db(self) -> None:
        if self._db is not None:
            self._db.stop()
            self._db = None

    def _remove_service_links(self) -> None:
        if self.service_links is not None:
            self.service_links.destroy()
            self.service_links = None

    def _remove_network(self) -> None:
        if self.network is not None:
            self.network.destroy()
            self.network = None

    def _remove_cgroup(self) -> None:
        if self.cgroup is not None:
            self.cgroup.destroy()
            registry.release_cgroup(list(self.cgroup.dirs.values()))
            self.cgroup = None

    def _remove_workdir(self) -> None:
        if self.workdir is not None:
            P.remove_tree(self.workdir)
            registry.release_dir(self.workdir)
            self.workdir = None


__all__ = ["SystemUnderTest", "check_reachable", "make_cgroup"]
