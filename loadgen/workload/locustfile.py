"""A plain Locust locustfile as the personas of a step: its User classes, unchanged.

A vendor's locustfile was written for ``locust -f locustfile.py``; jxcbench runs it as it is. Each
concrete User class is a persona (its name), spawned in the proportions of its ``weight`` (Locust's
own rule); every request it makes reaches the step's raw samples through Locust's ``request`` event
(:class:`loadgen.measure.collector.SampleCollector`), named as the locustfile names it, so the SLO's
``operations`` are the request names.

Two halves, because of gevent: :func:`check_locustfile` reads the file with ``ast`` in the step
process (which must never import Locust: importing it monkey-patches the whole process) and names
what is wrong before anything starts; :func:`user_classes` imports it, in the engine process only
(and once in a child of its own, :func:`import_check`, before a sweep starts the system).
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path

from loadgen.errors import JxcError

# Base classes a locustfile's users derive from; a class deriving from one of its own users counts too.
_LOCUST_USERS = {"User", "HttpUser", "FastHttpUser"}


def check_locustfile(path: Path, *, where: str = "workload") -> list[str]:
    """The User class names a locustfile defines (statically); a clear error naming the file and
    ``where`` (the profile field) if it is missing, does not parse or defines none."""
    path = Path(path)
    if not path.is_file():
        raise JxcError(f"{where}: locustfile {str(path)!r} does not exist")
    try:
        tree = ast.parse(path.read_text(), str(path))
    except SyntaxError as exc:
        raise JxcError(f"{where}: locustfile {str(path)!r} has a syntax error at line {exc.lineno}: {exc.msg}") from None
    users: list[str] = []
    known = set(_LOCUST_USERS)
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        bases = {b.attr if isinstance(b, ast.Attribute) else getattr(b, "id", None) for b in node.bases}
        if bases & known:
            known.add(node.name)
            abstract = any(isinstance(s, ast.Assign) and any(getattr(t, "id", None) == "abstract" for t in s.targets)
                           and getattr(s.value, "value", False) is True for s in node.body)
            if not abstract:
                users.append(node.name)
    if not users:
        raise JxcError(f"{where}: locustfile {str(path)!r} defines no User class (a class deriving from "
                       "locust's User, HttpUser or FastHttpUser)")
    return users


def import_check(path: Path, *, where: str = "workload", timeout_s: float = 60.0) -> None:
    """Import the locustfile once in a child process (Locust and gevent stay out of this one), so
    that an import error in it (a missing module, an exception at import) is bad input named before
    anything starts, not a failed step."""
    import json
    import os
    import subprocess

    from loadgen import lifeline

    code = ("import json, sys\nfrom loadgen.workload.locustfile import user_classes\n"
            "try:\n    print(json.dumps([c.__name__ for c in user_classes(sys.argv[1])]))\n"
            "except ValueError as exc:\n    print(json.dumps({'error': str(exc)})); sys.exit(1)\n")
    proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=timeout_s,
                          cwd=os.getcwd(), preexec_fn=lifeline.preexec())
    try:
        answer = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        answer = {"error": proc.stderr.strip()[-800:] or f"exit {proc.returncode}"}
    if isinstance(answer, dict):
        raise JxcError(f"{where}: {answer['error']}")


def read_credentials(path: Path, *, where: str = "system.users") -> list[dict]:
    """The rows of a per-user logins file (:func:`loadgen.workload.logins.read_credentials`)."""
    from loadgen.workload.logins import read_credentials as read

    return read(path, where=where)


def user_classes(path: Path, credentials: list[dict] | None = None,
                 by_class: dict[str, list[dict]] | None = None) -> list[type]:
    """Import the locustfile (engine process only) and return its concrete User classes, each
    tagging its requests with its persona (its class name) through Locust's ``User.context``.
    ``credentials``: the i-th user started gets ``{"index": i, **credentials[i]}`` as
    ``self.jxcbench_operator`` before its own ``on_start`` (a plain locustfile that does not read it
    runs unchanged). ``by_class`` (with ``system.personas``, :func:`loadgen.workload.logins.deal_by_class`):
    instead, each class counts its own users, and its i-th gets ``{"index": i, **by_class[class][i]}``
    — its role's i-th account, as a reference seat. When the Locust Environment carries a
    :class:`loadgen.workload.runtime.Runtime` (``environment.jxc``, as for the reference operators),
    it follows each user's start and requests (:meth:`~loadgen.workload.runtime.Runtime.start_user`);
    without one the classes run as under plain Locust."""
    from locust import User

    path = Path(path).resolve()
    sys.path.insert(0, str(path.parent))  # a locustfile may import its helpers, as under plain locust
    spec = importlib.util.spec_from_file_location(f"jxc_locustfile_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    try:
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    except Exception as exc:  # noqa: BLE001 - any error of someone else's file, named
        raise ValueError(f"locustfile {str(path)!r} failed to import: {type(exc).__name__}: {exc}") from None
    found = [c for c in vars(module).values()
             if isinstance(c, type) and issubclass(c, User) and c.__module__ == module.__name__
             and not getattr(c, "abstract", False)]
    if not found:
        raise ValueError(f"locustfile {str(path)!r} defines no User class")
    operator = _Operators(credentials or [], by_class)
    for cls in found:
        _tag_persona(cls)
        _give_operator(cls, operator)
    return found


class _Operators:
    """Who the next user of a class is: its index and its login. One counter over every class, or
    (``by_class``) one per class, so a class's i-th user is its role's i-th account."""

    def __init__(self, credentials: list[dict], by_class: dict[str, list[dict]] | None) -> None:
        self.credentials, self.by_class = credentials, by_class
        self.started: dict[str | None, int] = {}

    def next(self, cls_name: str) -> dict:
        key = cls_name if self.by_class is not None else None
        i = self.started[key] = self.started.get(key, -1) + 1
        rows = self.credentials if self.by_class is None else self.by_class.get(cls_name, [])
        return {"index": i, **(rows[i] if i < len(rows) else {})}


def _give_operator(cls: type, operator: _Operators) -> None:
    own = cls.on_start
    if getattr(own, "_jxc_wrapped", False):
        return  # inherited from a User class of the same file, already wrapped (it asks by type(self))

    def on_start(self) -> None:
        self.jxcbench_operator = operator.next(type(self).__name__)
        rt = getattr(self.environment, "jxc", None)
        if rt is None:
            own(self)
            return
        rt.start_user(self, own)

    own_stop = cls.on_stop

    def on_stop(self) -> None:
        from locust.exception import StopUser

        try:
            own_stop(self)
        except StopUser:
            pass  # a request in on_stop (a logout) after the window: not sent, the user is stopping anyway

    on_start._jxc_wrapped = True  # type: ignore[attr-defined]
    cls.on_start = on_start
    cls.on_stop = on_stop


def _tag_persona(cls: type) -> None:
    own = cls.context
    if getattr(own, "_jxc_wrapped", False):
        return

    def context(self) -> dict:
        return {**(own(self) or {}), "persona": type(self).__name__}

    context._jxc_wrapped = True  # type: ignore[attr-defined]
    cls.context = context


__all__ = ["check_locustfile", "import_check", "read_credentials", "user_classes"]
