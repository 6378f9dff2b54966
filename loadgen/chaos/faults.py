"""The faults ``jxcbench chaos`` injects into a running :class:`~loadgen.sut.launcher.SystemUnderTest`.

Each takes the system and the profile's ``faults`` section and returns when the fault is over (the
worker killed, the database back, the link up again), as a :class:`Injected` with the monotonic
times it began and ended. A fault that the profile's architecture cannot have (no server to pause
under SQLite, no link to cut without ``architecture.network``) raises :class:`NotApplicable` with
the reason, which the table prints instead of a made-up figure.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class NotApplicable(Exception):
    """The fault does not exist in this architecture; the message says why."""


@dataclass
class Injected:
    began: float
    ended: float
    detail: str


def _workers(sut: Any) -> list[int]:
    """The uvicorn worker processes (children of the supervisor that serve requests)."""
    import psutil

    pids = sut.app_pids()
    if not pids:
        return []
    out = []
    for pid in pids[1:]:
        try:
            if "spawn_main" in " ".join(psutil.Process(pid).cmdline()):  # not the resource tracker
                out.append(pid)
        except psutil.NoSuchProcess:
            continue
    return out


def kill_worker(sut: Any, cfg: Any) -> Injected:
    """SIGKILL one app worker (an OOM kill, a segfault); uvicorn's supervisor starts a new one."""
    workers = _workers(sut)
    if sut.profile.architecture.workers < 2 or not workers:
        raise NotApplicable("one app process: killing it kills the app (architecture.workers >= 2 has a "
                            "supervisor that replaces a dead worker)")
    victim = workers[0]
    began = time.monotonic()
    os.kill(victim, signal.SIGKILL)
    return Injected(began, time.monotonic(), f"SIGKILL app worker {victim}")


def _server(sut: Any, what: str) -> Any:
    db = sut.profile.database
    if db.engine == "sqlite":
        raise NotApplicable(f"sqlite runs inside the app: there is no database server to {what}")
    if not db.managed:
        raise NotApplicable(f"an external database server is not ours to {what}")
    return sut._db  # the launcher owns the managed server; chaos is its one other user


def db_restart(sut: Any, cfg: Any) -> Injected:
    """SIGKILL the managed database server and start it again on the same data (crash recovery)."""
    server = _server(sut, "kill")
    if not hasattr(server, "kill_and_restart"):
        raise NotApplicable(f"kill and restart is not built for a managed {sut.profile.database.engine} server")
    took = server.kill_and_restart()
    ended = time.monotonic()
    # began = the kill itself (kill_and_restart's clock starts there, after it looked up the
    # server's processes): a request sent before it may still succeed and is no recovery.
    return Injected(ended - took, ended, f"SIGKILL the server, back after {took:.1f} s")


def db_pause(sut: Any, cfg: Any) -> Injected:
    """SIGSTOP every process of the database server for ``faults.pause``, then SIGCONT (a stalled VM,
    a storage hiccup): connections stay open, requests hang."""
    _server(sut, "pause")
    pids = sut.db_pids()
    began = time.monotonic()
    for pid in pids:
        _signal(pid, signal.SIGSTOP)
    try:
        time.sleep(cfg.pause)
    finally:
        for pid in pids:
            _signal(pid, signal.SIGCONT)
    return Injected(began, time.monotonic(), f"SIGSTOP {len(pids)} server processes for {cfg.pause:g} s")


def network_down(sut: Any, cfg: Any) -> Injected:
    """Take the link to the database down for ``faults.pause`` (a cut cable, a switch reboot)."""
    if sut.network is None:
        raise NotApplicable("no network between the app and the database (architecture.network is not set)")
    began = time.monotonic()
    sut.network.set_link(False)
    try:
        time.sleep(cfg.pause)
    finally:
        sut.network.set_link(True)
    return Injected(began, time.monotonic(), f"link {sut.network.host_if} down for {cfg.pause:g} s")


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


FAULTS: dict[str, Callable[[Any, Any], Injected]] = {
    "kill_worker": kill_worker, "db_restart": db_restart, "db_pause": db_pause, "network_down": network_down,
}

__all__ = ["FAULTS", "Injected", "NotApplicable"]
