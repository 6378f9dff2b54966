"""What each running jxcbench owns, so that the next run removes what a killed one left.

A process that creates a temporary directory, a cgroup or a child process records it here
(:func:`claim`) and forgets it once removed (:func:`release`). The record is one JSON file per owner
process, ``<runs dir>/<pid>-<start time>.json``; the start time (``/proc/<pid>/stat``) and the boot
id tell a live owner from a dead one whose pid was reused. ``up``, ``run`` and ``sweep`` call
:func:`reap` first: for every record whose owner is gone it kills the recorded processes still
alive (same pid *and* start time), kills what is left in the recorded cgroups and removes them,
deletes the recorded directories and drops the recorded snapshot databases a sweep made on an
external server (``<db>__snap_<name>``; the record then holds that server's URL, so it is private). Children normally die with jxcbench already (parent-death signal,
:mod:`loadgen.lifeline`); what cannot die is on disk, and that is what this is for.

Nothing is trusted blindly: the runs directory (``/tmp/jxcbench-runs-<uid>``, or
``JXCBENCH_RUNS_DIR``) must be ours and private (mode 0700), a record must be owned by us, and
only paths jxcbench itself makes are removed — directories named ``jxcbench-*`` or ``sut-*`` and
cgroups named ``jxcbench-*`` under the cgroup root.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

DIR_PREFIXES = ("jxcbench-", "sut-")
_lock = threading.Lock()


def runs_dir() -> Path:
    return Path(os.environ.get("JXCBENCH_RUNS_DIR") or f"/tmp/jxcbench-runs-{os.geteuid()}")


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def start_time(pid: int) -> int | None:
    """The kernel's start time of ``pid`` (clock ticks since boot), None if there is no such process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 22; the command name (field 2) may hold spaces and parentheses: split after its last ')'.
    return int(text[text.rindex(")") + 2:].split()[19])


def alive(pid: int, start: int | None) -> bool:
    """Whether the process ``pid`` that started at ``start`` still runs (not a reused pid)."""
    now = start_time(pid)
    if now is None or (start is not None and now != start):
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _safe_dir(d: Path) -> bool:
    """Our runs directory exists (made if not), belongs to us and nobody else may write into it."""
    try:
        d.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = os.lstat(d)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid() and not st.st_mode & 0o077


def _own_file() -> Path:
    pid = os.getpid()
    return runs_dir() / f"{pid}-{start_time(pid) or 0}.json"


def _read(path: Path) -> dict[str, Any] | None:
    try:
        st = os.lstat(path)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
            return None
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def _write(path: Path, doc: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(doc, fh)
    os.replace(tmp, path)


def _update(kind: str, value: Any, *, add: bool) -> None:
    d = runs_dir()
    with _lock:
        if not _safe_dir(d):
            return  # a record we cannot keep safely is no record: the run itself goes on
        path = _own_file()
        doc = _read(path) or {"pid": os.getpid(), "start": start_time(os.getpid()), "boot_id": _boot_id(),
                              "argv": sys.argv[:8], "created": time.time()}
        items = doc.setdefault(kind, [])
        if add and value not in items:
            items.append(value)
        elif not add and value in items:
            items.remove(value)
        # A child that exited by itself (a start retried on another port) needs no reaping.
        doc["processes"] = [p for p in doc.get("processes", []) if alive(p[0], p[1])]
        if any(doc.get(k) for k in ("dirs", "cgroups", "processes", "snapshots", "netns")):
            _write(path, doc)
        else:
            path.unlink(missing_ok=True)


def claim_dir(path: Path) -> None:
    _update("dirs", str(Path(path).resolve()), add=True)


def release_dir(path: Path) -> None:
    _update("dirs", str(Path(path).resolve()), add=False)


def claim_cgroup(dirs: list[Path]) -> None:
    _update("cgroups", sorted(str(d) for d in dirs), add=True)


def release_cgroup(dirs: list[Path]) -> None:
    _update("cgroups", sorted(str(d) for d in dirs), add=False)


def claim_process(pid: int) -> None:
    _update("processes", [pid, start_time(pid)], add=True)


def release_process(pid: int) -> None:
    with _lock:
        doc = _read(_own_file()) or {}
    for item in list(doc.get("processes", [])):
        if item[0] == pid:
            _update("processes", item, add=False)


def claim_netns(name: str) -> None:
    """A network namespace of ours (``jxcbench-<run id>``, :mod:`loadgen.sut.netns`): deleting it
    deletes the veth pair too."""
    _update("netns", name, add=True)


def release_netns(name: str) -> None:
    _update("netns", name, add=False)


def _delete_netns(name: str) -> bool:
    if not name.startswith("jxcbench-") or "/" in name or not Path(f"/run/netns/{name}").exists():
        return False
    return subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=30).returncode == 0


def claim_snapshot(url: str, name: str) -> None:
    """A snapshot database on an external server (nothing else would ever drop it)."""
    _update("snapshots", [url, name], add=True)


def release_snapshot(url: str, name: str) -> None:
    _update("snapshots", [url, name], add=False)


def _drop_snapshot(url: str, name: str) -> bool:
    from loadgen.seed import drop_snapshot

    try:
        drop_snapshot(url, name)  # checks the name: only <db>__snap_<name> databases
    except Exception:  # noqa: BLE001 - server away: keep the record, try again next time
        return False
    return True


# -- the next run --------------------------------------------------------------------------------------
def _owner_gone(doc: dict[str, Any]) -> bool:
    if doc.get("boot_id") and doc["boot_id"] != _boot_id():
        return True
    try:
        return not alive(int(doc["pid"]), doc.get("start"))
    except (KeyError, TypeError, ValueError):
        return True


def _removable_dir(path: str) -> Path | None:
    p = Path(path)
    if not p.is_absolute() or ".." in p.parts or not p.name.startswith(DIR_PREFIXES) or len(p.parts) < 3:
        return None
    try:
        st = os.lstat(p)
    except OSError:
        return None
    return p if stat.S_ISDIR(st.st_mode) and st.st_uid in (os.geteuid(), _service_uid(st.st_uid)) else None


def _service_uid(uid: int) -> int | None:
    """A managed database's directory belongs to its unprivileged user once we (root) chown it."""
    if os.geteuid() != 0:
        return None
    import pwd

    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        return None
    return uid if name in ("jxcbench", "mysql") else None


def _removable_cgroup(paths: list[str]) -> list[Path]:
    from loadgen.sut import cgroups as cg

    root = cg.ROOT.resolve()
    out = []
    for path in paths:
        p = Path(path)
        if p.is_absolute() and ".." not in p.parts and p.name.startswith(cg.PREFIX) and root in p.parents:
            out.append(p)
    return out


def _kill_process(pid: int, start: int | None) -> bool:
    if not alive(pid, start):
        return False
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, signal.SIGKILL)  # a session leader of ours: its whole group
        else:
            os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def reap() -> list[str]:
    """Remove what dead owners left (see the module docstring); a description of each thing removed."""
    from loadgen.sut import cgroups as cg

    d = runs_dir()
    if not d.is_dir() or not _safe_dir(d):
        return []
    removed: list[str] = []
    for path in sorted(d.glob("*.json")):
        doc = _read(path)
        if doc is None or not _owner_gone(doc):
            continue
        for item in doc.get("processes", []):
            try:
                if _kill_process(int(item[0]), item[1]):
                    removed.append(f"process {item[0]}")
            except (TypeError, ValueError, IndexError):
                pass
        for dirs in doc.get("cgroups", []):
            group = _removable_cgroup(dirs if isinstance(dirs, list) else [dirs])
            if not any(g.exists() for g in group):
                continue
            try:
                cg.Cgroup(name=group[0].name, version=0, dirs={str(i): g for i, g in enumerate(group)}).destroy(5.0)
                removed.append(f"cgroup {group[0].name}")
            except OSError:
                pass
        for name in doc.get("netns", []):
            if isinstance(name, str) and _delete_netns(name):
                removed.append(f"network namespace {name}")
        for dirname in doc.get("dirs", []):
            p = _removable_dir(dirname)
            if p is not None:
                shutil.rmtree(p, ignore_errors=True)
                removed.append(f"directory {p}")
        kept = []
        for item in doc.get("snapshots", []):
            try:
                url, name = str(item[0]), str(item[1])
            except (TypeError, IndexError):
                continue
            if _drop_snapshot(url, name):
                removed.append(f"snapshot {name}")
            else:
                kept.append([url, name])
        try:
            if kept:  # the server did not answer: the next run tries again
                _write(path, {**doc, "processes": [], "cgroups": [], "dirs": [], "netns": [], "snapshots": kept})
            else:
                path.unlink()
        except OSError:
            pass
    return removed


__all__ = ["alive", "claim_cgroup", "claim_dir", "claim_netns", "claim_process", "claim_snapshot", "reap",
           "release_cgroup", "release_dir", "release_netns", "release_process", "release_snapshot", "runs_dir",
           "start_time"]
