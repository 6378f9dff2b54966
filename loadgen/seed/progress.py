"""Terminal progress for seeding: customers done / target, rows/s, ETA (rich, on stderr)."""

from __future__ import annotations

import time
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn


class SeedProgress:
    def __init__(self, *, enabled: bool, total: int, start: int, target: int) -> None:
        self.enabled = enabled and total > 0
        self.rows = 0
        self.t0 = time.perf_counter()
        self._progress = None
        if self.enabled:
            self._progress = Progress(
                TextColumn("seeding customers {task.fields[span]}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"), TimeRemainingColumn(),
                console=Console(stderr=True), transient=False,
            )
            self._task = self._progress.add_task("seed", total=total, span=f"{start:,}→{target:,}",
                                                 rate="")

    def __enter__(self) -> SeedProgress:
        if self._progress:
            self._progress.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._progress:
            self._progress.stop()

    def advance(self, customers: int, rows: int) -> None:
        self.rows += rows
        if self._progress:
            dt = max(time.perf_counter() - self.t0, 1e-9)
            self._progress.update(self._task, advance=customers, rate=f"{self.rows / dt:,.0f} rows/s")

    @staticmethod
    @contextmanager
    def spinner(enabled: bool, what: str):
        if not enabled:
            yield
            return
        with Console(stderr=True).status(what):
            yield


__all__ = ["SeedProgress"]
