"""``jxcbench run`` (one measured step) and ``jxcbench worker`` (a load-generator worker process)."""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from loadgen.cli import stops
from loadgen.errors import JxcError

console = Console(stderr=True)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h)?\s*$")
_UNITS = {None: 1.0, "s": 1.0, "ms": 0.001, "m": 60.0, "min": 60.0, "h": 3600.0}
INTERRUPTED_FILE = "step.interrupted.json"


def parse_duration(value: str, option: str) -> float:
    """``"60s"``, ``"2m"``, ``"90"`` (seconds) -> seconds; anything else is a clear error."""
    m = _DURATION.match(str(value))
    if not m:
        raise JxcError(f"{option}: {value!r} is not a duration (examples: 60s, 2m, 90)")
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse_load_network(text: str | None, *, processes: int, expect_workers: int, app_host: str | None):
    """``--load-network '{rtt_ms: 0.5, bandwidth: 1Gbit}'`` -> the schema's Network, or a JxcError naming it."""
    if text is None:
        return None
    import yaml
    from pydantic import ValidationError

    from profiles.schema import Network

    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        value = None
    if not isinstance(value, dict):
        raise JxcError(f"--load-network: {text!r} is not a mapping; write e.g. '{{rtt_ms: 0.5, bandwidth: 1Gbit}}'")
    try:
        net = Network.model_validate(value)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err["loc"]) or "value"
        raise JxcError(f"--load-network: {where}: {err['msg']} (got {text!r})") from None
    if processes < 2:
        raise JxcError("--load-network: only local workers can be put on the second host; pass --processes 2 or more")
    if expect_workers or app_host is not None:
        raise JxcError("--load-network: the local workers reach the app across their own link; it does not "
                       "combine with --expect-workers or --app-host (remote machines)")
    return net


def run(
    profile: Annotated[Path, typer.Argument(help="Profile YAML file.", show_default=False)],
    customers: Annotated[int, typer.Option("--customers", "-n", min=1, help="Customers in the book (grown if needed).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for step.json, samples.parquet, resources.csv.")],
    operators: Annotated[int | None, typer.Option("--operators", "-u", min=1, help="Closed model: a fixed number of concurrent operators (default: the profile's, else the book's online staff). With --rate: the session pool.")] = None,
    rate: Annotated[float | None, typer.Option("--rate", "-r", min=0.001, help="Open model: target arrivals per second.")] = None,
    duration: Annotated[str, typer.Option("--duration", help="Measured window (e.g. 60s, 2m).")] = "60s",
    warmup: Annotated[str, typer.Option("--warmup", help="Warm-up before the window, kept apart.")] = "10s",
    processes: Annotated[int, typer.Option("--processes", "-p", min=1, max=64, help="Local load-generator processes (>1: a Locust master and N workers).")] = 1,
    expect_workers: Annotated[int, typer.Option("--expect-workers", min=0, help="Remote workers (jxcbench worker --master THIS_HOST) to wait for.")] = 0,
    master_port: Annotated[int, typer.Option("--master-port", min=1, max=65535, help="Port the master listens on for workers.")] = 5557,
    load_network: Annotated[str | None, typer.Option("--load-network", help="Run the local workers (--processes >= 2) on a second 'host': a network namespace reaching the app across a shaped veth link, e.g. '{rtt_ms: 0.5, bandwidth: 1Gbit}' (as architecture.network; needs root).")] = None,
    app_host: Annotated[str | None, typer.Option("--app-host", help="This machine's address as remote workers reach it: the app then listens on all interfaces and the load is sent to http://APP_HOST:PORT (default: 127.0.0.1 only).")] = None,
    unconstrained: Annotated[bool, typer.Option("--unconstrained", help="Run without hardware limits where cgroups cannot be written.")] = False,
    min_requests: Annotated[int, typer.Option("--min-requests", min=1, help="Fewest measured requests for a valid step (a stable p99 needs about 1000).")] = 1000,
    early_stop: Annotated[bool, typer.Option("--early-stop/--no-early-stop", help="End the window as soon as the SLO is clearly lost; such a step fails.")] = True,
    max_foreign_cpu: Annotated[str | None, typer.Option("--max-foreign-cpu", help="Busy-machine threshold: a step whose other processes (neither the system nor the load generator) used more than this % of one core at the 90th percentile is invalid; 'off' disables (default: $JXCBENCH_MAX_FOREIGN_CPU or 10).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing step in --out.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print step.json on stdout.")] = False,
) -> None:
    """Measure one step: bring the profile's system up, grow it to N customers, load it, tear it down."""
    from profiles.loader import load_profile

    duration_s = parse_duration(duration, "--duration")
    warmup_s = parse_duration(warmup, "--warmup")
    if duration_s <= 0:
        raise JxcError(f"--duration: must be positive, got {duration!r}")
    if app_host is not None and not re.fullmatch(r"[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\]", app_host):
        raise JxcError(f"--app-host: {app_host!r} is not a host name or address (e.g. 10.0.0.5, bench-1, [fd00::5])")
    if expect_workers and app_host is None:
        console.print("[yellow]note:[/] remote workers will send their requests to 127.0.0.1, their own machine; "
                      "pass --app-host with this machine's address unless they run here", highlight=False)
    check_max_foreign_cpu(max_foreign_cpu)
    load_net = parse_load_network(load_network, processes=processes, expect_workers=expect_workers,
                                  app_host=app_host)
    if (out / "step.json").exists() and not force:
        raise JxcError(f"--out: {out / 'step.json'} exists; choose another directory or pass --force")
    prof = load_profile(profile)
    from loadgen.capacity.step import run_step

    stops.remove_leftovers(console)
    total = warmup_s + duration_s
    stages: list[str] = []
    t_start = time.time()

    def staged(on_stage):  # noqa: ANN001, ANN202 - remember where we were, for a stop
        return lambda text: (stages.append(text), on_stage(text))

    try:
        step = _with_progress(lambda on_progress, on_stage: run_step(
            prof, customers=customers, operators=operators, rate=rate, duration_s=duration_s, warmup_s=warmup_s,
            out_dir=out, unconstrained=unconstrained, processes=processes, expect_workers=expect_workers,
            master_port=master_port, on_progress=on_progress, on_stage=staged(on_stage), min_requests=min_requests,
            early_stop=early_stop, app_host=app_host, max_foreign_cpu=max_foreign_cpu, load_network=load_net), total)
    except KeyboardInterrupt as exc:  # Ctrl-C, SIGINT or SIGTERM (Terminated): the system is torn down by now
        raise stops.stopped(exc, _mark_interrupted(out, exc, stages[-1] if stages else "starting", t_start,
                                                   customers=customers, operators=operators, rate=rate,
                                                   profile=str(profile))) from None
    (out / INTERRUPTED_FILE).unlink(missing_ok=True)  # an earlier stop's mark: this run finished the step
    if as_json:
        typer.echo(json.dumps(step, indent=2, default=str))
    _print_summary(step, out)
    if not step["valid"]:
        raise typer.Exit(3)  # the reason is printed above; 3 = measured but invalid


def _mark_interrupted(out: Path, exc: BaseException, stage: str, t_start: float, **what: object) -> str:
    """Write ``step.interrupted.json`` next to whatever the stopped step wrote; the line to print."""
    import datetime as dt

    done = out / "step.json"
    if done.exists() and done.stat().st_mtime >= t_start:
        return f"the step was measured; {done} is kept; the system was torn down"
    kept = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
    out.mkdir(parents=True, exist_ok=True)
    mark = {"interrupted": True, "signal": stops.signal_name(stops.exit_code(exc)), "stage": stage,
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "files": kept, **what}
    (out / INTERRUPTED_FILE).write_text(json.dumps(mark, indent=2) + "\n")
    files = f"its partial files ({', '.join(kept)}) are kept in {out}" if kept else "nothing was measured yet"
    return (f"the step while {stage}; the system was torn down; {files}, marked by {INTERRUPTED_FILE}; "
            "run the same command again to measure the step")


def check_max_foreign_cpu(value: str | None) -> None:
    """--max-foreign-cpu (or $JXCBENCH_MAX_FOREIGN_CPU when not given): a percentage or 'off'."""
    from loadgen.measure.validity import FOREIGN_CPU_ENV, max_foreign_cpu_pct

    try:
        max_foreign_cpu_pct(value)
    except ValueError as exc:
        raise JxcError(f"{'--max-foreign-cpu' if value is not None else '$' + FOREIGN_CPU_ENV}: {exc}") from None


def _with_progress(fn, total: float):
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.fields[info]}"),
                  TimeElapsedColumn(), console=console, transient=False) as bar:
        task = bar.add_task("starting", total=total, info="")
        last = {"t": 0.0, "n": 0, "wall": time.time()}

        def on_stage(text: str) -> None:
            bar.update(task, description=text)

        def on_progress(msg: dict) -> None:
            now = time.time()
            rps = (msg["requests"] - last["n"]) / max(1e-6, now - last["wall"])
            last.update(n=msg["requests"], wall=now)
            bar.update(task, completed=min(total, max(0.0, msg["t"])), description=msg["phase"],
                       info=f"{msg['requests']} req  {rps:.0f}/s  {msg['errors']} err  {msg['refusals']} refused")
        return fn(on_progress, on_stage)


def _print_summary(step: dict, out: Path) -> None:
    lat = step["latency_ms"]
    verdict = ("[yellow]INVALID[/]" if not step["valid"] else "[green]PASSED[/]" if step["passed"] else
               "[yellow]INCONCLUSIVE[/]" if step.get("verdict") == "inconclusive" else "[red]FAILED[/]")
    console.print(f"{verdict}  {step['requests']} requests, {step['rps']} req/s (goodput {step['goodput_rps']}/s), "
                  f"errors {step['error_rate']:.2%}, refusals {step['refusals']}; "
                  f"p50 {lat['p50']} ms  p95 {lat['p95']} ms  p99 {lat['p99']} ms  max {lat['max']} ms", highlight=False)
    st = step.get("staffing") or {}
    if st.get("staff"):
        from reports.render.verdict import staff_text

        console.print(f"staff of {step['customers']:,} customers: {staff_text(st)}", highlight=False)
    if step.get("invalid_reason"):
        console.print(f"invalid: {step['invalid_reason']}", highlight=False)
    if step.get("stopped_early"):
        console.print(f"stopped early after {step['stopped_early']['at_s']:g} s of the {step['duration_s']:g} s window "
                      "(the figures cover those seconds)", highlight=False)
    if step.get("fail_reason"):
        console.print(f"failed: {step['fail_reason']}", highlight=False)
    if step.get("inconclusive_reason"):
        console.print(f"inconclusive: {step['inconclusive_reason']}", highlight=False)
    if step.get("extension_s"):
        console.print(f"the window was extended by {step['extension_s']:g} s to reach a verdict", highlight=False)
    if step.get("unjudged_operations"):
        console.print("not judged (too few requests for a 95 % bound): " + ", ".join(
            f"{op} {'/'.join(u['percentiles'])} ({u['requests']} of {u['requests_needed']})"
            for op, u in step["unjudged_operations"].items()), highlight=False)
    if step.get("login_failures"):
        console.print(f"{step['login_failures']} operator login(s) failed", highlight=False)
    console.print(f"wrote {out / 'step.json'}, samples.parquet, resources.csv", highlight=False)


def worker(
    master: Annotated[str, typer.Option("--master", help="Host of the master (jxcbench run ... --expect-workers K).")],
    master_port: Annotated[int, typer.Option("--master-port", min=1, max=65535)] = 5557,
) -> None:
    """Run a load-generator worker for a master on another machine (Locust master/worker)."""
    # A process of its own: gevent must patch the interpreter before anything else is imported.
    args = [sys.executable, "-m", "loadgen.workload.engine", "worker", "--master", master, "--master-port", str(master_port)]
    sys.stdout.flush()
    os.execv(sys.executable, args)


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("worker")(worker)


__all__ = ["check_max_foreign_cpu", "parse_duration", "register"]
