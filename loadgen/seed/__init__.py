"""Bulk seeding per engine, grow in place, resume, and going back.

Public face:

* ``seed_database(url, customers, *, seed=42, customer_quota=1000, index_level="basic",
  progress=True, history=True, anchor=None) -> SeedSummary`` — create the schema if absent, grow
  the seeded customers to ``customers`` (no-op if already there), resumable after a kill.
* ``snapshot(url, name) -> float`` / ``restore(url, name) -> float`` — keep a copy of the whole
  database and put it back (seconds taken): PostgreSQL ``CREATE DATABASE ... TEMPLATE``, SQLite a
  file copy, MariaDB a copy of every table into a sibling database ``<db>__snap_<name>``.
  ``list_snapshots(url)``, ``drop_snapshot(url, name)``.
"""

from loadgen.seed.goback import drop_snapshot, list_snapshots, restore, snapshot
from loadgen.seed.seeder import DEFAULT_CHUNK, SeedSummary, seed_database

__all__ = ["seed_database", "SeedSummary", "DEFAULT_CHUNK", "snapshot", "restore", "list_snapshots",
           "drop_snapshot"]
