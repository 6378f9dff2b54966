"""One system under test kept up for every step of a profile's search, its book moved between levels.

Bringing a system up for each step (a fresh database server, a fresh seed from zero) makes a search
pay for every level it has already passed through. This runner keeps one system and moves its
database between levels instead, and every step still measures **the same book a fresh seed of N
customers would give** — never N customers plus what earlier steps' operators wrote (orders,
payments, customers: at small N, a few steps of load would double the book and make the answer
depend on the path the search took).

- A snapshot is taken of every level right after it is seeded, before any load touches it
  (:mod:`loadgen.seed.goback`: a template copy on PostgreSQL, a file copy on SQLite, a table copy on
  MariaDB).
- Before a step at N, the snapshot of the largest level <= N is restored and grown in place to N
  (:func:`loadgen.seed.seed_database` is deterministic: growing 16,000 -> 32,000 gives the rows a
  fresh 32,000 has). Only while nothing has been measured since the last seed does the database
  simply grow on.

A search never goes below its first level, so the snapshot to restore is at hand; a resumed search,
or one whose system was rebuilt after its database died, can (that system starts wherever the search
asks next): then a system of our own (managed server, temporary SQLite file) is replaced and the
book seeded from nothing, and an external one is an error. The app is stopped while its database
moves and started afresh for the step, so no connection or cache survives from the previous level.
Snapshots are removed with the system (and from an external server explicitly, since nothing else
would).

Every step records how its book got there: ``book`` in step.json (``from``: seeded / grown /
restored, the snapshot restored, seconds spent restoring, seeding and snapshotting). A managed
MariaDB is then restarted (``server_restart_s``): its one process keeps much of the memory the bulk
load freed, which a server in production would not hold, and which a small memory limit would count
against the step (:attr:`ManagedMySQL.keeps_bulk_load_memory`). After every
move the database is settled (:mod:`loadgen.seed.settle`: analysed, checkpointed, its I/O waited
for, at most 30 s) before the app starts and the warm-up runs; step.json's ``settle`` says how long
that took and whether the I/O went quiet.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from loadgen.errors import JxcError


def _snapshot_name(customers: int) -> str:
    return f"l{customers}"


class LevelledSystem:
    """A step runner (same call as :func:`loadgen.capacity.step.run_step`) over one long-lived system.

    Use as a context manager; the system comes up lazily at the first step (a resumed sweep whose
    steps are all on disk never starts one).
    """

    def __init__(self, profile: Any, *, unconstrained: bool = False) -> None:
        self.profile = profile
        self.unconstrained = unconstrained
        self._sut: Any = None
        self.level: int | None = None  # seeded customers in the database now
        self.snapshots: dict[int, str] = {}  # level -> snapshot name, taken before any load
        self.measured = False  # a step has run on the database since it was last restored or seeded
        self.backups: dict[int, dict] = {}  # level -> its engine-native backup and restore, measured once

    # -- lifecycle ----------------------------------------------------------------------------------
    def __enter__(self) -> LevelledSystem:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._sut is None:
            return
        sut, self._sut = self._sut, None  # cleared first: close runs once, whatever fails below
        try:
            if not self._snapshots_die_with_system(sut):
                self._drop_snapshots(sut)
        finally:
            sut.__exit__(None, None, None)

    def _up(self) -> Any:
        if self._sut is None:
            from loadgen.sut.launcher import SystemUnderTest

            sut = SystemUnderTest(self.profile, unconstrained=self.unconstrained)
            self._sut = sut.__enter__()
        return self._sut

    @staticmethod
    def _snapshots_die_with_system(sut: Any) -> bool:
        """Managed servers and SQLite files in the run's temp dir go with the system; an external
        server keeps whatever we create in it, so we drop our snapshots there ourselves."""
        db = sut.profile.database
        return (db.engine == "sqlite" and not db.url) or bool(db.managed)

    def _drop_snapshots(self, sut: Any) -> None:
        from loadgen.seed import drop_snapshot
        from loadgen.sut import registry

        for name in self.snapshots.values():
            drop_snapshot(sut.db_url, name)
            registry.release_snapshot(sut.db_url, name)
        self.snapshots.clear()

    # -- moving the book ------------------------------------------------------------------------------
    def move_to(self, customers: int) -> dict:
        """Bring the database to ``customers`` seeded customers (see the module docstring)."""
        from loadgen.seed import restore, snapshot

        sut = self._up()
        sut.stop_app()
        book: dict[str, Any] = {"customers": customers}
        if self.level is not None and not sut.database_answers():
            sut = self._rebuild(sut, external_error=(
                f"the external database {self.profile.database.engine} stopped answering after the previous "
                "step; jxcbench cannot restart a server it did not start"))
            book["rebuilt"] = ("the database stopped answering after the previous step (e.g. the kernel's "
                               "OOM killer took it): a new system, the book seeded again from nothing")
        base = max((lvl for lvl in self.snapshots if lvl <= customers), default=None)
        if self.level is not None and base is None and (self.measured or customers < self.level):
            # Below every level this system has seeded: a resumed sweep's system, or one rebuilt after
            # its database died, starts at whatever level comes next, and the search may then bisect
            # below it. No snapshot to go back to, so the book is seeded again on a fresh system.
            sut = self._rebuild(sut, external_error=(
                f"cannot go back to {customers} customers: no snapshot at or below it (snapshots: "
                f"{sorted(self.snapshots)}); jxcbench does not empty a database it did not create (a new --out "
                "starts the search again)"))
            book["rebuilt"] = (f"{customers} customers is below every level this run had seeded "
                               "(no snapshot to go back to): a new system, the book seeded again from nothing")
        if self.level is None:
            book["from"] = "seeded"
        elif not self.measured and customers >= self.level and (base is None or base <= self.level):
            book.update({"from": "grown", "previous": self.level})  # still the clean seeded book
        else:
            book.update({"from": "restored", "snapshot": self.snapshots[base], "previous": self.level,
                         "restore_s": round(restore(sut.db_url, self.snapshots[base]), 3)})
            self.level = base
        self.measured = False
        if customers != self.level:
            t0 = time.perf_counter()
            sut.seed(customers, progress=False)
            book["seed_s"] = round(time.perf_counter() - t0, 3)
            self.level = customers
        if customers not in self.snapshots:
            name = _snapshot_name(customers)
            if not self._snapshots_die_with_system(sut):  # a SIGKILL skips close(): the next run drops it
                from loadgen.sut import registry

                registry.claim_snapshot(sut.db_url, name)
            book["snapshot_s"] = round(snapshot(sut.db_url, name), 3)
            self.snapshots[customers] = name
            if customers not in self.backups and self._measures_backup():
                self.backups[customers] = self._backup(sut, customers)
        restart_s = sut.release_bulk_load_memory()
        if restart_s is not None:
            book["server_restart_s"] = round(restart_s, 3)
        book["settle"] = self._settle(sut)
        return book

    def _rebuild(self, sut: Any, *, external_error: str) -> Any:
        """A managed database (or a SQLite file of the run's own) that died (a failed level's OOM kill)
        or must go below every snapshot is torn down with its system and a new one brought up; its
        snapshots go with it, so the next level is seeded from nothing. An external server is not ours
        to restart or empty: ``external_error``."""
        if not self._snapshots_die_with_system(sut):
            raise JxcError(external_error, exit_code=1)
        self.close()
        self.level, self.measured = None, False
        self.snapshots.clear()
        return self._up()

    def _measures_backup(self) -> bool:
        maintenance = getattr(self.profile, "maintenance", None)
        return bool(getattr(maintenance, "measure_backup", False))

    def _backup(self, sut: Any, customers: int) -> dict:
        """The maintenance window's figure at this level: an engine-native backup of the clean
        seeded book and its restore into a scratch copy (:mod:`loadgen.seed.backup`), timed and sized
        while nothing else runs. A tool that is missing is recorded, not fatal: the latency
        search does not depend on it."""
        from loadgen.seed.backup import SCRATCH, measure_backup
        from loadgen.sut import registry

        external = not self._snapshots_die_with_system(sut)
        if external:  # a SIGKILL skips the cleanup: the next run drops the scratch copy
            registry.claim_snapshot(sut.db_url, SCRATCH)
        try:
            result = measure_backup(sut.db_url, Path(sut.workdir) / "backup")
        except JxcError as exc:
            return {"customers": customers, "error": str(exc)}
        finally:
            if external:
                registry.release_snapshot(sut.db_url, SCRATCH)
        window = getattr(self.profile.maintenance, "backup_window", None)
        return {"customers": customers, **result, "window_s": window,
                "fits_window": None if window is None else result["backup_s"] <= window}

    @staticmethod
    def _settle(sut: Any) -> dict:
        """Checkpoint, analyse and wait for quiet I/O before the warm-up (loadgen.seed.settle)."""
        from loadgen.seed.settle import settle

        return settle(sut.db_url, io_pids=sut.db_pids)

    # -- the step runner --------------------------------------------------------------------------------
    def __call__(self, profile: Any, *, customers: int, operators: int | None = None, rate: float | None = None,
                 duration_s: float, warmup_s: float, out_dir: Path, unconstrained: bool = False,
                 **measure: Any) -> dict:
        from loadgen.capacity.step import measure_on

        if profile is not self.profile:
            raise JxcError("a LevelledSystem runs the steps of the profile it was made for", exit_code=1)
        if unconstrained != self.unconstrained:
            raise JxcError("a LevelledSystem cannot change --unconstrained between steps", exit_code=1)
        t_start = time.time()
        ooms, system = self._oom_kills(), self._sut
        book: dict = {}
        # where the step is: an OOM kill before the load ("preparing") makes the step invalid below;
        # one during the load is the load's own finding (measure_load fails the step with memory)
        stage = {"now": "growing or restoring the book"}
        outer = measure.pop("on_stage", None)

        def on_stage(now: str) -> None:
            stage["now"] = now
            if outer is not None:
                outer(now)
        try:
            book = self.move_to(customers)
            self.measured = True  # from here on the book holds what the step's operators write
            return measure_on(self._sut, profile, customers=customers, operators=operators, rate=rate,
                              duration_s=duration_s, warmup_s=warmup_s, out_dir=out_dir,
                              unconstrained=unconstrained, t_start=t_start, on_stage=on_stage,
                              extra={"book": book, "seed_s": book.get("seed_s", 0.0), "settle": book.get("settle"),
                                     "backup": self.backups.get(customers)}, **measure)
        except JxcError as exc:
            after = self._oom_kills()
            before = ooms if self._sut is system else 0  # a rebuilt system's cgroup counts from zero
            killed = max(0, after - (before or 0)) if after is not None else 0
            if not killed or stage["now"] == "measuring":
                raise
            # The OOM killer ended the preparation (the seeder growing the book, a restore, the app's
            # start): the level was not measured, so the step is invalid and measured again (on a
            # rebuilt system if the database died), not a failure of the system's own work.
            from loadgen.capacity.step import no_load_step

            self.measured = True  # whatever the book holds now, it is not a clean one
            reason = (f"the system could not be prepared at {customers:,} customers: the kernel's OOM killer "
                      f"killed {killed} process(es) of the profile's cgroup while {stage['now']} ({exc})")
            return no_load_step(profile, customers=customers, operators=operators or 0, duration_s=duration_s,
                                warmup_s=warmup_s, out_dir=out_dir, valid=False, reason=reason,
                                sut_events={"oom_kills": killed}, extra={"book": book or {"customers": customers}})

    def _oom_kills(self) -> int | None:
        """The profile's cgroup's OOM kill counter now (None without a cgroup or a system)."""
        stats = getattr(self._sut, "cgroup_stats", None) if self._sut is not None else None
        try:
            return (stats() or {}).get("oom_kill") if stats else None
        except OSError:
            return None


__all__ = ["LevelledSystem"]
