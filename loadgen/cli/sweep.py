"""``jxcbench sweep`` (capacity search into an --out directory) and ``jxcbench report`` (re-render)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from loadgen.cli import stops
from loadgen.errors import JxcError

console = Console(stderr=True)


def _load(paths: list[Path]):
    from profiles.loader import load_profiles  # imported here: `jxcbench --help` stays fast

    return load_profiles(paths)


def sweep(
    profiles: Annotated[list[Path], typer.Argument(help="Profile or matrix YAML files.", show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Results directory (re-run into it to resume).")],
    unconstrained: Annotated[bool, typer.Option("--unconstrained", help="Run without hardware limits where cgroups cannot be written; the report says so.")] = False,
    invalid_retries: Annotated[int, typer.Option("--invalid-retries", min=0, help="Re-runs of an invalid step before its level counts as unknown.")] = 2,
    as_json: Annotated[bool, typer.Option("--json", help="Print the capacity summary as JSON on stdout.")] = False,
    max_foreign_cpu: Annotated[str | None, typer.Option("--max-foreign-cpu", help="Busy-machine threshold in % of one core at the 90th percentile (others' CPU); 'off' disables (default: $JXCBENCH_MAX_FOREIGN_CPU or 10).")] = None,
    lang: Annotated[str, typer.Option("--lang", help="Language of the reports: en or zh.")] = "en",
) -> None:
    """Find the largest customer count each profile sustains within its SLO (resumable)."""
    import os

    from loadgen.cli.run import check_max_foreign_cpu
    from loadgen.measure.validity import FOREIGN_CPU_ENV

    check_max_foreign_cpu(max_foreign_cpu)
    if max_foreign_cpu is not None:
        os.environ[FOREIGN_CPU_ENV] = max_foreign_cpu  # every step of this sweep reads it
    from loadgen.capacity.sweep import Sweep
    from reports.render.verdict import verdict

    _check_lang(lang)
    plans = _load(profiles)
    # SIGINT and SIGTERM (also with SIGINT ignored, as in a background job) stop the sweep with
    # finished steps kept: loadgen.cli.stops, installed by the CLI's main.
    stops.remove_leftovers(console)
    job = Sweep(plans, out, unconstrained=unconstrained, invalid_retries=invalid_retries,
                log=lambda message: console.print(message, highlight=False))
    try:
        doc = job.run()
    except JxcError:
        if job.started:  # a refused --out is never written to
            _report_if_any(out)
        raise
    written = _write_reports(out, doc, lang)
    if as_json:
        summary = [{k: e.get(k) for k in ("name", "max_customers", "first_failing_customers", "projected_max_customers",
                                          "projection", "limiting_factor")} for e in doc["profiles"]]
        typer.echo(json.dumps({"out": str(out), "partial": doc["partial"], "report": str(written.html),
                               "profiles": summary}, indent=2))
    else:
        for entry in doc["profiles"]:
            typer.echo(verdict(entry, lang))
    console.print(f"{job.measured} step(s) measured, {job.reused} reused.", highlight=False)
    console.print(f"Also {written.markdown.name}, {written.xlsx.name} and {len(written.charts)} charts in {out}.",
                  highlight=False, soft_wrap=True)
    typer.echo(f"Report: {written.html}")


def _check_lang(lang: str) -> str:
    from reports.render.i18n import LANGS

    if lang not in LANGS:
        raise JxcError(f"--lang {lang!r}: choose one of {', '.join(LANGS)}")
    return lang


def _write_reports(out: Path, doc: dict, lang: str):
    """report.html, report.md, report.xlsx and the charts; a note (e.g. no CJK font) said once."""
    from reports.render.report import write_all

    written = write_all(out, doc, lang=lang)
    for note in written.notes:
        console.print(f"note: {note}", highlight=False)
    return written



def quickstart(
    out: Annotated[Path, typer.Option("--out", "-o", help="Results directory (re-run into it to resume).")] = Path("jxcbench-quickstart"),
    max_foreign_cpu: Annotated[str | None, typer.Option("--max-foreign-cpu", help="Busy-machine threshold in % of one core at the 90th percentile (others' CPU); 'off' disables (default: $JXCBENCH_MAX_FOREIGN_CPU or 10).")] = None,
    lang: Annotated[str, typer.Option("--lang", help="Language of the reports: en or zh.")] = "en",
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
    # One re-run of an invalid or inconclusive step, not two: near the boundary a level often stays
    # inconclusive (a rare operation's p95 bound straddles its threshold), and a third ~60 s attempt
    # would cost a fifth of the quickstart's five minutes; it is then counted as not held.
    sweep(profiles=[QUICKSTART_PROFILE], out=out, max_foreign_cpu=max_foreign_cpu, lang=lang, invalid_retries=1)
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
    lang: Annotated[str, typer.Option("--lang", help="Language of the reports: en or zh.")] = "en",
) -> None:
    """Re-render report.html, report.md, report.xlsx and charts/ from results files (no load, no database)."""
    from loadgen.capacity.results import load_capacity

    _check_lang(lang)
    doc = load_capacity(results)
    directory = results if results.is_dir() else results.parent
    written = _write_reports(directory, doc, lang)
    for sentence in written.verdicts:  # as the reports say it (a projection computed from older results too)
        typer.echo(sentence)
    console.print(f"Also {written.markdown}, {written.xlsx} and {len(written.charts)} charts.", highlight=False)
    typer.echo(f"Report: {written.html}")


def register(app: typer.Typer) -> None:
    app.command("sweep")(sweep)
    app.command("quickstart")(quickstart)
    app.command("report")(report)


__all__ = ["register"]
