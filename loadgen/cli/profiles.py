"""``jxcbench profiles validate FILE...`` and ``jxcbench profiles list [DIR]``."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from loadgen.errors import JxcError
from profiles.loader import SHIPPED_DIR, ProfileError, load_file, profile_files
from profiles.schema import Profile, format_size


profiles_app = typer.Typer(help="Check and list profile files (hardware x database x architecture).", no_args_is_help=True)


@profiles_app.command("validate")
def validate(files: list[Path] = typer.Argument(..., help="Profile or matrix files (YAML).")) -> None:
    """Check profile files; prints each profile they define, or one line per bad file (exit 2)."""
    out, err = Console(), Console(stderr=True)
    bad = 0
    for path in files:
        try:
            loaded = load_file(path)
        except ProfileError as exc:
            bad += 1
            err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            continue
        names = ", ".join(p.name or "?" for p in loaded)
        out.print(f"ok {path}: {len(loaded)} profile{'s' if len(loaded) != 1 else ''} ({names})", highlight=False, soft_wrap=True)
    if bad:
        raise typer.Exit(code=JxcError.exit_code)


@profiles_app.command("list")
def list_(
    directory: Path = typer.Argument(None, help="Directory of profile files (default: the shipped examples)."),
    as_json: bool = typer.Option(False, "--json", help="Print the profiles as JSON."),
) -> None:
    """List the profiles in a directory: engine, limits, workers; invalid files are shown as such."""
    files = profile_files(directory or SHIPPED_DIR)
    rows: list[tuple[Path, Profile | None, str]] = []
    for path in files:
        try:
            rows.extend((path, p, "") for p in load_file(path))
        except ProfileError as exc:
            rows.append((path, None, str(exc)))
    if as_json:
        doc = [
            {"file": str(path), "name": p.name, "profile": p.model_dump(mode="json")} if p else
            {"file": str(path), "error": error}
            for path, p, error in rows
        ]
        typer.echo(json.dumps(doc, indent=2))
        return
    table = Table("name", "engine", "db", "cpus", "memory", "workers", "file")
    for path, p, error in rows:
        if p is None:
            table.add_row("[red]invalid[/]", "", "", "", "", "", f"{path.name}: {error}")
            continue
        db = "managed" if p.database.managed else ("file" if p.database.engine == "sqlite" and not p.database.url else "external")
        cpus = "-" if p.hardware.cpus is None else f"{p.hardware.cpus:g}"
        if p.hardware.cpuset is not None:
            cpus += f" (cpuset {p.hardware.cpuset})"
        table.add_row(p.name, p.database.engine, db, cpus, format_size(p.hardware.memory),
                      str(p.architecture.workers), path.name)
    console = Console()
    if not console.is_terminal:  # piped: do not squeeze names into 80 columns
        console = Console(width=200)
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(profiles_app, name="profiles")


__all__ = ["register", "profiles_app"]
