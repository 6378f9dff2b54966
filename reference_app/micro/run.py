"""The real deployment: each service its own uvicorn process(es) on its own port, the gateway on the
public one. ``python -m reference_app.micro.run --db URL --port 8000 [--replicas inventory=2]``.

:class:`Deployment` is also what tests use to kill and restart a service. The command supervises:
a service that dies is started again (after ``--restart-delay``), as an orchestrator would; SIGTERM
or SIGINT stops everything. Every process is a child of this one (so a cgroup it was started in
holds them all) and dies with it (parent-death signal).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from reference_app.micro.entry import die_with_parent
from reference_app.micro.topology import SERVICES, service_urls

ENTRY = "reference_app.micro.entry"
_REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pdeathsig() -> None:
    die_with_parent()


class Deployment:
    """The three services and the gateway as processes (see the module docstring)."""

    def __init__(self, db_url: str, *, port: int = 0, host: str = "127.0.0.1", replicas: dict[str, int] | None = None,
                 pool_size: int = 10, max_overflow: int = 10, env: dict[str, str] | None = None,
                 log_dir: Path | None = None, gateway_workers: int = 1, ports: dict[str, int] | None = None,
                 peer_urls: dict[str, str] | None = None) -> None:
        self.urls = service_urls(db_url)
        self.host = host
        self.port = port or free_port()
        self.replicas = {s: 1 for s in SERVICES} | (replicas or {})
        self.gateway_workers = gateway_workers
        # where each service listens, and where the gateway and the other services call it: the same
        # unless a caller puts something between them (jxcbench's delay relays, a network's round trip)
        self.ports = {s: free_port() for s in SERVICES} | (ports or {})
        self.peer_urls = {s: f"http://127.0.0.1:{self.ports[s]}" for s in SERVICES} | (peer_urls or {})
        self.pool = {"JXC_POOL_SIZE": str(pool_size), "JXC_MAX_OVERFLOW": str(max_overflow)}
        self.extra_env = env or {}
        self.log_dir = log_dir
        self.procs: dict[str, subprocess.Popen] = {}

    @property
    def base_url(self) -> str:
        return f"http://{'127.0.0.1' if self.host in ('0.0.0.0', '::') else self.host}:{self.port}"

    def service_url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def _env(self, service: str | None) -> dict[str, str]:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_REPO), env.get("PYTHONPATH")]))
        env.update(self.pool)
        env.update({f"JXC_{s.upper()}_URL": self.peer_urls[s] for s in SERVICES})
        if service is not None:
            env["JXC_DATABASE_URL"] = self.urls[service]
        env.update(self.extra_env)
        return env

    def start(self, name: str) -> subprocess.Popen:
        """Start one service (or ``gateway``)."""
        is_gateway = name == "gateway"
        port = self.port if is_gateway else self.ports[name]
        workers = self.gateway_workers if is_gateway else self.replicas[name]
        argv = [sys.executable, "-m", "uvicorn", f"{ENTRY}:{name}", "--factory", "--host",
                self.host if is_gateway else "127.0.0.1", "--port", str(port), "--workers", str(workers),
                "--log-level", "warning", "--no-access-log"]
        out: Any = subprocess.DEVNULL
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            out = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - the child keeps it
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=self._env(None if is_gateway else name), cwd=str(_REPO),
                                preexec_fn=_pdeathsig)
        if out is not subprocess.DEVNULL:
            out.close()
        self.procs[name] = proc
        return proc

    def healthy(self, name: str) -> bool:
        url = self.base_url if name == "gateway" else self.service_url(name)
        try:
            return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_healthy(self, names: list[str] | None = None, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        for name in names or [*SERVICES, "gateway"]:
            while not self.healthy(name):
                proc = self.procs.get(name)
                if proc is not None and proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode} before it was healthy")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{name} did not answer /healthz within {timeout:.0f} s")
                time.sleep(0.1)

    def up(self, timeout: float = 60.0) -> Deployment:
        for name in (*SERVICES, "gateway"):
            self.start(name)
        self.wait_healthy(timeout=timeout)
        return self

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Kill one service's processes (its uvicorn and the workers dying with it)."""
        proc = self.procs[name]
        try:
            import psutil
            children = psutil.Process(proc.pid).children(recursive=True)
        except Exception:  # noqa: BLE001 - gone already
            children = []
        proc.send_signal(sig)
        for child in children:
            try:
                child.send_signal(sig)
            except Exception:  # noqa: BLE001
                pass
        proc.wait(10)

    def pids(self) -> dict[str, list[int]]:
        """Each service's (and the gateway's) processes: uvicorn and its workers."""
        import psutil
        out = {}
        for name, proc in self.procs.items():
            try:
                p = psutil.Process(proc.pid)
                out[name] = [proc.pid] + [c.pid for c in p.children(recursive=True)]
            except psutil.NoSuchProcess:
                out[name] = []
        return out

    def stop(self) -> None:
        for name in ("gateway", *reversed(SERVICES)):
            proc = self.procs.pop(name, None)
            if proc is None or proc.poll() is not None:
                continue
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)

    def __enter__(self) -> Deployment:
        return self.up()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def parse_replicas(items: list[str], flag: str = "--replicas") -> dict[str, int]:
    out = {}
    for item in items:
        name, _, n = item.partition("=")
        if name not in SERVICES or not n.isdigit() or int(n) < 1:
            raise SystemExit(f"{flag} {item!r}: expected SERVICE=N with SERVICE one of {', '.join(SERVICES)}")
        out[name] = int(n)
    return out


def parse_peer_urls(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        name, _, url = item.partition("=")
        if name not in SERVICES or not url.startswith("http"):
            raise SystemExit(f"--peer-url {item!r}: expected SERVICE=http://HOST:PORT with SERVICE one of "
                             f"{', '.join(SERVICES)}")
        out[name] = url
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m reference_app.micro.run", description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True, help="the profile's database URL (each service derives its own)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--replicas", action="append", default=[], help="SERVICE=N uvicorn workers (repeatable)")
    ap.add_argument("--pool-size", type=int, default=10)
    ap.add_argument("--gateway-workers", type=int, default=1)
    ap.add_argument("--restart-delay", type=float, default=1.0)
    ap.add_argument("--log-dir", type=Path)
    ap.add_argument("--service-port", action="append", default=[],
                    help="SERVICE=PORT where the service listens (repeatable; default a free port)")
    ap.add_argument("--peer-url", action="append", default=[],
                    help="SERVICE=URL where the gateway and the other services call it (repeatable; default "
                         "its own port), e.g. a relay that adds a network's round trip")
    args = ap.parse_args(argv)
    dep = Deployment(args.db, port=args.port, host=args.host, replicas=parse_replicas(args.replicas),
                     pool_size=args.pool_size, log_dir=args.log_dir, gateway_workers=args.gateway_workers,
                     ports=parse_replicas(args.service_port, "--service-port"), peer_urls=parse_peer_urls(args.peer_url))
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(1))
    try:
        dep.up(timeout=120)  # four Python processes importing at once in a one-CPU cgroup take a while
        print(f"jxcbench microservices: gateway {dep.base_url}; "
              + ", ".join(f"{s} {dep.service_url(s)} x{dep.replicas[s]}" for s in SERVICES), flush=True)
        while not stopping:
            for name, proc in list(dep.procs.items()):
                if proc.poll() is not None and not stopping:
                    print(f"{name} exited ({proc.returncode}); restarting", file=sys.stderr, flush=True)
                    time.sleep(args.restart_delay)
                    dep.start(name)
            time.sleep(0.2)
    finally:
        dep.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
