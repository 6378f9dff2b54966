"""A load plan: everything a load-generator process needs, as plain data (JSON; sent to workers).

Seats: one per operator the load uses, ``[persona, username, index]`` (``index``: the account's
place among the book's staff of that persona, which seeds the operator's random choices together
with the plan's ``seed`` and level ``customers``; see :func:`loadgen.workload.staffing.operator_seed`),
then ``token, operator`` when the operator logged in before the load (the step does that: staff start
their shift logged in). In the closed model each Locust user (one class per persona,
:func:`loadgen.workload.users.persona_classes`) takes its persona's next free seat (so each user
works as its own operator, never shared);
in the open model the seats are the pool of logged-in sessions that serve the arrivals (bounded
concurrency: arrivals that find no idle session of their persona wait in a backlog, and that wait
is part of their latency).

Seats are interleaved by persona with a smooth weighted round-robin, so any process's share
``seats[i::W]`` keeps the profile's mix.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class LoadPlan:
    base_url: str
    workload: str = "loadgen.workload.jxc:WORKLOAD"
    mode: str = "closed"                      # closed | open
    seats: list[list] = field(default_factory=list)   # [[persona, username|None, index], ...]
    password: str | None = None
    mix: dict[str, float] = field(default_factory=dict)
    weights: dict[str, dict[str, float]] = field(default_factory=dict)
    think_time_s: tuple[float, float] = (1.0, 3.0)   # personas without their own entry below
    think_times: dict[str, tuple[float, float]] = field(default_factory=dict)   # per persona
    customers: int = 0                        # the level: seeds every random choice with ``seed``
    rate: float | None = None                  # open model: arrivals per second (all processes)
    arrival: str = "poisson"                  # poisson | constant
    warmup_s: float = 10.0
    duration_s: float = 60.0
    drain_s: float = 10.0                     # after the window: in flight (closed) / backlog (open) may finish
    seed: int = 42
    processes: int = 1                        # local load-generator processes
    expect_workers: int = 0                   # remote workers (jxcbench worker) to wait for
    master_host: str = "127.0.0.1"           # the master's address as the local workers reach it
    # A "second host" for the local workers: the network namespace (loadgen.sut.netns, ``--load-network``)
    # they run in, reaching the app at base_url and the master at master_host across its shaped link.
    worker_netns: str | None = None
    master_port: int = 5557
    request_timeout_s: float = 60.0
    # Open model: > 0 sizes each persona's pool of logged-in sessions by Little's law with this
    # headroom (sessions = rate x share x measured response time x headroom, at least 1), logging in
    # more of the plan's seats as the measured response time asks; 0 logs every seat in at the start.
    pool_headroom: float = 0.0
    pool_initial_response_s: float = 0.25      # the response time assumed before any is measured
    context: dict = field(default_factory=dict)   # facts the workload needs (catalogue ids...)
    # A plain Locust locustfile (loadgen.workload.locustfile) instead of ``workload``: its User
    # classes run as they are, ``users`` of them (closed model), spread by their own weights.
    locustfile: str | None = None
    users: int = 0
    # A CSV of per-user logins (system.users), read by the engine: plan.json, kept in the step
    # folder, holds its path and never the passwords.
    credentials_csv: str | None = None
    # The logins a system.users callback returned for this step (loadgen.workload.logins): a private
    # temporary JSON file, removed after the step.
    credentials_json: str | None = None
    # system.personas: exactly this many users of each User class (Locust's fixed_count); empty: the
    # classes' own weights spread ``users``.
    class_counts: dict[str, int] = field(default_factory=dict)
    # system.personas itself (class -> role): with it each class's logins are its role's
    # (loadgen.workload.logins.deal_by_class), its i-th user the role's i-th account.
    class_roles: dict[str, str] = field(default_factory=dict)
    # Progress lines carry the measured window's latencies and errors of the last second, for a
    # parent that may stop the step early (off by default: it costs the generator a little).
    report_window: bool = False
    # Set while running when the parent stopped the step early: the window ends here, not at
    # measure_start + duration_s (epoch seconds, the master's clock).
    stop_at: float | None = None
    # Set while running when the parent judged an extended window conclusive: the window ends here as
    # at a normal end (the open model's backlog drains as usual; a stop, above, drops it).
    end_at: float | None = None
    # The window as planned when duration_s is its extension cap (None: duration_s is the plan). The
    # clock sends a progress line right at it, for a parent that ends the window once it is conclusive.
    planned_s: float | None = None
    # TEST HOOK ONLY (never set by jxcbench): closed-model operators sleep think_scale x the think time
    # they draw, as a CPU-starved generator would; the Little's-law check must catch it.
    think_scale: float = 1.0
    # Filled in by the master when the load starts / per worker:
    t0: float | None = None
    worker_index: int = 0
    worker_count: int = 1

    @property
    def measure_start(self) -> float:
        return (self.t0 or 0.0) + self.warmup_s

    @property
    def end(self) -> float:
        """End of the measured window: as planned, or earlier when the step was stopped early.
        Everything that ends the window (users, the open schedule, the clock) reads it afresh."""
        planned = self.measure_start + self.duration_s
        return min(x for x in (planned, self.stop_at, self.end_at) if x is not None)

    def stop_now(self, now: float, *, kind: str = "stop") -> bool:
        """End the measured window at ``now``: ``kind`` "stop" (the SLO is lost: ``stop_at``) or
        "end" (conclusive: ``end_at``, as a normal end); False (nothing changed) outside the window,
        e.g. a stop that arrives after the window already ended by itself."""
        if not self.measure_start <= now < self.end:
            return False
        if kind == "end":
            self.end_at = now
        else:
            self.stop_at = now
        return True

    @property
    def workers_total(self) -> int:
        return (self.processes if self.processes > 1 else 0) + self.expect_workers

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "LoadPlan":
        d = dict(d)
        d["think_time_s"] = tuple(d.get("think_time_s") or (0.0, 0.0))
        d["think_times"] = {p: tuple(v) for p, v in (d.get("think_times") or {}).items()}
        return cls(**d)

    def think(self, persona: str) -> tuple[float, float]:
        return tuple(self.think_times.get(persona, self.think_time_s))

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=1))

    @classmethod
    def load(cls, path: Path) -> "LoadPlan":
        return cls.from_dict(json.loads(Path(path).read_text()))

    def share(self, index: int, count: int) -> "LoadPlan":
        """This plan as worker ``index`` of ``count`` runs it: its seats and its part of the rate."""
        d = self.to_dict()
        d["seats"] = self.seats[index::count]
        d["rate"] = None if self.rate is None else self.rate / count
        d["worker_index"], d["worker_count"] = index, count
        # The seed stays: each operator's choices derive from (seed, customers, its index), so they do
        # not depend on which process runs it; the open schedule adds worker_index itself.
        return LoadPlan.from_dict(d)


def persona_counts(mix: dict[str, float], total: int) -> dict[str, int]:
    """Split ``total`` seats by ``mix`` (largest remainder; every persona with weight > 0 gets one if
    ``total`` allows: it takes a seat from the persona with the most)."""
    items = [(p, float(w)) for p, w in mix.items() if w > 0]
    s = sum(w for _, w in items)
    if not items or total <= 0:
        return {}
    raw = {p: total * w / s for p, w in items}
    counts = {p: math.floor(v) for p, v in raw.items()}
    for p, _ in sorted(raw.items(), key=lambda kv: kv[1] - math.floor(kv[1]), reverse=True)[: total - sum(counts.values())]:
        counts[p] += 1
    if total >= len(counts):
        for p in [p for p, n in counts.items() if n == 0]:
            richest = max(counts, key=counts.get)
            counts[richest] -= 1
            counts[p] = 1
    return counts


def open_pool(rate: float, mix: dict[str, float], response_s: float, headroom: float = 2.0) -> dict[str, int]:
    """Open model, Little's law per persona: sessions busy on average = arrivals/s x response time;
    with ``headroom`` for bursts (Poisson arrivals) and at least one session for every persona with
    a non-zero weight: ``max(1, ceil(rate x share x response_s x headroom))``."""
    items = {p: float(w) for p, w in mix.items() if w > 0}
    total = sum(items.values())
    return {p: max(1, math.ceil(rate * w / total * response_s * headroom - 1e-9)) for p, w in items.items()}


def interleave(counts: dict[str, int]) -> list[str]:
    """Smooth weighted round-robin order of personas, e.g. {a:2,b:1} -> a, b, a."""
    total = sum(counts.values())
    current = {p: 0 for p in counts}
    out = []
    for _ in range(total):
        for p in counts:
            current[p] += counts[p]
        best = max(current, key=lambda p: current[p])
        current[best] -= total
        out.append(best)
    return out


def assign_seats(mix: dict[str, float], total: int, usernames_by_persona: dict[str, list[str | None]]) -> list[list]:
    """Seats for ``total`` operators: persona order from the mix, each with its own username.

    ``usernames_by_persona[persona]`` lists the accounts available (None entries: no login needed).
    Raises ValueError naming the persona when there are not enough accounts: an operator is never
    shared by two users.
    """
    counts = persona_counts(mix, total)
    for p, n in counts.items():
        have = len(usernames_by_persona.get(p, []))
        if have < n:
            raise ValueError(f"{n} {p} operators needed but only {have} seeded: seed more operators "
                             f"or lower the operator count / the {p} share of workload.mix")
    taken = {p: 0 for p in counts}
    seats = []
    for p in interleave(counts):
        seats.append([p, usernames_by_persona[p][taken[p]], taken[p]])
        taken[p] += 1
    return seats


def staffed_seats(chosen: dict[str, list[tuple[int, str]]]) -> list[list]:
    """Seats for the chosen staff, ``{persona: [(index in the book, username), ...]}``, interleaved by
    persona (so any process's share keeps the proportions)."""
    counts = {p: len(v) for p, v in chosen.items() if v}
    taken = {p: 0 for p in counts}
    seats = []
    for p in interleave(counts):
        index, username = chosen[p][taken[p]]
        seats.append([p, username, index])
        taken[p] += 1
    return seats


__all__ = ["LoadPlan", "assign_seats", "interleave", "open_pool", "persona_counts", "staffed_seats"]
