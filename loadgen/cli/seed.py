"""``jxcbench seed``: fill a database with synthetic customers, grow it, and go back.

    jxcbench seed --db URL --customers N [--seed S] [--quota Q] [--index-level basic|tuned] [--json]
    jxcbench seed snapshot --db URL --name NAME      # keep a copy (PG template / file copy / table copy)
    jxcbench seed restore  --db URL --name NAME      # go back to it
    jxcbench seed snapshots --db URL                 # list them
    jxcbench seed drop-snapshot --db URL --name NAME
    jxcbench seed backup --db URL                    # time an engine-native backup and its restore
"""

from __future__ import annotations

import json
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from loadgen.cli import stops
from loadgen.errors import JxcError

_out = Console()
_err = Console(stderr=True)


def _print_summary(s) -> None:
    t = Table(title=f"seeded {s.customers:,} customers on {s.engine} "
                    f"({'nothing to do' if s.noop else f'+{s.added_customers:,} in {s.seconds:.1f} s'})")
    t.add_column("table")
    t.add_column("rows", justify="right")
    t.add_column("added now", justify="right")
    for name, n in s.rows.items():
        t.add_row(name, f"{n:,}", f"{s.rows_added.get(name, 0):,}")
    _out.print(t)
    added = sum(s.rows_added.values())
    rate = f", {added / s.seconds:,.0f} rows/s" if s.seconds > 0 and added else ""
    _out.print(f"{s.bytes_on_disk / 2**20:,.1f} MiB on disk, {s.bytes_per_customer:,.0f} bytes per customer"
               f"{rate}")


def register(app: typer.Typer) -> None:
    seed_app = typer.Typer(help="Seed synthetic customers (grow in place), snapshot and restore.",
                           no_args_is_help=False)

    @seed_app.callback(invoke_without_command=True)
    def seed(
        ctx: typer.Context,
        db: Optional[str] = typer.Option(None, "--db", help="SQLAlchemy URL of the database"),
        customers: Optional[int] = typer.Option(None, "--customers", help="seeded customers wanted (grows in place)"),
        seed_: int = typer.Option(42, "--seed", help="random seed: same seed, same rows on every engine"),
        quota: int = typer.Option(1000, "--quota", help="customer quota per salesperson (sizes the operators)"),
        index_level: Optional[str] = typer.Option(None, "--index-level",
                                                  help="basic | tuned (default: keep the database's, basic if new)"),
        no_history: bool = typer.Option(False, "--no-history", help="customers only, no orders or payments"),
        chunk: int = typer.Option(20_000, "--chunk", hidden=True, help="customers per transaction"),
        as_json: bool = typer.Option(False, "--json", help="print the summary as JSON"),
    ) -> None:
        """Bring --db to --customers seeded customers (no-op if already there; resumes after a kill)."""
        if ctx.invoked_subcommand is not None:
            return
        if db is None or customers is None:
            raise JxcError("seed needs --db URL and --customers N (or a subcommand: snapshot, restore, snapshots)")
        from loadgen.seed import seed_database

        try:
            summary = seed_database(db, customers, seed=seed_, customer_quota=quota, index_level=index_level,
                                    progress=not as_json, history=not no_history, chunk_customers=chunk)
        except KeyboardInterrupt as exc:  # Ctrl-C, SIGINT or SIGTERM (Terminated)
            raise stops.stopped(exc, "seeding; the database holds every chunk finished so far and passes the "
                                     "audit; run the same command again to finish") from None
        if as_json:
            print(json.dumps(summary.as_dict()))
        else:
            _print_summary(summary)

    @seed_app.command("snapshot")
    def snapshot_cmd(db: str = typer.Option(..., "--db"), name: str = typer.Option(..., "--name"),
                     as_json: bool = typer.Option(False, "--json")) -> None:
        """Keep a copy of the whole database under NAME (replaces one of that name)."""
        from loadgen.seed import snapshot

        secs = snapshot(db, name)
        print(json.dumps({"snapshot": name, "seconds": round(secs, 3)}) if as_json
              else f"snapshot {name!r} taken in {secs:.2f} s")

    @seed_app.command("restore")
    def restore_cmd(db: str = typer.Option(..., "--db"), name: str = typer.Option(..., "--name"),
                    as_json: bool = typer.Option(False, "--json")) -> None:
        """Put the database back to snapshot NAME (stop the app first; the snapshot is kept)."""
        from loadgen.seed import restore

        secs = restore(db, name)
        print(json.dumps({"restored": name, "seconds": round(secs, 3)}) if as_json
              else f"restored {name!r} in {secs:.2f} s")

    @seed_app.command("snapshots")
    def list_cmd(db: str = typer.Option(..., "--db")) -> None:
        """List the snapshots of --db."""
        from loadgen.seed import list_snapshots

        for n in list_snapshots(db):
            print(n)

    @seed_app.command("backup")
    def backup_cmd(db: str = typer.Option(..., "--db"), as_json: bool = typer.Option(False, "--json")) -> None:
        """Time an engine-native backup of --db and its restore into a scratch copy (then removed)."""
        import shutil
        import tempfile
        from pathlib import Path

        from loadgen.seed.backup import SCRATCH, measure_backup
        from loadgen.sut import registry

        work = Path(tempfile.mkdtemp(prefix="jxcbench-backup-"))
        registry.claim_dir(work)  # a kill mid-way: the next up/run/sweep removes both
        registry.claim_snapshot(db, SCRATCH)
        try:
            got = measure_backup(db, work)
        except KeyboardInterrupt as exc:
            raise stops.stopped(exc, "the backup; its scratch copy and file removed, the database untouched") from None
        finally:
            shutil.rmtree(work, ignore_errors=True)
            registry.release_snapshot(db, SCRATCH)
            registry.release_dir(work)
        print(json.dumps(got) if as_json else
              f"{got['tool']}: backup {got['backup_s']:.2f} s, {got['bytes'] / 2**20:,.1f} MiB; "
              f"restore {got['restore_s']:.2f} s ({got['customers_restored']:,} customers restored)")

    @seed_app.command("drop-snapshot")
    def drop_cmd(db: str = typer.Option(..., "--db"), name: str = typer.Option(..., "--name")) -> None:
        """Delete snapshot NAME."""
        from loadgen.seed import drop_snapshot

        drop_snapshot(db, name)

    app.add_typer(seed_app, name="seed")


__all__ = ["register"]
