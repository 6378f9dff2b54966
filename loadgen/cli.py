"""The ``jxcbench`` command line: one Typer app; each command group lives in its own module.

A module in ``COMMAND_MODULES`` exposes ``register(app)``, which adds its commands. Errors the user
can fix are raised as :class:`loadgen.errors.JxcError` and end as one red line and exit code 2
(or the error's own code), never as a traceback.
"""

from __future__ import annotations

import importlib
import sys

import typer
from rich.console import Console

from loadgen.errors import JxcError

COMMAND_MODULES = [
    "loadgen.run_command",
    "loadgen.profile_commands",
    "loadgen.up_command",
    "loadgen.sweep_command",
    "loadgen.app_commands",
    "loadgen.seed_commands",
]

app = typer.Typer(
    name="jxcbench",
    help="How many customers can this JXC system hold on this server? Measured, not guessed.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err_console = Console(stderr=True)

for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def main() -> None:
    try:
        app()
    except JxcError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
