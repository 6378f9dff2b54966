"""``jxcbench chaos PROFILE --customers N``: faults under load (:mod:`loadgen.chaos.run`).

Exit 0 when every acknowledged sales order and payment exists afterwards, the audit is clean and
every fault recovered; 1 otherwise (the table says what); 2 for a bad profile or option.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from loadgen.cli import stops
from loadgen.errors import JxcError

console = Console(stderr=True)


def chaos(
    profile_file: Annotated[Path, typer.Argument(help="Profile YAML file (its `faults` section says what to inject).")],
    customers: Annotated[int, typer.Option("--customers", "-n", min=1, help="Customers in the book.")] = 1000,
    unconstrained: Annotated[bool, typer.Option("--unconstrained", help="Run without hardware limits where cgroups cannot be written.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")] = False,
) -> None:
    """Inject faults during a load (kill an app worker, kill/restart or pause the database, cut its
    network); check that nothing acknowledged was lost and the audit is clean."""
    from loadgen.chaos.run import run_chaos
    from profiles.loader import load_profile

    profile = load_profile(profile_file)
    stops.remove_leftovers(console)
    try:
        with console.status("chaos") as status:
            result = run_chaos(profile, customers, unconstrained=unconstrained,
                               on_stage=lambda text: status.update(text))
    except JxcError as exc:
        raise JxcError(f"{profile_file}: {exc}", exit_code=exc.exit_code) from None
    except KeyboardInterrupt as exc:
        raise stops.stopped(exc, "the chaos run; the system was torn down; nothing kept") from None
    if as_json:
        typer.echo(json.dumps(result, indent=2, default=str))
    print_result(result)
    if not result["ok"]:
        raise typer.Exit(1)


def print_result(result: dict) -> None:
    t = Table(title=f"chaos: {result['profile']} at {result['customers']:,} customers")
    for col in ("fault", "at", "lasted", "failed", "burst", "recovered after"):
        t.add_column(col, justify="left" if col == "fault" else "right", no_wrap=True)
    b = result["baseline"]
    t.add_row("(baseline)", "0 s", "-", f"{b['failed']}/{b['requests']}", f"{b['burst_s']:.2f} s", "-")
    notes = []
    for r in result["faults"]:
        if not r["applicable"]:
            t.add_row(r["fault"], "-", "-", "-", "-", "[dim]not applicable[/]")
            notes.append(f"{r['fault']}: not applicable: {r['reason']}")
            continue
        rec = f"{r['recover_s']:.2f} s" if r["recovered"] else "[red]never[/]"
        t.add_row(r["fault"], f"{r['at_s']:.1f} s", f"{r['fault_s']:.2f} s", f"{r['failed']}/{r['requests']}",
                  f"{r['burst_s']:.2f} s", rec)
        notes.append(f"{r['fault']}: {r['detail']}")
    console.print(t)
    for line in notes:
        console.print(f"  {line}", highlight=False)
    ack, missing = result["acknowledged"], result["missing"]
    colour = "green" if result["missing_total"] == 0 and result["acknowledged_total"] else "red"
    console.print(f"[{colour}]acknowledged: {result['acknowledged_total']}, missing: {result['missing_total']}[/] "
                  f"(sales orders {ack['sales_order']}, missing {len(missing['sales_order'])}; "
                  f"payments {ack['payment']}, missing {len(missing['payment'])})", highlight=False)
    audit = result["audit"]
    bad = {k: v for k, v in audit["counts"].items() if v}
    console.print("[green]audit: no violations[/]" if audit["ok"] else f"[red]audit: violations {bad}[/]",
                  highlight=False)
    if result["unrecovered"]:
        console.print(f"[red]never recovered: {', '.join(result['unrecovered'])}[/]", highlight=False)
    if not result["acknowledged_total"]:
        console.print("[red]nothing was acknowledged: the load never wrote, so nothing was checked[/]")
    console.print("[bold green]OK[/]" if result["ok"] else "[bold red]FAILED[/]")


def register(app: typer.Typer) -> None:
    app.command("chaos")(chaos)


__all__ = ["chaos", "register"]
