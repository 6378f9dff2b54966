"""Joining one of jxcbench's network namespaces (``setns(2)``; Python 3.11 has no ``os.setns``).

Its own module, at the root, because two layers need it: ``loadgen.sut.netns`` creates the
namespaces and puts the database server in one, and the load engine (``loadgen.workload.engine``)
starts its workers in another by name — and the workload layer must not import the system layer
(``tests/test_architecture.py``: ``loadgen.sut`` already builds on ``loadgen.workload``).
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

PREFIX = "jxcbench-"            # every namespace jxcbench makes is named jxcbench-<run id>
NETNS_DIR = Path("/run/netns")  # where ``ip netns`` keeps them
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)
_setns = _libc.setns
_setns.argtypes = [ctypes.c_int, ctypes.c_int]


def join_fd(fd: int, name: str) -> None:
    """Move the calling thread (or, in a ``preexec_fn``, the child) into the namespace open at ``fd``."""
    if _setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns({name}): {os.strerror(err)}")


def enter_named(name: str) -> None:
    """Join the namespace ``name`` -- for a process that did not create it (the load engine starting
    its workers in the namespace of ``--load-network``)."""
    if not name.startswith(PREFIX) or "/" in name:
        raise ValueError(f"not a jxcbench network namespace: {name!r}")
    fd = os.open(NETNS_DIR / name, os.O_RDONLY | os.O_CLOEXEC)
    try:
        join_fd(fd, name)
    finally:
        os.close(fd)


__all__ = ["CLONE_NEWNET", "NETNS_DIR", "PREFIX", "enter_named", "join_fd"]
