"""The profile schema: hardware x database x architecture, plus workload, SLO and sweep settings.

Every model forbids unknown fields, so a typo (``memroy: 2GiB``) is an error naming the field rather
than a silently ignored line. Defaults make a minimal profile three lines long::

    database:
      engine: postgresql
    hardware: {cpus: 1, memory: 2GiB}

Memory sizes accept a number of bytes or a number with a unit: ``KiB/MiB/GiB/TiB`` (powers of 1024),
``KB/MB/GB/TB`` (powers of 1000, as the SI says) and the one-letter ``K/M/G/T`` (powers of 1024, as
docker and the kernel's own tools read them). They are stored in bytes.
"""

from __future__ import annotations

import os
import re
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

ENGINES = ("sqlite", "postgresql", "mysql")
ROLES = ("admin", "manager", "sales", "clerk")
# Below this the app and its database cannot even start; a smaller limit is a typo, not a profile.
MIN_MEMORY = 64 * 1024**2

_UNITS = {
    "": 1, "b": 1,
    "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4,
    "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4,
    "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4,
}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def machine_cpus() -> int:
    """CPUs this machine has (the kernel's count, not the affinity of this process)."""
    return os.cpu_count() or 1


def machine_memory() -> int:
    """Physical memory in bytes."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def parse_size(value: object) -> int | None:
    """``"2GiB"`` -> 2147483648; ``None`` stays ``None``; anything unreadable raises ValueError."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"invalid memory size {value!r}")
    if isinstance(value, int):
        size = value
    elif isinstance(value, float) and value.is_integer():
        size = int(value)
    else:
        m = _SIZE.match(str(value))
        unit = m.group(2).lower() if m else None
        if m is None or unit not in _UNITS:
            raise ValueError(
                f"invalid memory size {value!r} (write e.g. 512MiB, 2GiB, 2GB, 2G or a number of bytes)"
            )
        size = int(float(m.group(1)) * _UNITS[unit])
    if size <= 0:
        raise ValueError(f"memory size must be positive, got {value!r}")
    return size


def format_size(size: int | None) -> str:
    """2147483648 -> ``"2GiB"``; exact binary units where they fit, else bytes."""
    if size is None:
        return "unlimited"
    for unit, factor in (("TiB", 1024**4), ("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size % factor == 0:
            return f"{size // factor}{unit}"
    return f"{size}B"


def parse_cpuset(spec: str) -> list[int]:
    """``"0-2,5"`` -> [0, 1, 2, 5]; raises ValueError on anything else."""
    cpus: set[int] = set()
    for part in str(spec).split(","):
        part = part.strip()
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not m:
            raise ValueError(f"invalid cpuset {spec!r} (write e.g. 0, 1-3 or 0,2)")
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        if hi < lo:
            raise ValueError(f"invalid cpuset {spec!r}: range {part} runs backwards")
        cpus.update(range(lo, hi + 1))
    return sorted(cpus)


MemorySize = Annotated[int | None, BeforeValidator(parse_size)]


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h)?\s*$")
_DURATION_UNITS = {None: 1.0, "s": 1.0, "ms": 0.001, "m": 60.0, "min": 60.0, "h": 3600.0}


def parse_duration(value: object) -> float | None:
    """``"90s"``, ``"30m"``, ``"1h"``, ``"1.5h"`` or a number of seconds -> seconds (positive)."""
    if value is None:
        return None
    if isinstance(value, bool):  # YAML's yes/no would otherwise pass as 1/0 seconds
        raise ValueError(f"invalid duration {value!r} (write e.g. 90s, 30m, 1h)")
    m = _DURATION.match(str(value))
    if not m:
        raise ValueError(f"invalid duration {value!r} (write e.g. 90s, 30m, 1h or a number of seconds)")
    seconds = float(m.group(1)) * _DURATION_UNITS[m.group(2)]
    if seconds <= 0:
        raise ValueError(f"duration must be positive, got {value!r}")
    return seconds


def format_duration(seconds: float | None) -> str:
    """3600 -> ``"1h"``, 1800 -> ``"30m"``, 90 -> ``"90s"``."""
    if seconds is None:
        return "-"
    for unit, factor in (("h", 3600), ("m", 60)):
        if seconds >= factor and seconds % factor == 0:
            return f"{int(seconds // factor)}{unit}"
    return f"{seconds:g}s"


Duration = Annotated[float | None, BeforeValidator(parse_duration)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


PRICE_PERIODS = {"hour": 730.0, "day": 365.0 / 12, "month": 1.0, "year": 1 / 12}
"""How many of each period make a month (730 hours, 365/12 days): costs are compared per month."""


class Price(_Strict):
    """What the hardware costs, e.g. ``{amount: 1200, currency: CNY, per: month}``. Only reports read
    it (cost per 1,000 customers held); it changes nothing that is measured."""

    amount: float = Field(gt=0)
    currency: str = "CNY"
    per: Literal["hour", "day", "month", "year"] = "month"

    @field_validator("currency")
    @classmethod
    def _currency(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z]{3}", str(v)):
            raise ValueError(f"currency {v!r} is not a 3-letter code (e.g. CNY, USD, EUR)")
        return str(v).upper()

    def per_month(self) -> float:
        return self.amount * PRICE_PERIODS[self.per]


class Hardware(_Strict):
    """Limits for the whole system under test (app workers and a managed database together)."""

    cpus: float | None = None
    """CPU quota in CPUs (0.5 = half a CPU); ``None`` = no quota."""
    cpuset: str | None = None
    """CPUs the system may run on (``"1"``, ``"0-3"``); ``None`` = chosen by jxcbench (see launcher)."""
    memory: MemorySize = None
    """Memory limit in bytes (accepts units); swap is turned off for the group."""
    disk: MemorySize = None
    """Disk the database may fill, in bytes (accepts units); not enforced, only projected against
    (the customers that would fill it, from the bytes per customer measured)."""
    price: Price | None = None
    """What this hardware costs; reports give the cost per 1,000 customers held."""

    @field_validator("cpus")
    @classmethod
    def _cpus(cls, v: float | None) -> float | None:
        if v is None:
            return v
        if v <= 0:
            raise ValueError(f"cpus must be positive, got {v}")
        have = machine_cpus()
        if v > have:
            raise ValueError(f"cpus {v:g} is more than this machine has ({have})")
        return v

    @field_validator("cpuset")
    @classmethod
    def _cpuset(cls, v: str | int | None) -> str | None:
        if v is None:
            return v
        v = str(v)
        cpus = parse_cpuset(v)
        have = machine_cpus()
        missing = [c for c in cpus if c >= have]
        if missing:
            raise ValueError(f"cpuset {v!r} names CPU {missing[0]}, but this machine has CPUs 0-{have - 1}")
        return v

    @field_validator("disk")
    @classmethod
    def _disk(cls, v: int | None) -> int | None:
        if v is not None and v < MIN_MEMORY:
            raise ValueError(f"disk {format_size(v)} is below the minimum {format_size(MIN_MEMORY)}")
        return v

    @field_validator("memory")
    @classmethod
    def _memory(cls, v: int | None) -> int | None:
        if v is None:
            return v
        if v < MIN_MEMORY:
            raise ValueError(f"memory {format_size(v)} is below the minimum {format_size(MIN_MEMORY)}")
        have = machine_memory()
        if v > have:
            raise ValueError(f"memory {format_size(v)} is more than this machine has ({format_size(have)})")
        return v

    @model_validator(mode="after")
    def _quota_fits_cpuset(self) -> Hardware:
        if self.cpus is not None and self.cpuset is not None:
            n = len(parse_cpuset(self.cpuset))
            if self.cpus > n:
                raise ValueError(f"cpus {self.cpus:g} is more than cpuset {self.cpuset!r} provides ({n})")
        return self

    @property
    def constrained(self) -> bool:
        return any(x is not None for x in (self.cpus, self.cpuset, self.memory))


Setting = str | int | float | bool


class Database(_Strict):
    engine: Literal["sqlite", "postgresql", "mysql"] = "sqlite"
    managed: bool | None = None
    """postgresql/mysql: ``True`` (default) = jxcbench starts a throwaway server; ``False`` = use ``url``."""
    url: str | None = None
    settings: dict[str, Setting] = Field(default_factory=dict)
    """Engine settings: PostgreSQL ``shared_buffers``..., MariaDB ``innodb_buffer_pool_size``..., SQLite ``cache_size``."""
    index_level: Literal["basic", "tuned"] = "basic"
    durability: Literal["full", "relaxed"] = "full"
    """``full`` (default): every engine commits durably (SQLite ``synchronous=FULL``, PostgreSQL
    ``synchronous_commit=on``, MariaDB ``innodb_flush_log_at_trx_commit=1``); ``relaxed``: SQLite
    ``NORMAL``, PostgreSQL ``synchronous_commit=off``, MariaDB ``2`` (loadgen/sut/durability.py).
    ``settings`` win over either; an external server is used as configured."""

    @model_validator(mode="after")
    def _managed_or_url(self) -> Database:
        if self.engine == "sqlite":
            if self.managed:
                raise ValueError("managed: sqlite is embedded, there is no server to manage (drop 'managed')")
            self.managed = False
            from reference_app.db import parse_sqlite_pragmas

            # The app runs them as PRAGMAs on every connection: refuse here what it would refuse at start.
            parse_sqlite_pragmas(";".join(f"{k}={v}" for k, v in self.settings.items()))
        elif self.managed is None:
            self.managed = self.url is None
        if self.managed and self.url is not None:
            raise ValueError(f"url {self.url!r} given for a managed {self.engine} server; set managed: false to use it")
        if self.engine != "sqlite" and not self.managed and self.url is None:
            raise ValueError(f"managed: false needs a url for the external {self.engine} server")
        if self.url is not None:
            scheme = self.url.split(":", 1)[0].split("+", 1)[0].lower()
            expected = {"mysql": ("mysql", "mariadb")}.get(self.engine, (self.engine,))
            if scheme not in expected:
                raise ValueError(f"url {self.url!r} is not a {self.engine} URL (expected {expected[0]}://...)")
        return self


# Bandwidth as tc writes it: bits per second with SI prefixes. "Mbps"/"MB/s" are refused on purpose:
# tc reads "mbps" as megaBYTES per second, people mean megabits; "Mbit" leaves no doubt.
_RATE_UNITS = {"bit": 1, "kbit": 1000, "mbit": 1000**2, "gbit": 1000**3, "tbit": 1000**4}
_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")
MIN_BANDWIDTH = 1000 * 64          # 64kbit: below this a database session times out logging in
MAX_BANDWIDTH = 100 * 1000**3      # 100Gbit: above this the token bucket is not what limits
MAX_RTT_MS = 1000.0                # a database one second away is a typo, not a deployment


def parse_bandwidth(value: object) -> int | None:
    """``"1Gbit"`` -> 1000000000 bits/s; ``None`` stays ``None``; anything unreadable raises ValueError."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"invalid bandwidth {value!r}")
    if isinstance(value, (int, float)) and float(value).is_integer():
        rate = int(value)
    else:
        m = _RATE.match(str(value))
        unit = m.group(2).lower() if m else None
        if m is None or unit not in _RATE_UNITS:
            raise ValueError(f"invalid bandwidth {value!r} (write e.g. 100Mbit, 1Gbit or a number of bits/s)")
        rate = int(float(m.group(1)) * _RATE_UNITS[unit])
    if not MIN_BANDWIDTH <= rate <= MAX_BANDWIDTH:
        raise ValueError(f"bandwidth {value!r} is outside {format_bandwidth(MIN_BANDWIDTH)}.."
                         f"{format_bandwidth(MAX_BANDWIDTH)}")
    return rate


def format_bandwidth(rate: int | None) -> str:
    """1000000000 -> ``"1Gbit"``; exact SI units where they fit."""
    if rate is None:
        return "unlimited"
    for unit, factor in (("Tbit", 1000**4), ("Gbit", 1000**3), ("Mbit", 1000**2), ("kbit", 1000)):
        if rate % factor == 0:
            return f"{rate // factor}{unit}"
    return f"{rate}bit"


Bandwidth = Annotated[int | None, BeforeValidator(parse_bandwidth)]


class Network(_Strict):
    """The managed database server on its own (virtual) host: a network namespace joined by a shaped
    veth pair (``loadgen/sut/netns.py``). Both fields optional: ``{}`` = a real link, not shaped."""

    rtt_ms: float | None = None
    """Round trip app <-> database added by ``tc netem`` (half on each side of the link), or where the
    kernel has no netem by the delay relay (``loadgen/sut/delay_relay.py``); step.json says which."""
    bandwidth: Bandwidth = None
    """Link rate in bits/s (accepts ``100Mbit``, ``1Gbit``), a token bucket on each side."""

    @field_validator("rtt_ms")
    @classmethod
    def _rtt(cls, v: float | None) -> float | None:
        if v is None:
            return v
        if not 0 < v <= MAX_RTT_MS:
            raise ValueError(f"rtt_ms {v:g} must be > 0 and <= {MAX_RTT_MS:g} (a round trip in milliseconds)")
        return v

    def summary(self) -> str:
        rtt = f"rtt {self.rtt_ms:g} ms" if self.rtt_ms is not None else "no added delay"
        return f"{rtt}, {format_bandwidth(self.bandwidth)}"


class ServiceNetwork(_Strict):
    """Microservices: a round trip on every call between the app's processes (gateway -> service and
    service -> service), as when each service runs on its own host. The services share this machine's
    loopback, so no qdisc can shape one hop apart from the others: each service is reached through
    a delay relay (``loadgen/sut/delay_relay.py``, :mod:`loadgen.sut.service_network`)."""

    rtt_ms: float
    """Round trip added to each call between services, milliseconds."""

    @field_validator("rtt_ms")
    @classmethod
    def _rtt(cls, v: float) -> float:
        if not 0 < v <= MAX_RTT_MS:
            raise ValueError(f"rtt_ms {v:g} must be > 0 and <= {MAX_RTT_MS:g} (a round trip in milliseconds)")
        return v

    def summary(self) -> str:
        return f"rtt {self.rtt_ms:g} ms between services"


class Architecture(_Strict):
    kind: Literal["monolith", "microservices"] = "monolith"
    """``monolith``: one app (``workers`` uvicorn processes) on one database. ``microservices``: the
    customers, inventory and orders services, each with its own database on the profile's engine,
    behind a gateway on one port (``reference_app/micro``)."""
    workers: int = Field(2, ge=1, le=64)
    """The monolith's uvicorn worker processes; for microservices, the gateway's."""
    replicas: dict[Literal["customers", "inventory", "orders"], int] = Field(default_factory=dict)
    """Microservices only: worker processes per service (``{inventory: 2}``); a service not named has 1."""
    network: Network | None = None
    """``None``: the database is local (127.0.0.1). Set: the managed server sits across a shaped link."""
    service_network: ServiceNetwork | None = None
    """Microservices only. ``None``: the services call each other on loopback. Set: every call between
    them pays ``rtt_ms`` (``{rtt_ms: 0.5}``)."""

    @field_validator("replicas")
    @classmethod
    def _replicas(cls, v: dict[str, int]) -> dict[str, int]:
        for service, n in v.items():
            if not 1 <= n <= 64:
                raise ValueError(f"replicas.{service}: {n} must be between 1 and 64 (worker processes)")
        return v

    @model_validator(mode="after")
    def _replicas_need_services(self) -> Architecture:
        if self.replicas and self.kind != "microservices":
            raise ValueError("replicas: only for kind microservices (a monolith scales with workers)")
        if self.service_network is not None and self.kind != "microservices":
            raise ValueError(f"service_network ({self.service_network.summary()}): only for kind microservices "
                             "(a monolith's calls stay inside its process; architecture.network puts its database away)")
        return self

    def replicas_of(self, service: str) -> int:
        return self.replicas.get(service, 1)


# Think times per persona, seconds, uniform between min and max: the time a person takes between two
# requests (reading the answer, keying the next one). The floor is what a person at a keyboard can
# do: the keystroke-level model (Card, Moran & Newell 1980) gives ~1.35 s of mental preparation plus
# ~0.2-0.3 s per keystroke and ~1.1 s per pointing, i.e. >= ~3 s to key a short query or pick a
# customer. The upper end follows TPC-C's terminal model (clause 5.2.5: keying 2-18 s plus a mean
# think time of 5-12 s per transaction): a salesperson or clerk keys and reads in 3-15 s (TPC-C
# Payment: 3 s keying + 12 s think); a manager or the back office reads a report before the next
# one, 5-25 s (TPC-C Order-Status / Stock-Level: 2 s keying + 5-10 s think, doubled for a report
# of many lines).
DEFAULT_THINK_TIME_S: dict[str, tuple[float, float]] = {
    "sales": (3.0, 15.0), "clerk": (3.0, 15.0), "manager": (5.0, 25.0), "back_office": (5.0, 25.0),
}
KEYBOARD_FLOOR_S = 2.0
"""No person at a keyboard acts again sooner (the KLM: ~1.35 s mental preparation + ~1.1 s pointing or
a few keystrokes). Every shipped profile keeps its think times at or above it (a test checks);
the schema itself accepts down to 0 for synthetic loads (tests, what-if runs of a machine's limit)."""


def _personas() -> dict:
    from loadgen.workload.jxc import WORKLOAD  # the operations the load can run, by persona

    return WORKLOAD.personas


class Staffing(_Strict):
    """The staff a book of N customers comes with (the default load of a sweep; see
    ``loadgen/workload/staffing.py`` for the formula the seed and the step share)."""

    customers_per_salesperson: int | None = Field(None, ge=1)
    """The customer quota of a salesperson; each is seeded to 85 % of it. Default 1,000: the figure
    the CRM/ERP sizing articles our users read give per salesperson (= ``workload.customer_quota``)."""
    team_size: int = Field(10, ge=1)
    """Salespeople per manager (a span of control of ~10, the common sales-team size)."""
    sales_per_clerk: int = Field(5, ge=1)
    """Salespeople per warehouse clerk (at least 2 clerks)."""
    sales_per_back_office: int = Field(10, ge=1)
    """Salespeople per back-office account (finance / owner, role admin; at least 1)."""
    online_share: float = Field(0.5, ge=0, le=1)
    """Share of the staff working at the peak (default 0.5: TPC-C likewise drives every terminal at
    once but each spends most of its cycle keying and thinking; half the staff at the peak hour)."""


class Workload(_Strict):
    mix: dict[str, float] = Field(default_factory=lambda: {"sales": 0.7, "clerk": 0.2, "manager": 0.1})
    """Fixed-operator runs only: share of operators per persona; sums to 1. A staffed load takes the
    book's own proportions."""
    think_time_s: dict[str, tuple[float, float]] = Field(default_factory=lambda: dict(DEFAULT_THINK_TIME_S))
    """Per persona ``[min, max]`` seconds (uniform); one ``[min, max]`` applies to every persona.
    Personas not named keep their defaults (:data:`DEFAULT_THINK_TIME_S`)."""
    operators: int | None = Field(None, ge=1)
    """Closed model, what-if: this many concurrent operators whatever N (default: the book's staff)."""
    rate: float | None = Field(None, gt=0)
    """Open model: target arrivals per second (exclusive with ``operators``)."""
    customer_quota: int = Field(1000, ge=1)
    staffing: Staffing = Field(default_factory=Staffing)
    seed: int = Field(42, ge=0)
    """Seeds every random choice of the load (who is online, what each operator does), with the level
    and the operator's index: two runs with the same seed issue the same operations per operator."""
    customer_zipf: float = Field(1.0, ge=0, le=4)
    """Popularity of a salesperson's own customers: the k-th most popular gets weight 1/k^s. 1.0
    (default) is the 80/20 rule of sales (over ~850 accounts the top 20 % get ~78 % of the work);
    0 = uniform. Range 0-4."""
    weights: dict[str, dict[str, float]] = Field(default_factory=dict)
    """Per persona, relative weights of its operations (``{sales: {customer_search: 5}}``); the
    operations not named keep their default weights (``loadgen/workload/jxc.py``)."""

    @field_validator("weights")
    @classmethod
    def _weights(cls, v: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        personas = _personas()
        for persona, ops in v.items():
            if persona not in personas:
                raise ValueError(f"unknown persona {persona!r} (personas: {', '.join(personas)})")
            known = personas[persona].operations
            for op, weight in ops.items():
                if op not in known:
                    raise ValueError(f"{persona}: unknown operation {op!r} (its operations: {', '.join(known)})")
                if weight < 0:
                    raise ValueError(f"{persona}.{op}: weight must not be negative, got {weight:g}")
            merged = {name: w for name, (w, _) in known.items()} | ops
            if sum(merged.values()) <= 0:
                raise ValueError(f"{persona}: every operation weighs 0; the persona would have nothing to do")
        return v

    @field_validator("mix")
    @classmethod
    def _mix(cls, v: dict[str, float]) -> dict[str, float]:
        personas = _personas()
        unknown = sorted(set(v) - set(personas))
        if unknown:
            raise ValueError(f"unknown persona {unknown[0]!r} (personas: {', '.join(personas)})")
        if any(share < 0 for share in v.values()):
            raise ValueError("shares must not be negative")
        total = sum(v.values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"shares sum to {total:g}, not 1")
        return v

    @field_validator("think_time_s", mode="before")
    @classmethod
    def _think(cls, v: object) -> object:
        if isinstance(v, list | tuple):
            v = {p: v for p in DEFAULT_THINK_TIME_S}
        if not isinstance(v, dict):
            raise ValueError(f"think_time_s must be a pair (min, max) or a pair per persona, got {v!r}")
        personas = _personas()
        out = dict(DEFAULT_THINK_TIME_S)
        for p, pair in v.items():
            if p not in personas:
                raise ValueError(f"unknown persona {p!r} (personas: {', '.join(personas)})")
            try:
                lo, hi = (float(x) for x in pair)
            except (TypeError, ValueError):
                raise ValueError(f"{p}: think time must be a pair of seconds (min, max), got {pair!r}") from None
            if lo < 0 or hi < lo:
                raise ValueError(f"{p}: think time (min, max) must have 0 <= min <= max, got ({lo:g}, {hi:g})")
            out[p] = (lo, hi)
        return out

    @model_validator(mode="after")
    def _closed_or_open(self) -> Workload:
        if self.rate is not None and self.operators is not None:
            raise ValueError("give either operators (closed model) or rate (open model), not both")
        cps = self.staffing.customers_per_salesperson
        if cps is None:
            self.staffing.customers_per_salesperson = self.customer_quota
        elif "customer_quota" in self.model_fields_set and cps != self.customer_quota:
            raise ValueError(f"customer_quota {self.customer_quota} and staffing.customers_per_salesperson "
                             f"{cps} differ; they are the same figure, give one")
        else:
            self.customer_quota = cps
        return self

    @property
    def staffed(self) -> bool:
        """The load is the book's own staff (neither a fixed operator count nor a rate)."""
        return self.operators is None and self.rate is None


class OperationSlo(_Strict):
    p95_ms: float | None = Field(None, gt=0)
    p99_ms: float | None = Field(None, gt=0)


class Slo(_Strict):
    p95_ms: float = Field(500, gt=0)
    p99_ms: float = Field(1500, gt=0)
    error_rate: float = Field(0.01, ge=0, le=1)
    operations: dict[str, OperationSlo] = Field(default_factory=dict)


class Sweep(_Strict):
    start_customers: int = Field(1000, ge=1)
    growth: float = Field(4.0, gt=1)
    max_customers: int = Field(1_000_000, ge=1)
    precision: float = Field(0.10, gt=0, lt=1)
    step_duration_s: float = Field(60, gt=0)
    warmup_s: float = Field(10, ge=0)
    repeats: int = Field(2, ge=1)
    # A step with an operation whose confidence interval straddles its threshold goes on measuring,
    # up to (1 + max_extension) x step_duration_s, until every verdict that can be reached is.
    max_extension: float = Field(1.0, ge=0, le=10)
    # Re-runs of a step that stays inconclusive after its extension (each judged on the windows so
    # far pooled, loadgen.capacity.pooling) before its level counts as not shown to hold. None: as
    # many as an invalid step gets (the sweep's --invalid-retries). A profile whose window already
    # extends far (the quickstart) may set 0: its extension is the retry, without a second warm-up.
    inconclusive_retries: int | None = Field(None, ge=0, le=10)
    operators: list[int] | None = None

    @model_validator(mode="after")
    def _range(self) -> Sweep:
        if self.max_customers < self.start_customers:
            raise ValueError(
                f"max_customers {self.max_customers} is below start_customers {self.start_customers}"
            )
        if self.operators is not None and (not self.operators or min(self.operators) < 1):
            raise ValueError(f"operators levels must be a non-empty list of positive counts, got {self.operators}")
        return self


# The placeholders each command of an external system may use; any other ``{name}`` is a typo.
SYSTEM_PLACEHOLDERS = {
    "start": ("port", "workdir"), "stop": ("port", "workdir"), "base_url": ("port",),
    "seed": ("customers", "port", "base_url", "workdir"),
    "audit": ("customers", "port", "base_url", "workdir"),
    "snapshot": ("name", "customers", "port", "workdir"), "restore": ("name", "customers", "port", "workdir"),
    "database_url": ("workdir",),
}
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


class Logins(_Strict):
    """``system.users`` as a mapping: where the per-user logins of a step come from, ``csv`` or
    ``callback`` (exactly one)."""

    csv: str | None = None
    """A CSV file, header row first (e.g. ``username,password``), relative to the profile file."""
    callback: str | None = None
    """``FILE.py:function`` (relative to the profile file): called once per step, before its load, as
    ``function(count=U, customers=N, base_url=URL)`` in a child process run in the profile's folder;
    returns a list of at least U dicts (one login each, e.g. ``{"username": ..., "password": ...}``).
    It may create the accounts it hands out (through the system's own admin API, say)."""

    @model_validator(mode="after")
    def _one(self) -> Logins:
        if (self.csv is None) == (self.callback is None):
            raise ValueError("give exactly one of csv (a file of logins) or callback (FILE.py:function)")
        if self.callback is not None:
            file, _, fn = self.callback.rpartition(":")
            if not file.endswith(".py") or not fn.isidentifier():
                raise ValueError(f"callback {self.callback!r} must be FILE.py:function (e.g. logins.py:logins)")
        return self

    @property
    def where(self) -> str:
        return "system.users.csv" if self.csv is not None else "system.users.callback"


class System(_Strict):
    """Someone else's JXC product, sized with the same search (``loadgen/sut/external.py``).

    Commands are split like a shell line (``shlex``) but run without a shell, in the profile file's
    folder, with a clean environment (``PATH``, ``HOME``, ``LANG``) plus ``env``; their output goes
    to the step folder."""

    kind: Literal["external"] = "external"
    base_url: str
    """Where the system answers, e.g. ``http://127.0.0.1:{port}``; ``{port}``: a free port jxcbench picks.
    Commands may also name ``{workdir}``: the sweep's folder for this profile (a fresh database there
    per sweep)."""
    seed: str
    """Grows the database to ``{customers}`` customers (required placeholder); idempotent, run before each level."""
    workload: str
    """A plain Locust locustfile (relative to the profile file); its User classes are the personas."""
    start: str | None = None
    """Starts the system in the foreground; jxcbench keeps it running for the sweep and stops it after.
    Without it the system is already running at ``base_url``."""
    stop: str | None = None
    """Optional: run after the sweep (a started system is also sent SIGTERM, then SIGKILL)."""
    snapshot: str | None = None
    """Optional, with ``restore``: saves the freshly seeded book of a level as ``{name}``, before any load."""
    restore: str | None = None
    """Optional, with ``snapshot``: puts a saved book back (``{name}``). With both, every step measures a
    clean book: a level measured before is restored instead of re-seeded over the orders its step
    wrote, and a new level grows from the nearest smaller snapshot. Without them the seed command
    runs on whatever the last step left."""
    audit: str | None = None
    """Optional: checks the system's books after each measured step (e.g. stock = receipts - shipments,
    every acknowledged order stored); exit 0 = clean, any other exit fails the step ("audit: ...",
    the tail of its output). Without it step.json says the books were not audited."""
    users: str | Logins | None = None
    """Per-user logins: a CSV file (``users.csv``, or ``{csv: users.csv}``: a header row, e.g.
    ``username,password``; relative to the profile file) or ``{callback: FILE.py:function}`` (see
    :class:`Logins`). The i-th user of a step gets login i as ``self.jxcbench_operator``
    (``{"index": i, ...}``) before its ``on_start``. A step needing more users than logins is refused
    with the numbers. With ``personas`` each class counts its own: its i-th user gets its role's i-th
    login (rows with a ``role`` column go to the class of that role; without one, rows are dealt out
    class by class in ``personas`` order)."""
    personas: dict[str, Literal["sales", "manager", "clerk", "back_office"]] = Field(default_factory=dict)
    """Optional: the locustfile's User classes as staffing roles, e.g. ``{Salesperson: sales,
    BackOffice: back_office}`` (every class, each role once). A staffed step then runs exactly the
    online staff of each role as users of its class (Locust's ``fixed_count``); without it Locust
    spreads the step's users over the classes by their ``weight``."""
    database_url: str | None = None
    """Optional: the system's database as a SQLAlchemy URL (``sqlite:///{workdir}/tiny.db``,
    ``postgresql+psycopg://...``, ``mysql+pymysql://...``): jxcbench only reads its size on disk, every
    second of each step (``resources.db_bytes``, as for the reference app's database)."""
    health: str = "/"
    """A path answering 2xx once the system is up (and after each step: still up)."""
    health_timeout_s: float = Field(30.0, gt=0)
    env: dict[str, str] = Field(default_factory=dict)
    min_requests: int = Field(1000, ge=1)
    """A measured window with fewer requests is invalid (too few to judge a p99)."""
    # Where the profile was read from, not what it says: kept out of dumps, so that step.json and a
    # resumed sweep's comparison of profiles do not depend on the folder jxcbench was run from.
    dir: str | None = Field(None, exclude=True)
    """The folder commands and ``workload`` are relative to; the loader sets the profile file's."""
    source: str | None = Field(None, exclude=True)
    """The profile file (the loader sets it): errors at run time name it with the field."""

    @field_validator("users", mode="before")
    @classmethod
    def _users(cls, v: object) -> object:
        # One message for the form given (a union would report both forms' errors for either).
        if isinstance(v, dict):
            try:
                return Logins.model_validate(v)
            except ValidationError as exc:
                err = exc.errors(include_url=False)[0]
                where = ".".join(str(x) for x in err["loc"])
                raise ValueError(f"{where + ': ' if where else ''}{err['msg'].removeprefix('Value error, ')}") from None
        return v

    @model_validator(mode="after")
    def _placeholders(self) -> System:
        for fieldname, allowed in SYSTEM_PLACEHOLDERS.items():
            value = getattr(self, fieldname)
            if value is None:
                continue
            for name in _PLACEHOLDER.findall(value):
                if name not in allowed:
                    raise ValueError(f"system.{fieldname}: placeholder {{{name}}} in {value!r} does not exist "
                                     f"(it may use: {', '.join('{' + a + '}' for a in allowed)})")
        if (self.snapshot is None) != (self.restore is None):
            given, missing = ("snapshot", "restore") if self.restore is None else ("restore", "snapshot")
            raise ValueError(f"system.{given}: {getattr(self, given)!r} without system.{missing} (give both, or neither)")
        for fieldname in ("snapshot", "restore"):
            if getattr(self, fieldname) is not None and "{name}" not in getattr(self, fieldname):
                raise ValueError(f"system.{fieldname}: {getattr(self, fieldname)!r} must take the snapshot's name as {{name}}")
        if "{customers}" not in self.seed:
            raise ValueError(f"system.seed: {self.seed!r} must take the customer count as {{customers}}")
        roles = list(self.personas.values())
        twice = sorted({r for r in roles if roles.count(r) > 1})
        if twice:
            raise ValueError(f"system.personas: role {twice[0]!r} is given to "
                             f"{', '.join(c for c, r in self.personas.items() if r == twice[0])}; give each role "
                             "to one User class")
        if self.database_url is not None and "://" not in self.database_url:
            raise ValueError(f"system.database_url: {self.database_url!r} is not a database URL "
                             "(e.g. sqlite:///{workdir}/app.db, postgresql+psycopg://user@host/db)")
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"system.base_url: {self.base_url!r} is not an http(s) URL")
        if not self.health.startswith("/"):
            raise ValueError(f"system.health: {self.health!r} must be a path starting with '/'")
        if "{port}" in self.base_url and self.start is None:
            raise ValueError(f"system.base_url: {self.base_url!r} has a {{port}} but there is no system.start to "
                             "give it to (write the real port, or add a start command)")
        return self
FAULT_KINDS = ("kill_worker", "db_restart", "db_pause", "network_down")
"""What ``jxcbench chaos`` can do to a system under load, in the order it does them."""


class Faults(_Strict):
    """``faults``: what ``jxcbench chaos`` injects during its load step, one after the other, with
    ``gap`` of undisturbed load before each (the baseline) and after the last (the recovery)."""

    kinds: list[Literal["kill_worker", "db_restart", "db_pause", "network_down"]] = Field(
        default_factory=lambda: list(FAULT_KINDS), min_length=1)
    pause: Duration = 3.0
    """How long ``db_pause`` keeps the database stopped (SIGSTOP ... SIGCONT) and ``network_down``
    keeps its link down."""
    gap: Duration = 5.0
    recover_within: Duration = 60.0
    """A fault whose load sees no success within this long after it ended: not recovered."""


class Maintenance(_Strict):
    """``maintenance``: the nightly window the engine-native backup must fit in (e.g. ``1h``)."""

    backup_window: Duration = None
    measure_backup: bool = True
    """Measure backup and restore at each level of a sweep (off: the sweep skips them)."""


class Profile(_Strict):
    name: str | None = None
    """Defaults to the file's stem (the loader fills it in)."""
    business: str | None = None
    """Which business the profile's load models, in words (the verdict names it), e.g. for a profile
    busier than a sizing one, so that nobody takes its figure for a sizing figure."""
    hardware: Hardware = Field(default_factory=Hardware)
    database: Database = Field(default_factory=Database)
    architecture: Architecture = Field(default_factory=Architecture)
    workload: Workload = Field(default_factory=Workload)
    slo: Slo = Field(default_factory=Slo)
    sweep: Sweep = Field(default_factory=Sweep)
    system: System | None = None
    """Absent: the reference app. ``kind: external``: a vendor's own product (see :class:`System`)."""
    faults: Faults = Field(default_factory=Faults)
    maintenance: Maintenance = Field(default_factory=Maintenance)

    @field_validator("architecture")
    @classmethod
    def _network_needs_managed_server(cls, v: Architecture, info: ValidationInfo) -> Architecture:
        db = info.data.get("database")
        if v.network is None or db is None:
            return v
        if db.engine == "sqlite":
            raise ValueError(f"network ({v.network.summary()}): the database is sqlite, embedded in the app; there "
                             "is no server to put across a network (drop architecture.network or use postgresql/mysql)")
        if not db.managed:
            raise ValueError(f"network ({v.network.summary()}): the database is an external server "
                             "(database.url); jxcbench cannot move someone else's server (drop "
                             "architecture.network or use a managed server)")
        return v

    @field_validator("name")
    @classmethod
    def _name(cls, v: str | None) -> str | None:
        if v is not None and not _NAME.match(v):
            raise ValueError(f"name {v!r} may hold only letters, digits, '.', '_' and '-' (it names files)")
        return v

    @model_validator(mode="before")
    @classmethod
    def _external_takes_no_reference_sections(cls, data: object) -> object:
        # An external system is started by its own command: jxcbench puts what it starts in the
        # profile's cgroup (hardware), but does not pick its database or its workers, so such
        # settings would be silently ignored. Read from the file's own keys: the sections'
        # validators fill in fields of their own.
        if not isinstance(data, dict) or not data.get("system"):
            return data
        for section in ("database", "architecture"):
            given = data.get(section)
            if given:
                first = sorted(given)[0] if isinstance(given, dict) else ""
                raise ValueError(f"{section}.{first}: not applied to an external system (system.kind external); "
                                 f"drop the {section} section (jxcbench does not configure a system it does not "
                                 "start as the reference app; its database URL, for its size, is system.database_url)")
        hw, system = data.get("hardware"), data.get("system")
        limits = sorted(k for k in (hw if isinstance(hw, dict) else {}) if k in ("cpus", "cpuset", "memory"))
        if limits and isinstance(system, dict) and not system.get("start"):
            raise ValueError(f"hardware.{limits[0]}: an external system already running (no system.start) cannot be "
                             "put in a cgroup; add system.start (jxcbench starts it inside the limits) or drop "
                             "the hardware limits")
        rate = (data.get("workload") or {}).get("rate") if isinstance(data.get("workload"), dict) else None
        if rate is not None:
            raise ValueError(f"workload.rate {rate}: a locustfile runs closed (its own users and waits); drop "
                             "workload.rate for an external system")
        return data

    @model_validator(mode="after")
    def _someone_online(self) -> Profile:
        if self.workload.staffed:
            from loadgen.workload.staffing import Staffing as Formula
            from loadgen.workload.staffing import online_of, staff_of_book

            n = self.sweep.start_customers
            online = online_of(staff_of_book(n, Formula.of(self.workload.staffing)), self.workload.staffing.online_share)
            if sum(online.values()) == 0:
                raise ValueError(f"workload.staffing.online_share {self.workload.staffing.online_share:g} puts no "
                                 f"operator online at the first level ({n:,} customers); raise it")
        return self


__all__ = [
    "ENGINES", "ROLES", "DEFAULT_THINK_TIME_S", "KEYBOARD_FLOOR_S", "PRICE_PERIODS", "Price", "Profile", "Hardware",
    "Database", "Architecture", "Network", "ServiceNetwork", "Workload", "Staffing", "Slo",
    "OperationSlo", "Sweep", "System", "Logins", "SYSTEM_PLACEHOLDERS", "Faults", "FAULT_KINDS", "Maintenance", "parse_duration",
    "format_duration", "parse_size", "format_size", "parse_cpuset", "machine_cpus", "machine_memory",
    "parse_bandwidth", "format_bandwidth",
]
