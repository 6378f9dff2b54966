"""The app factory the launcher gives uvicorn: the reference app, in workers that die with their supervisor.

``uvicorn --workers N`` spawns its workers with multiprocessing's *spawn*: fresh interpreters that
keep serving on the shared socket when the supervisor is killed (a worker only notices when it next
answers a health ping, and even then it does not exit). The supervisor itself gets the
parent-death signal from the launcher's preexec; each worker asks for its own here, against the
supervisor's pid, before the app is built. With one worker uvicorn runs the app in the supervisor
process, which already has the signal.
"""

from __future__ import annotations

import multiprocessing
from typing import Any

from loadgen import lifeline

FACTORY = "loadgen.sut.app_server:create_app"


def create_app() -> Any:
    parent = multiprocessing.parent_process()
    if parent is not None and parent.pid is not None:
        lifeline.die_with_parent(parent.pid)
    from reference_app.main import create_app as reference_app

    return reference_app()


__all__ = ["FACTORY", "create_app"]
