"""Save or put back a copy of tinyjxc's database (``system.snapshot`` / ``system.restore``).

Run: ``python snapshot.py --db tiny.db save level-5000`` / ``... restore level-5000``. SQLite's
online backup API copies page by page under SQLite's own locks, so the running app may keep its
connections open: after a restore they read the restored book.
"""

from __future__ import annotations

import argparse
import sqlite3
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="tiny.db")
    ap.add_argument("action", choices=["save", "restore"])
    ap.add_argument("name")
    a = ap.parse_args()
    saved = Path(a.db).with_name(f"{Path(a.db).stem}.{a.name}.snapshot")
    if a.action == "restore" and not saved.is_file():
        raise SystemExit(f"no snapshot {a.name!r} ({saved})")
    src, dst = (a.db, saved) if a.action == "save" else (saved, a.db)
    with sqlite3.connect(src, timeout=30) as source, sqlite3.connect(dst, timeout=30) as target:
        source.backup(target)
    print(f"tinyjxc: {a.action} {a.name} ({saved})")


if __name__ == "__main__":
    main()
