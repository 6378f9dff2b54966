"""Process helpers shared by the managed databases and the app launcher.

Children are started in their own session (a Ctrl-C in the terminal reaches jxcbench, which then
stops them in order, instead of hitting every process at once), joined to the run's cgroup before
exec, and — for database servers that refuse root — switched to an unprivileged user; last, they
ask for SIGKILL when jxcbench dies (:mod:`loadgen.lifeline`), so none outlives it.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from loadgen import lifeline
from loadgen.errors import JxcError
from loadgen.sut.cgroups import Cgroup

SERVICE_USER = "jxcbench"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the caller retries if it is taken)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def service_user(preferred: str = SERVICE_USER) -> pwd.struct_passwd | None:
    """The unprivileged account to run a database server as when we are root (created if absent).

    ``None`` when we are not root: then the server simply runs as us.
    """
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(preferred)
    except KeyError:
        pass
    res = subprocess.run(
        ["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
         "--user-group", preferred],
        capture_output=True, text=True,
    )
    if res.returncode not in (0, 9):  # 9: created meanwhile by someone else
        raise JxcError(f"cannot create the system user {preferred!r} for the database server: {res.stderr.strip()}")
    return pwd.getpwnam(preferred)


def chown_tree(path: Path, user: pwd.struct_passwd | None) -> None:
    if user is None:
        return
    for root, dirs, files in os.walk(path):
        os.chown(root, user.pw_uid, user.pw_gid)
        for name in dirs + files:
            os.chown(os.path.join(root, name), user.pw_uid, user.pw_gid, follow_symlinks=False)


def preexec(cgroup: Cgroup | None, user: pwd.struct_passwd | None,
            enter: Callable[[], None] | None = None) -> Callable[[], None] | None:
    """Join ``cgroup`` (as root, before dropping privileges), run ``enter`` (e.g. join the database's
    network namespace, ``loadgen.sut.netns``; also needs root), become ``user``, then set the
    parent-death signal (after setuid, which would clear it)."""

    def become() -> None:
        if enter is not None:
            enter()
        if user is not None:
            os.setgroups([])
            os.setgid(user.pw_gid)
            os.setuid(user.pw_uid)

    if cgroup is not None:
        return lifeline.preexec(cgroup.preexec(become))
    return lifeline.preexec(become if user is not None or enter is not None else None)


def child_env(user: pwd.struct_passwd | None, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "MYSQL"))}
    if user is not None:
        env.update(HOME=user.pw_dir, USER=user.pw_name, LOGNAME=user.pw_name)
    env.update(extra or {})
    return env


def run_checked(argv: list[str], *, what: str, user: pwd.struct_passwd | None, cwd: Path | None = None,
                timeout: float = 120) -> None:
    """Run a setup command (initdb, install-db) to completion; its output ends up in the error."""
    try:
        res = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=cwd,
                             env=child_env(user), preexec_fn=preexec(None, user))
    except subprocess.TimeoutExpired:
        raise JxcError(f"{what} did not finish in {timeout:.0f} s: {' '.join(argv)}", exit_code=1) from None
    if res.returncode != 0:
        tail = (res.stderr or res.stdout).strip().splitlines()[-5:]
        raise JxcError(f"{what} failed (exit {res.returncode}): {' | '.join(tail)}", exit_code=1)


def stop_process(proc: subprocess.Popen, *, sig: int = signal.SIGTERM, grace: float = 15.0) -> None:
    """Ask ``proc`` to stop with ``sig``; SIGKILL its whole session if it has not gone after ``grace``."""
    if proc.poll() is None:
        try:
            proc.send_signal(sig)
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
        except ProcessLookupError:
            pass
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # started with start_new_session: pgid == pid
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass


def log_tail(path: Path, lines: int = 5) -> str:
    """The last lines of a server log, error lines first (they say why; the rest is noise)."""
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    errors = [ln for ln in text if any(w in ln for w in ("ERROR", "FATAL", "PANIC", "Error", "error:"))]
    return " | ".join((errors or text)[-lines:]) or "(empty log)"


def wait_until(check: Callable[[], bool], *, timeout: float, proc: subprocess.Popen | None = None,
               interval: float = 0.1) -> bool:
    """Poll ``check`` until it is true (True), ``proc`` exits or ``timeout`` passes (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            if check():
                return True
        except Exception:  # noqa: BLE001 - not up yet
            pass
        time.sleep(interval)
    return False


def remove_tree(path: Path | None) -> None:
    if path is not None:
        shutil.rmtree(path, ignore_errors=True)


__all__ = ["free_port", "service_user", "chown_tree", "preexec", "child_env", "run_checked", "stop_process",
           "log_tail", "wait_until", "remove_tree", "SERVICE_USER"]
