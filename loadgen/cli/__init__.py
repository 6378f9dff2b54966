"""The ``jxcbench`` command line: one Typer app; each command group is one thin module here
(parse, call the library, print, exit code).

A module in ``COMMAND_MODULES`` exposes ``register(app)``, which adds its commands. Errors the user
can fix are raised as :class:`loadgen.errors.JxcError` and end as one red line and exit code 2
(or the error's own code), never as a traceback; a command stopped by SIGINT / SIGTERM ends as one
line saying what was stopped and kept, exit 130 / 143 (:mod:`loadgen.cli.stops`).
"""

from __future__ import annotations

import importlib
import sys

import typer
from rich.console import Console

from loadgen.errors import JxcError

COMMAND_MODULES = [
    "loadgen.cli.run",
    "loadgen.cli.profiles",
    "loadgen.cli.up",
    "loadgen.cli.sweep",
    "loadgen.cli.reference",
    "loadgen.cli.seed",
    "loadgen.cli.compare",
    "loadgen.cli.guide",
    "loadgen.cli.chaos",
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


def given_value(param: object, argv: list[str]) -> str | None:
    """The value typed on the command line for option ``param`` (``--opt V``, ``--opt=V``, ``-o V``);
    the last one wins, as in Click. None for an argument or when it is not on the line."""
    found = None
    opts = [o for o in getattr(param, "opts", []) if o.startswith("-")]
    for i, token in enumerate(argv):
        for opt in opts:
            if token == opt and i + 1 < len(argv):
                found = argv[i + 1]
            elif opt.startswith("--") and token.startswith(opt + "="):
                found = token[len(opt) + 1:]
    return found


def _name_the_value() -> None:
    """Make Click's / Typer's "Invalid value for '--customers': Input should be greater than or
    equal to 1" say which value it was: a CI log shows the message, often not the command line
    that a script built. Click's error carries the parameter, not the raw value, so it is read
    back from argv; the wording is kept, the value is appended."""
    import click

    try:  # Typer >= 0.25 parses with its own copy of Click
        from typer._click.exceptions import BadParameter as TyperBadParameter
    except ImportError:
        TyperBadParameter = None
    for cls in {click.exceptions.BadParameter, TyperBadParameter} - {None}:
        original = cls.format_message
        if getattr(original, "_names_value", False):
            continue

        def format_message(self, _original=original) -> str:  # self: a BadParameter
            message = _original(self)
            value = given_value(self.param, sys.argv[1:]) if self.param is not None else None
            if value is not None and repr(value) not in message:
                message += f" (got {value!r})"
            return message

        format_message._names_value = True  # type: ignore[attr-defined]
        cls.format_message = format_message  # type: ignore[method-assign]


def main() -> None:
    from loadgen.cli import stops

    stops.catch_signals()
    _name_the_value()
    try:
        app()
    except stops.Stopped as exc:
        err_console.print(f"[yellow]stopped[/] ({stops.signal_name(exc.exit_code)}): {exc}", highlight=False,
                          soft_wrap=True)
        sys.exit(exc.exit_code)
    except JxcError as exc:
        if exc.exit_code in (130, 143):  # a stop raised below the CLI (e.g. the sweep's)
            err_console.print(f"[yellow]stopped[/] ({stops.signal_name(exc.exit_code)}): {exc}", highlight=False,
                              soft_wrap=True)
        else:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except SystemExit as exc:
        # A signal no command turned into its own line: Typer exits 130 for any KeyboardInterrupt,
        # SIGTERM's Terminated included; say which it was and exit 128 + its number.
        if exc.code == 130 and stops.received:
            code = stops.exit_code()
            err_console.print(f"[yellow]stopped[/] ({stops.signal_name(code)})", highlight=False)
            sys.exit(code)
        raise


if __name__ == "__main__":
    main()
