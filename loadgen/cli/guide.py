"""``jxcbench guide RESULTS... --out DIR`` — a sizing guide from sweeps (see :mod:`reports.guide`)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from loadgen.errors import JxcError

console = Console(stderr=True)


def guide(
    results: Annotated[list[Path], typer.Argument(help="Sweep --out directories (or their capacity.json).", show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for guide.<lang>.html / .md / .xlsx.")],
    lang: Annotated[list[str] | None, typer.Option("--lang", help="en and/or zh (repeatable; default both).")] = None,
) -> None:
    """A sizing guide from sweeps: the smallest profile that held each customer range (HTML, Markdown, Excel).

    With its staff, the measured figure, the limiting factor, the cost per 1,000 customers and the
    conditions (machine, jxcbench version, date), in English and/or Chinese.
    """
    from loadgen.capacity.results import load_capacity
    from reports.guide import write_guide
    from reports.render.i18n import LANGS

    langs = lang or list(LANGS)
    for value in langs:
        if value not in LANGS:
            raise JxcError(f"--lang {value!r}: choose one of {', '.join(LANGS)}")
    sources = [(str(path), load_capacity(path)) for path in results]
    command = "jxcbench guide " + " ".join(shlex.quote(a) for a in sys.argv[2:]) if len(sys.argv) > 1 and sys.argv[1] == "guide" else None
    files, notes = write_guide(out, sources, langs, command=command)
    for note in notes:
        console.print(f"note: {note}", highlight=False)
    for path in files:
        typer.echo(path)


def register(app: typer.Typer) -> None:
    app.command("guide")(guide)


__all__ = ["register"]
