"""``jxcbench sweep`` (capacity search into an --out directory) and ``jxcbench report`` (re-render)."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from loadgen.errors import JxcError

console = Console(stderr=True)


def _load(paths: list[Path]):
    from profiles.loader import load_profiles  # imported here: `jxcbench --help` stays fast

    return load_profiles(paths)


def _raise_on_sigterm() -> None:
    """A SIGTERM (a CI timeout, ``kill``) stops the sweep like Ctrl-C: finished steps are kept."""

    def handler(signum, frame):  # noqa: ARG001 - signal handler signature
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def sweep(
    profiles: Annotated[list[Path], typer.Argument(help="Profile or matrix YAML files.", show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Results directory (re-run into it to resume).")],
    unconstrained: Annotated[bool, typer.Option("--unconstrained", help="Run without hardware limits where cgroups cannot be written; the report says so.")] = False,
    invalid_retries: Annotated[int, typer.Option("--invalid-retries", min=0, help="Re-runs of an invalid step before its level counts as unknown.")] = 2,
    as_json: Annotated[bool, typer.Option("--json", help="Print the capacity summary as JSON on stdout.")] = False,
) -> None:
    """Find the largest customer count each profile sustains within its SLO (resumable)."""
    from loadgen.capacity.sweep import Sweep
    from reports.render.markdown import write_report
    from reports.render.verdict import verdict

    plans = _load(profiles)
    job = Sweep(plans, out, unconstrained=unconstrained, invalid_retries=invalid_retries,
                log=lambda message: console.print(message, highlight=False))
    _raise_on_sigterm()
    try:
        doc = job.run()
    except JxcError:
        if job.started:  # a refused --out is never written to
            _report_if_any(out)
        raise
    report = write_report(out, doc)
    if as_json:
        summary = [{k: e[k] for k in ("name", "max_customers", "first_failing_customers", "limiting_factor")} for e in doc["profiles"]]
        typer.echo(json.dumps({"out": str(out), "partial": doc["partial"], "profiles": summary}, indent=2))
    else:
        for entry in doc["profiles"]:
            typer.echo(verdict(entry))
    console.print(f"{job.measured} step(s) measured, {job.reused} reused. Report: {report}", highlight=False)



def quickstart(
    out: Annotated[Path, typer.Option("--out", "-o", help="Results directory (re-run into it to resume).")] = Path("jxcbench-quickstart"),
) -> None:
    """A real capacity search of the reference app on embedded SQLite on this machine (a few minutes).

    The same search as ``jxcbench sweep profiles/sqlite-quickstart.yaml --out DIR``: no server to set
    up, no hardware limits (the app and the load generator share this machine's cores, so the figure
    is this machine's, load generator included). Ends with the verdict and the report's path.
    """
    import time

    from profiles.loader import QUICKSTART_PROFILE

    if not QUICKSTART_PROFILE.is_file():
        raise JxcError(f"the quickstart profile is missing: {QUICKSTART_PROFILE} (reinstall jxcbench)", exit_code=1)
    from profiles.loader import load_profile

    business = load_profile(QUICKSTART_PROFILE).business
    models = f" — it models {business}, not a sizing figure" if business else ""
    console.print(f"Quickstart: capacity search of {QUICKSTART_PROFILE.name} into {out}/{models}", highlight=False,
                  markup=False)
    t0 = time.monotonic()
    sweep(profiles=[QUICKSTART_PROFILE], out=out)
    console.print(f"Quickstart took {time.monotonic() - t0:.0f} s.", highlight=False)


def _report_if_any(out: Path) -> None:
    from loadgen.capacity.results import load_capacity
    from reports.render.markdown import write_report

    try:
        write_report(out, load_capacity(out))
    except JxcError:
        pass  # nothing finished yet: no report to write


def report(
    results: Annotated[Path, typer.Argument(help="A sweep's --out directory (or its capacity.json).", show_default=False)],
) -> None:
    """Re-render report.md from a sweep's results files (no load, no database)."""
    from loadgen.capacity.results import load_capacity
    from reports.render.markdown import write_report
    from reports.render.verdict import verdict

    doc = load_capacity(results)
    directory = results if results.is_dir() else results.parent
    path = write_report(directory, doc)
    for entry in doc["profiles"]:
        typer.echo(verdict(entry))
    console.print(f"Report: {path}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("sweep")(sweep)
    app.command("quickstart")(quickstart)
    app.command("report")(report)


__all__ = ["register"]
