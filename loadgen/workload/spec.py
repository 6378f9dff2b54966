"""What a workload is: personas, each a role to log in as and weighted, named operations.

An operation is a plain function ``op(session)`` that makes one request (rarely a short chain) through
:class:`loadgen.workload.session.Session`, naming it after itself. The same functions serve the
closed model (Locust users with think times) and the open model (a schedule of arrivals), so both
load the system with the same requests. This module imports no Locust: the step process builds
plans from it without loading gevent.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from loadgen.workload.session import Session

Operation = Callable[["Session"], None]


@dataclass(frozen=True)
class Persona:
    name: str
    role: str | None                      # operator role to log in as (None: no login)
    operations: dict[str, tuple[float, Operation]]  # name -> (default weight, function)

    def weights(self, overrides: dict[str, float] | None = None) -> dict[str, float]:
        w = {name: weight for name, (weight, _) in self.operations.items()}
        for name, weight in (overrides or {}).items():
            if name in w:
                w[name] = float(weight)
        return w


@dataclass(frozen=True)
class Workload:
    personas: dict[str, Persona]
    login: Callable[["Session", str, str], None] | None = None
    prepare: Callable[["Session"], None] | None = None   # after login: learn ids to work on
    refusal_statuses: tuple[int, ...] = (409,)
    extra: dict = field(default_factory=dict)


def load_workload(ref: str) -> Workload:
    """``"package.module:NAME"`` -> the Workload object (so worker processes can find it by name)."""
    module, _, attr = ref.partition(":")
    try:
        obj = getattr(importlib.import_module(module), attr or "WORKLOAD")
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"workload {ref!r} not found: {exc}") from exc
    if not isinstance(obj, Workload):
        raise ValueError(f"workload {ref!r} is a {type(obj).__name__}, not a Workload")
    return obj


__all__ = ["Operation", "Persona", "Workload", "load_workload"]
