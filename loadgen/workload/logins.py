"""Per-user logins for a plain locustfile (``system.users``): a CSV file, or a callback.

A system with per-user logins needs one account per Locust user, as the reference app's operators
each have their own. The profile names where they come from (:class:`profiles.schema.Logins`):

* a CSV (``users.csv`` or ``{csv: users.csv}``): a header row, then one login per row, read once
  before the sweep starts;
* a callback (``{callback: logins.py:logins}``): a function in a file beside the profile, called
  once per step, after the book is grown and before the load, as
  ``logins(count=U, customers=N, base_url=URL)``; it returns at least U dicts and may create the
  accounts it hands out. It runs in a child process (the vendor's code never runs inside the sweep:
  it might import Locust, whose gevent patches a whole process), in the profile's folder, with the
  system's clean environment.

Either way the logins reach the engine through a file: the CSV itself, or the callback's answer in
a private temporary file (mode 0600, outside the step folder, removed after the step), so that no
password lands in the results (``plan.json`` names the file, ``step.json`` only says how many).
"""

from __future__ import annotations

import ast
import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from loadgen.errors import JxcError

TAIL_CHARS = 1500

# Runs in the child: imports the file by path (its folder on sys.path, as for a locustfile), calls
# the function and prints the list as JSON on the last line. Self-contained: jxcbench is not on the
# child's path.
_CALL = """
import importlib.util, json, sys
path, fn, count, customers, base_url = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
sys.path.insert(0, __import__("os").path.dirname(path))
spec = importlib.util.spec_from_file_location("jxcbench_logins", path)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
rows = getattr(module, fn)(count=count, customers=customers, base_url=base_url)
print()
print(json.dumps(list(rows), default=str))
"""


def read_credentials(path: Path, *, where: str = "system.users") -> list[dict]:
    """The rows of a per-user logins CSV (header row first), or of the JSON list a callback's answer
    was saved as; a clear error naming ``where``."""
    path = Path(path)
    try:
        if path.suffix == ".json":
            rows = json.loads(path.read_text())
        else:
            with open(path, newline="") as f:
                rows = [dict(r) for r in csv.DictReader(f)]
    except OSError as exc:
        raise JxcError(f"{where}: cannot read {str(path)!r}: {exc.strerror}") from None
    if not rows:
        raise JxcError(f"{where}: {str(path)!r} holds no user (a header row, then one row per user)")
    return rows


def deal_by_class(rows: list[dict], class_counts: dict[str, int], class_roles: dict[str, str]) -> dict[str, list[dict]]:
    """Each User class's logins, in order, when ``system.personas`` gives the classes their roles: a
    class's i-th user then logs in with its role's i-th account, as a reference seat is its role's
    i-th online account. Rows with a ``role`` column go to the class playing that role (a role's
    accounts stay the same whatever the other roles' counts at a level); without one, the rows are
    dealt out class by class in the order of ``class_counts`` (the profile's ``system.personas``).
    Raises ValueError naming the role (or the class) and both numbers when a class gets too few."""
    out: dict[str, list[dict]] = {}
    if any("role" in r for r in rows):
        for cls, n in class_counts.items():
            role = class_roles.get(cls, cls)
            mine = [r for r in rows if r.get("role") == role]
            if len(mine) < n:
                raise ValueError(f"{len(mine)} logins have role {role!r}; {n} {cls} users need one each")
            out[cls] = mine[:n]
        return out
    at = 0
    for cls, n in class_counts.items():
        out[cls] = rows[at:at + n]
        at += n
    if at > len(rows):
        raise ValueError(f"{len(rows)} logins for {at} users ({', '.join(f'{n} {c}' for c, n in class_counts.items())})")
    return out


def split_callback(callback: str, base: Path) -> tuple[Path, str]:
    file, _, fn = callback.rpartition(":")
    return Path(base) / file, fn


def check_callback(callback: str, base: Path, *, where: str = "system.users.callback") -> None:
    """The callback's file exists, parses and defines ``function`` at its top level (statically:
    nothing of it runs here); a clear error naming ``where`` and the value otherwise."""
    path, fn = split_callback(callback, base)
    if not path.is_file():
        raise JxcError(f"{where}: {callback!r}: file {str(path)!r} does not exist")
    try:
        tree = ast.parse(path.read_text(), str(path))
    except SyntaxError as exc:
        raise JxcError(f"{where}: {callback!r}: syntax error at line {exc.lineno}: {exc.msg}") from None
    if not any(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == fn for n in tree.body):
        raise JxcError(f"{where}: {callback!r}: {path.name} defines no function {fn!r}")


def call_callback(callback: str, base: Path, *, count: int, customers: int, base_url: str, env: dict[str, str],
                  where: str = "system.users.callback", timeout_s: float = 600.0) -> list[dict]:
    """Call the callback in a child process; its list of logins (every item a mapping). A callback
    that raises, exits, times out or answers something else stops here, naming ``where``."""
    from loadgen import lifeline

    path, fn = split_callback(callback, base)
    argv = [sys.executable, "-c", _CALL, str(path.resolve()), fn, str(int(count)), str(int(customers)), base_url]
    try:
        proc = subprocess.run(argv, cwd=base, env=env, capture_output=True, text=True, timeout=timeout_s,
                              stdin=subprocess.DEVNULL, preexec_fn=lifeline.preexec())
    except subprocess.TimeoutExpired:
        raise JxcError(f"{where}: {callback!r} did not return within {timeout_s:g} s") from None
    if proc.returncode != 0:
        tail = (proc.stderr.strip() or proc.stdout.strip())[-TAIL_CHARS:] or "(no output)"
        raise JxcError(f"{where}: {callback!r} failed (exit {proc.returncode}):\n{tail}")
    try:
        rows = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        rows = None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise JxcError(f"{where}: {callback!r} must return a list of dicts (one login each), it returned "
                       f"{(proc.stdout.strip().splitlines() or ['nothing'])[-1][:200]}")
    return rows


def write_private(rows: list[dict]) -> Path:
    """The logins in a fresh private file (0600, in a private temporary folder): the engine reads it,
    the caller removes its folder after the step (:func:`remove_private`)."""
    folder = Path(tempfile.mkdtemp(prefix="jxcbench-logins-"))
    path = folder / "logins.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(rows, f)
    return path


def remove_private(path: Path) -> None:
    path = Path(path)
    try:
        path.unlink()
        path.parent.rmdir()
    except OSError:
        pass


__all__ = ["call_callback", "check_callback", "deal_by_class", "read_credentials", "remove_private", "split_callback",
           "write_private"]
