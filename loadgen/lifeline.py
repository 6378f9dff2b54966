"""Children that do not outlive jxcbench: the Linux parent-death signal (``PR_SET_PDEATHSIG``).

Every process jxcbench starts — the uvicorn supervisor and its workers, a managed PostgreSQL or
MariaDB server and its setup commands, the Locust engine and its local workers, the seeder's data
generator — asks the kernel for SIGKILL the moment its parent dies, so a ``kill -9`` of jxcbench (or
of a worker's supervisor) takes its children with it instead of leaving them serving on their port
with parent PID 1. What they leave on disk, the next run removes (:mod:`loadgen.sut.registry`).

Three rules of the kernel shape the code:

* The signal is cleared when the child changes credentials (``setuid``/``setgid``) or execs a
  set-user-ID binary, so :func:`preexec` sets it *after* whatever it runs first (cgroup join,
  setuid).
* The parent may die between ``fork`` and ``prctl``; the child then checks ``getppid()`` against
  the pid it was forked from and dies at once if they differ.
* The signal fires when the *thread* that forked the child ends, not the process. jxcbench starts
  its children from the main thread, which lives as long as the process; a preexec built in
  another thread sets no signal (a short-lived thread would otherwise take its children along).

No-op where ``prctl`` is missing (not Linux).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
from collections.abc import Callable

PR_SET_PDEATHSIG = 1


def _load_prctl():
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    fn.restype = ctypes.c_int
    return fn


# Looked up once here, in the parent: between fork and exec the child only calls it.
_PRCTL = _load_prctl()


def die_with_parent(parent_pid: int, sig: int = signal.SIGKILL) -> None:
    """In a child of ``parent_pid``: get ``sig`` when the parent dies; die now if it already has."""
    if _PRCTL is None:
        return
    _PRCTL(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    if os.getppid() != parent_pid:
        os.kill(os.getpid(), sig)


def preexec(then: Callable[[], None] | None = None, *, sig: int = signal.SIGKILL) -> Callable[[], None] | None:
    """A ``preexec_fn``: run ``then`` (joining a cgroup, dropping privileges), then :func:`die_with_parent`.

    Built in a thread other than the main thread it only runs ``then`` (see the module docstring).
    """
    if _PRCTL is None or threading.current_thread() is not threading.main_thread():
        return then
    parent = os.getpid()

    def _preexec() -> None:
        if then is not None:
            then()
        die_with_parent(parent, sig)

    return _preexec


__all__ = ["die_with_parent", "preexec"]
