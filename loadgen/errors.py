"""Errors the CLI turns into one clear line and a non-zero exit (never a traceback)."""

from __future__ import annotations


class JxcError(Exception):
    """A problem the user can fix: bad input, a missing server, a refused operation.

    The message names what is wrong (file, field, value); ``exit_code`` is what the CLI exits with
    (2 for bad input, as for usage errors; 1 for a run that was well-formed but failed).
    """

    exit_code = 2

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C raises :class:`KeyboardInterrupt` (a subclass of it), so that
    every path that stops cleanly on Ctrl-C stops the same way on SIGTERM; only the exit code
    differs (143, not 130)."""


__all__ = ["JxcError", "Terminated"]
