"""uvicorn factories of the services and the gateway, configured from the environment.

``uvicorn reference_app.micro.entry:orders --factory`` with ``JXC_DATABASE_URL`` (the service's own
database) and ``JXC_CUSTOMERS_URL`` / ``JXC_INVENTORY_URL`` / ``JXC_ORDERS_URL`` (where its peers
listen). A service run with ``--workers N`` (replicas) spawns fresh interpreters that would keep
serving after their supervisor died; each asks for the parent-death signal before building the app
(Linux ``prctl``; a no-op elsewhere).
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
from typing import Any


def _load_prctl() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _load_prctl()  # looked up before any fork: a preexec only calls it


def die_with_parent() -> None:
    """SIGKILL this process when its parent (the uvicorn supervisor, or :mod:`.run`) dies."""
    parent = multiprocessing.parent_process()
    ppid = parent.pid if parent is not None and parent.pid is not None else os.getppid()
    if _PRCTL is None:
        return
    _PRCTL(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    if os.getppid() != ppid:
        os.kill(os.getpid(), signal.SIGKILL)


def customers() -> Any:
    die_with_parent()
    from reference_app.micro.customers import create_customers_app
    return create_customers_app()


def inventory() -> Any:
    die_with_parent()
    from reference_app.micro.inventory import create_inventory_app
    return create_inventory_app()


def orders() -> Any:
    die_with_parent()
    from reference_app.micro.orders import create_orders_app
    return create_orders_app()


def gateway() -> Any:
    die_with_parent()
    from reference_app.micro.gateway import create_gateway
    from reference_app.micro.service import MicroSettings
    m = MicroSettings()
    return create_gateway({"customers": m.customers_url, "inventory": m.inventory_url, "orders": m.orders_url})


__all__ = ["customers", "inventory", "orders", "gateway", "die_with_parent"]
