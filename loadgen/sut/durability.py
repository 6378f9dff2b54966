"""How durably each engine commits, the same by default everywhere, and what a step actually ran with.

By default every engine commits durably — a committed order survives a power cut — so that a
side-by-side compares engines, not shortcuts: SQLite ``synchronous=FULL`` in WAL mode (fsync of the
WAL at every commit), PostgreSQL ``fsync=on``, ``synchronous_commit=on``, ``full_page_writes=on``,
MariaDB ``innodb_flush_log_at_trx_commit=1`` with the doublewrite buffer. A profile may relax any
engine with ``database.durability: relaxed`` (SQLite ``synchronous=NORMAL``, PostgreSQL
``synchronous_commit=off``, MariaDB ``innodb_flush_log_at_trx_commit=2``: the last commits may be
lost in a crash, the data stays consistent), or through its own ``settings``, which win.

:func:`effective` says which level the settings that reach the engine amount to; :func:`read_live`
asks a running server (managed or external) for the same knobs, so step.json states what the
database really did.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# knob -> (full value, relaxed value); values compared case-insensitively as strings
KNOBS: dict[str, dict[str, tuple[str, str]]] = {
    "sqlite": {"synchronous": ("FULL", "NORMAL")},
    "postgresql": {"fsync": ("on", "on"), "synchronous_commit": ("on", "off"), "full_page_writes": ("on", "on")},
    "mysql": {"innodb_flush_log_at_trx_commit": ("1", "2"), "innodb_doublewrite": ("1", "1")},
}
_SAME = {"on": "on", "true": "on", "1": "1", "yes": "on", "off": "off", "false": "off", "0": "0", "no": "off",
         "full": "FULL", "normal": "NORMAL", "extra": "EXTRA", "2": "2", "3": "EXTRA"}
_FULL_ENOUGH = {"sqlite": {"synchronous": {"FULL", "EXTRA", "2", "3"}},
                "postgresql": {"fsync": {"on", "1"}, "synchronous_commit": {"on", "remote_write", "remote_apply", "1"},
                               "full_page_writes": {"on", "1"}},
                "mysql": {"innodb_flush_log_at_trx_commit": {"1"}, "innodb_doublewrite": {"1", "on"}}}


def _norm(value: object) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    text = str(value).strip()
    return _SAME.get(text.lower(), text)


def settings_for(engine: str, level: str) -> dict[str, str]:
    """The knobs that give ``level`` (``full`` | ``relaxed``) on ``engine``."""
    i = 0 if level == "full" else 1
    return {k: v[i] for k, v in KNOBS.get(engine, {}).items()}


def merged(engine: str, level: str, settings: Mapping[str, Any] | None) -> dict[str, Any]:
    """The durability knobs for ``level`` with the profile's own ``settings`` over them (they win)."""
    return {**settings_for(engine, level), **dict(settings or {})}


def judge(engine: str, knobs: Mapping[str, Any]) -> dict[str, Any]:
    """``{"level": "full" | "relaxed", "settings": {knob: value}, "relaxed_by": [knobs]}`` for the
    durability knobs among ``knobs`` (others ignored)."""
    want = _FULL_ENOUGH.get(engine, {})
    seen = {k: _norm(v) for k, v in knobs.items() if k in want}
    relaxed = sorted(k for k, v in seen.items() if v not in want[k] and v.lower() not in {x.lower() for x in want[k]})
    return {"level": "relaxed" if relaxed else "full", "settings": seen, "relaxed_by": relaxed}


def effective(engine: str, level: str, settings: Mapping[str, Any] | None) -> dict[str, Any]:
    """What a profile's ``database.durability`` and ``settings`` amount to on ``engine``."""
    out = judge(engine, merged(engine, level, settings))
    out["requested"] = level
    out["source"] = "profile"
    return out


def read_live(db_url: str) -> dict[str, Any] | None:
    """The durability knobs as a running PostgreSQL / MariaDB server reports them (None for SQLite,
    whose setting is per connection and set by the app, or when the server cannot be asked)."""
    from sqlalchemy import create_engine, text

    from reference_app.db import backend_of, normalise_url

    engine = backend_of(db_url)
    if engine == "sqlite":
        return None
    eng = create_engine(normalise_url(db_url))
    try:
        with eng.connect() as conn:
            if engine == "postgresql":
                knobs = {k: conn.execute(text(f"SHOW {k}")).scalar() for k in KNOBS["postgresql"]}
            else:
                knobs = {k: conn.execute(text(f"SELECT @@GLOBAL.{k}")).scalar() for k in KNOBS["mysql"]}
    except Exception:  # noqa: BLE001 - a report field, never a reason to fail the step
        return None
    finally:
        eng.dispose()
    out = judge(engine, knobs)
    out["source"] = "server"
    return out


def describe(d: Mapping[str, Any] | None) -> str:
    """One line for the report: "full (synchronous=FULL)" / "relaxed by synchronous_commit=off"."""
    if not d:
        return "not recorded"
    knobs = ", ".join(f"{k}={v}" for k, v in (d.get("settings") or {}).items())
    if d.get("level") == "relaxed":
        by = ", ".join(f"{k}={d['settings'][k]}" for k in d.get("relaxed_by") or [] if k in (d.get("settings") or {}))
        return f"relaxed ({by or knobs}): the last commits may be lost in a crash"
    return f"full ({knobs})" if knobs else "full"


__all__ = ["KNOBS", "describe", "effective", "judge", "merged", "read_live", "settings_for"]
