"""``jxcbench compare BASE CURRENT`` — the CI gate (see :mod:`reports.compare`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from loadgen.errors import JxcError

console = Console(stderr=True)


def compare(
    base: Annotated[Path, typer.Argument(help="Baseline results: a sweep's --out directory or its capacity.json.", show_default=False)],
    current: Annotated[Path, typer.Argument(help="Current results, the same way.", show_default=False)],
    max_drop: Annotated[str, typer.Option("--max-drop", help="Allowed capacity drop per profile (10% or 0.1).")] = "10%",
    junit: Annotated[Path | None, typer.Option("--junit", help="Also write a JUnit XML file here.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Compare results of another machine, profile or version anyway.")] = False,
) -> None:
    """Capacity and per-operation p95, baseline vs current, as a Markdown table (for a CI job summary).

    Exit 0: no regression; 1: a capacity dropped more than --max-drop, or a level that passed in the
    baseline fails now; 2: not comparable (machine, profile, version) unless --force, or bad input.
    """
    from loadgen.capacity.results import load_capacity
    from reports.compare import compare as run_compare
    from reports.compare import parse_drop

    try:
        drop = parse_drop(max_drop)
    except ValueError as exc:
        raise JxcError(str(exc)) from None
    result = run_compare(load_capacity(base), load_capacity(current), max_drop=drop, force=force)
    typer.echo(result.markdown(), nl=False)
    if junit is not None:
        junit.write_text(result.junit())
        console.print(f"JUnit: {junit}", highlight=False)
    raise typer.Exit(code=result.exit_code)


def register(app: typer.Typer) -> None:
    app.command("compare")(compare)


__all__ = ["register"]
