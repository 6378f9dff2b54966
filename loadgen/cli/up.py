"""``jxcbench up PROFILE``: start the profile's system, seeded, and keep it up until Ctrl-C / SIGTERM.

Point Locust's own web UI (or anything else) at the printed base URL; log in with any seeded
operator (password ``loadgen.synth.LOADTEST_PASSWORD``).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer
from rich.console import Console

from loadgen.cli import stops
from loadgen.errors import JxcError
from profiles.loader import load_profile
from profiles.schema import format_size


def _operators(db_url: str, limit: int = 3) -> dict[str, list[str]]:
    """A few usernames per role, read from the operators table (what the seeder created)."""
    from sqlalchemy import select

    from reference_app.db import make_engine
    from reference_app.models import Operator

    eng = make_engine(db_url, pool_size=1, max_overflow=0)
    try:
        with eng.connect() as conn:
            rows = conn.execute(select(Operator.role, Operator.username).order_by(Operator.id)).all()
    finally:
        eng.dispose()
    out: dict[str, list[str]] = {}
    for role, username in rows:
        out.setdefault(str(role), [])
        if len(out[str(role)]) < limit:
            out[str(role)].append(username)
    return out


def up(
    profile_file: Path = typer.Argument(..., help="Profile file (YAML)."),
    customers: int = typer.Option(None, "--customers", min=1, help="Seed/grow the database to N customers "
                                  "(default: the profile's sweep.start_customers)."),
    unconstrained: bool = typer.Option(False, "--unconstrained", help="Run without cgroup limits (recorded as "
                                       "'native, unconstrained') where cgroups cannot be written."),
    port: int = typer.Option(None, "--port", min=1, max=65535, help="App port on 127.0.0.1 (default: a free one)."),
    as_json: bool = typer.Option(False, "--json", help="Print the system's description as one JSON line."),
) -> None:
    """Bring up the profile's system (cgroup, database, seeded data, app) and wait; Ctrl-C tears it down."""
    from loadgen.synth import LOADTEST_PASSWORD
    from loadgen.sut.launcher import SystemUnderTest

    profile = load_profile(profile_file)
    n = customers or profile.sweep.start_customers
    out = Console(soft_wrap=True)
    stops.remove_leftovers(Console(stderr=True))
    try:
        with SystemUnderTest(profile, unconstrained=unconstrained, port=port) as sut:
            out.print(f"[dim]{profile.name}: database up ({profile.database.engine}); seeding {n} customers...[/]",
                      highlight=False)
            sut.seed(n)
            sut.start_app()
            ops = _operators(sut.db_url)
            desc = {**sut.describe(), "cgroup": sut.cgroup_path, "customers": n,
                    "password": LOADTEST_PASSWORD, "operators": ops,
                    "app_pids": sut.app_pids(), "db_pids": sut.db_pids()}
            if as_json:
                typer.echo(json.dumps(desc, default=str), nl=True)
            else:
                lim = sut.limits
                out.print(f"[bold green]up[/] {sut.base_url}", highlight=False)
                out.print(f"database: {desc['database']['url']}", highlight=False)
                out.print(f"limits: {lim.get('mode')}: cpus={lim.get('cpus')} cpuset={lim.get('cpuset')} "
                          f"memory={format_size(lim.get('memory'))} swap={lim.get('swap', '-')}", highlight=False)
                out.print(f"cgroup: {sut.cgroup_path or '(none)'}", highlight=False)
                for role, names in ops.items():
                    out.print(f"operators ({role}): {', '.join(names)}", highlight=False)
                out.print(f"password (every operator): {LOADTEST_PASSWORD}", highlight=False)
                out.print("Ctrl-C or SIGTERM stops everything.", highlight=False)
            import sys

            sys.stdout.flush()
            while True:
                time.sleep(0.5)
                if not sut.app_running():
                    out.print("[red]the app exited; tearing down[/]")
                    raise typer.Exit(code=1)
    except JxcError as exc:
        # Name the file: "PROFILE: database.settings: ..." like every other profile error.
        raise JxcError(f"{profile_file}: {exc}", exit_code=exc.exit_code) from None
    except KeyboardInterrupt as exc:  # Ctrl-C, SIGINT or SIGTERM (Terminated)
        raise stops.stopped(exc, "the system was torn down (app, database, cgroup, temporary files); "
                                 "nothing kept") from None


def register(app: typer.Typer) -> None:
    app.command("up")(up)


__all__ = ["register", "up"]
