"""Someone else's system under test: started, seeded and checked through the profile's commands.

The ``system:`` section of a profile (:class:`profiles.schema.System`) names a start command (optional:
else the system already runs at ``base_url``), a seed command that grows the database to
``{customers}`` and a health path. jxcbench cannot look inside such a system (no book to read, no
audit of its own), so everything goes through those commands:

* commands are split with ``shlex`` and run without a shell (a shell between jxcbench and the server
  would outlive neither, but would hide the server's pid), in the profile file's folder, with a clean
  environment (``PATH``, ``HOME``, ``LANG``) plus ``system.env``: a vendor's staging variables must
  not leak into a measurement by accident;
* with hardware limits the started process joins the profile's cgroup before it runs
  (:func:`loadgen.sut.launcher.make_cgroup`, as the reference app's workers do), so whatever it
  starts is limited too; the other commands (seed, snapshot, audit) run outside it, as the
  reference app's seeder does;
* the started process gets the parent-death signal (:mod:`loadgen.lifeline`) and a session of its
  own, is recorded in the run registry (:mod:`loadgen.sut.registry`: a killed jxcbench's next run
  reaps it), and is stopped with SIGTERM, then SIGKILL, on its whole process group;
* a command that fails stops with its exit code and the tail of its output, naming the profile file
  and the field; exit 2 like any bad input (the profile names a command that does not work), and
  whatever was started is stopped first.
"""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from loadgen import lifeline
from loadgen.errors import JxcError
from loadgen.sut import process as P
from loadgen.sut import registry

TAIL_CHARS = 1500
STOP_GRACE_S = 5.0


class AuditFailed(JxcError):
    """``system.audit`` ran and exited non-zero: the books are wrong (the step fails), the command is fine."""

    def __init__(self, message: str, *, returncode: int, seconds: float) -> None:
        super().__init__(message, exit_code=1)
        self.returncode = returncode
        self.seconds = seconds


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(extra: dict[str, str]) -> dict[str, str]:
    keep = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    return {**keep, **extra}


def _tail(path: Path) -> str:
    try:
        return path.read_text(errors="replace")[-TAIL_CHARS:].strip() or "(no output)"
    except OSError:
        return "(no output)"


class ExternalSystem:
    """One external system for the length of a sweep (``with ExternalSystem(system) as sut``)."""

    def __init__(self, system: Any, *, log_dir: Path, cgroup: Any = None) -> None:
        self.system = system
        self.cgroup = cgroup  # the profile's limits (loadgen.sut.cgroups.Cgroup): the started process joins it
        self.where = f"{system.source}: " if system.source else ""  # errors name the profile file
        self.cwd = Path(system.dir or ".")
        self.log_dir = Path(log_dir)
        self.port = free_port() if system.start else None
        self.base_url = self._fill("base_url", system.base_url).rstrip("/")
        self.proc: subprocess.Popen | None = None

    # -- placeholders and commands --------------------------------------------------------------------
    def _fill(self, fieldname: str, template: str, **values: Any) -> str:
        values = {"port": self.port, "workdir": str(self.log_dir.resolve()), **values}
        try:
            return template.format(**{k: v for k, v in values.items() if v is not None})
        except (KeyError, IndexError, ValueError) as exc:
            raise JxcError(f"{self.where}system.{fieldname}: cannot fill {template!r}: {exc}") from None

    def _argv(self, fieldname: str, line: str) -> list[str]:
        try:
            argv = shlex.split(line)
        except ValueError as exc:
            raise JxcError(f"{self.where}system.{fieldname}: cannot split {line!r}: {exc}") from None
        if not argv:
            raise JxcError(f"{self.where}system.{fieldname}: empty command")
        return argv

    def run(self, fieldname: str, out_dir: Path, timeout_s: float = 3600.0, **values: Any) -> float:
        """Run ``system.<fieldname>`` to its end, its output in ``out_dir/<fieldname>.log``; the
        seconds it took. A missing program or a non-zero exit stops here, naming the field."""
        line = self._fill(fieldname, getattr(self.system, fieldname), base_url=self.base_url, **values)
        argv = self._argv(fieldname, line)
        out_dir.mkdir(parents=True, exist_ok=True)
        log = out_dir / f"{fieldname}.log"
        t0 = time.time()
        with open(log, "w") as out:
            try:
                proc = subprocess.Popen(argv, cwd=self.cwd, env=clean_env(self.system.env), stdout=out,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        start_new_session=True, preexec_fn=lifeline.preexec())
            except OSError as exc:
                raise JxcError(f"{self.where}system.{fieldname}: cannot run {line!r} (in {self.cwd}): {exc.strerror}") from None
            try:
                rc = proc.wait(timeout=timeout_s)
            except BaseException:
                _kill_group(proc)
                raise
        if rc != 0:
            message = f"{self.where}system.{fieldname}: {line!r} exited with {rc}; last output ({log}):\n{_tail(log)}"
            if fieldname == "audit":  # what the audit found, the step's verdict says; not bad input
                raise AuditFailed(message, returncode=rc, seconds=round(time.time() - t0, 3))
            raise JxcError(message)
        return time.time() - t0

    # -- the running system -----------------------------------------------------------------------------
    def start(self) -> None:
        if not self.system.start:
            self.wait_healthy()
            return
        line = self._fill("start", self.system.start)
        argv = self._argv("start", line)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.start_log = self.log_dir / "start.log"
        out = open(self.start_log, "w")
        try:
            # inside the cgroup before exec: everything it starts is limited and counted too
            self.proc = subprocess.Popen(argv, cwd=self.cwd, env=clean_env(self.system.env), stdout=out,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True, preexec_fn=P.preexec(self.cgroup, None))
        except OSError as exc:
            raise JxcError(f"{self.where}system.start: cannot run {line!r} (in {self.cwd}): {exc.strerror}") from None
        finally:
            out.close()
        registry.claim_process(self.proc.pid)
        self.wait_healthy()

    def healthy(self, timeout_s: float = 5.0) -> bool:
        try:
            with urllib.request.urlopen(self.base_url + self.system.health, timeout=timeout_s) as r:
                return 200 <= r.status < 300
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def wait_healthy(self) -> None:
        deadline = time.time() + self.system.health_timeout_s
        while time.time() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise JxcError(f"{self.where}system.start: {self.system.start!r} exited with {self.proc.returncode} before "
                               f"{self.base_url}{self.system.health} answered; last output ({self.start_log}):\n"
                               f"{_tail(self.start_log)}")
            if self.healthy(timeout_s=1.0):
                return
            time.sleep(0.2)
        raise JxcError(f"{self.where}system.health: {self.base_url}{self.system.health} did not answer 2xx within "
                       f"{self.system.health_timeout_s:g} s (system.health_timeout_s)")

    def pids(self) -> list[int]:
        """The started process (the sampler follows its children): its CPU and memory are the app's."""
        return [self.proc.pid] if self.proc is not None and self.proc.poll() is None else []

    def close(self) -> None:
        try:
            if self.system.stop:
                try:
                    self.run("stop", self.log_dir, timeout_s=60.0)
                except JxcError:
                    pass  # the process group is stopped below anyway
        finally:
            if self.proc is not None:
                _kill_group(self.proc)
                registry.release_process(self.proc.pid)
                self.proc = None

    def __enter__(self) -> ExternalSystem:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGTERM to the command's whole process group, SIGKILL after a grace period."""
    for sig, wait in ((signal.SIGTERM, STOP_GRACE_S), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    # the group may hold children of a started script that outlive its leader
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


__all__ = ["AuditFailed", "ExternalSystem", "clean_env", "free_port"]
