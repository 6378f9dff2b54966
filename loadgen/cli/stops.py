"""Stopping a command: SIGINT or SIGTERM at any moment -> cleanup, one line, exit 130 / 143.

:func:`catch_signals` makes SIGINT raise :class:`KeyboardInterrupt` and SIGTERM raise
:class:`loadgen.errors.Terminated` (a KeyboardInterrupt too), so every ``finally`` and ``with`` on
the way out tears down what it brought up. It installs the SIGINT handler even when the process
inherited SIGINT as *ignored* — as a shell's background job does — so Ctrl-C / ``kill -INT``
always stops ``up``, ``run``, ``sweep`` and ``seed``. Each command turns the interrupt into
:func:`stopped`, one line saying what was stopped and what was kept; :func:`exit_code` says 130
(SIGINT) or 143 (SIGTERM). :func:`remove_leftovers` is what ``up``, ``run`` and ``sweep`` do
first: remove what an earlier run, killed outright, left behind.
"""

from __future__ import annotations

import signal

from loadgen.errors import JxcError, Terminated

received: list[int] = []  # the signals received, in order (for a stop no command turned into a line)


def _on_sigint(signum, frame):  # noqa: ANN001, ARG001 - signal handler signature
    received.append(signum)
    raise KeyboardInterrupt


def _on_sigterm(signum, frame):  # noqa: ANN001, ARG001
    received.append(signum)
    raise Terminated(f"signal {signum}")


def catch_signals() -> None:
    """From now on SIGINT raises KeyboardInterrupt and SIGTERM Terminated (main thread only)."""
    signal.signal(signal.SIGINT, _on_sigint)
    signal.signal(signal.SIGTERM, _on_sigterm)


def exit_code(exc: BaseException | None = None) -> int:
    """143 for SIGTERM, 130 for SIGINT (128 + the signal's number, as a shell reports it)."""
    if exc is not None:
        return 128 + (signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT)
    return 128 + (received[-1] if received else signal.SIGINT)


def signal_name(code: int) -> str:
    return {130: "SIGINT", 143: "SIGTERM"}.get(code, f"exit {code}")


class Stopped(JxcError):
    """A command stopped by a signal; the message says what was stopped and kept (no "error:")."""


def stopped(exc: BaseException, what: str) -> Stopped:
    """The one line for a command stopped by ``exc`` (KeyboardInterrupt or Terminated)."""
    return Stopped(what, exit_code=exit_code(exc))


def remove_leftovers(console) -> list[str]:  # noqa: ANN001 - a rich Console (stderr)
    """Before bringing anything up: remove what killed runs left (:func:`loadgen.sut.registry.reap`)."""
    from loadgen.sut.registry import reap

    removed = reap()
    if removed:
        console.print(f"[dim]removed what a killed jxcbench run left: {', '.join(removed)}[/]", highlight=False,
                      soft_wrap=True)
    return removed


__all__ = ["Stopped", "catch_signals", "exit_code", "received", "remove_leftovers", "signal_name", "stopped"]
