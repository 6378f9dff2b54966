"""The one thread hop of a request: blocking database work runs on a fixed set of worker threads.

Every database driver here blocks, so each request hands its service call to a thread and awaits
the answer. anyio's ``to_thread.run_sync`` (what FastAPI's ``run_in_threadpool`` uses) cost ~90 µs
of CPU per hop measured on the reference machine — a capacity limiter, a cancel scope, a context
copy and a new future per call — about as much as all of a customer view's own work. Here a hop is
a put on a queue that idle workers block on, and one ``call_soon_threadsafe`` back to the event
loop (~15 µs). As many threads as the connection pool has connections: further requests wait in
the queue in arrival order, not in threads that time out waiting for a connection.

A request cancelled while its call runs (client gone) lets the call finish and drops its result.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
DEFAULT_THREADS = 20


class Workers:
    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def ensure(self, threads: int) -> None:
        """At least ``threads`` workers running (never fewer than before: apps share a process in tests)."""
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            while len(self._threads) < threads:
                t = threading.Thread(target=self._work, name=f"jxc-db-{len(self._threads)}", daemon=True)
                t.start()
                self._threads.append(t)

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if not self._threads:
            self.ensure(DEFAULT_THREADS)
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._jobs.put((loop, future, fn, args, kwargs))
        return await future

    def _work(self) -> None:
        while True:
            loop, future, fn, args, kwargs = self._jobs.get()
            try:
                outcome = (fn(*args, **kwargs), None)
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting request as is
                outcome = (None, exc)
            try:
                loop.call_soon_threadsafe(_settle, future, *outcome)
            except RuntimeError:  # the loop closed meanwhile (shutdown): nobody is waiting
                pass


def _settle(future: asyncio.Future, result: Any, exc: BaseException | None) -> None:
    if future.cancelled():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)


WORKERS = Workers()  # one per process, like the engine's pool
run_blocking = WORKERS.run

__all__ = ["Workers", "WORKERS", "DEFAULT_THREADS", "run_blocking"]
