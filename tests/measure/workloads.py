"""Tiny workloads for testing the load machinery against a toy HTTP server (no JXC app needed)."""

from __future__ import annotations

import time

from loadgen.workload.session import Session
from loadgen.workload.spec import Persona, Workload


def ping(s: Session) -> None:
    s.call("ping", "GET", "/ping")


def burn_then_ping(s: Session) -> None:
    # Spend ~30 ms of load-generator CPU per request: a generator that cannot keep up.
    t = time.perf_counter() + 0.03
    while time.perf_counter() < t:
        pass
    s.call("ping", "GET", "/ping")


def refuse(s: Session) -> None:
    s.call("refuse", "POST", "/refuse", json={}, refusable=True)


PING = Workload(personas={"pinger": Persona("pinger", None, {"ping": (1.0, ping)})})
MIXED = Workload(personas={
    "pinger": Persona("pinger", None, {"ping": (3.0, ping), "refuse": (1.0, refuse)}),
})
BURN = Workload(personas={"burner": Persona("burner", None, {"ping": (1.0, burn_then_ping)})})


def ident_login(s: Session, username: str, password: str) -> None:
    # The toy server counts logins per username: a username logged in twice = an operator reused.
    s.call("login", "GET", f"/login?u={username}")


def ident_ping(s: Session) -> None:
    s.call("ping", "GET", f"/ping?u={s.username}")


IDENT = Workload(personas={
    "sales": Persona("sales", "sales", {"ping": (1.0, ident_ping)}),
    "clerk": Persona("clerk", "clerk", {"ping": (1.0, ident_ping), "refuse": (1.0, refuse)}),
}, login=ident_login)


def half_login(s: Session, username: str, password: str) -> None:
    # Accounts named "bad..." cannot log in: login failures the step must count and report.
    from loadgen.workload.runtime import LoginFailed

    s.call("login", "GET", f"/login?u={username}")
    if username.startswith("bad"):
        raise LoginFailed(f"{username}: refused")


HALF_LOGIN = Workload(personas={"sales": Persona("sales", "sales", {"ping": (1.0, ident_ping)})}, login=half_login)
