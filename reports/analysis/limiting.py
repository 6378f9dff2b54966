"""The limiting factor of a failing step: the operation furthest over its SLO and the resource that
saturated against the profile's allowance — or, when none did, that nothing saturated and what the
samples point to. Reads a step as ``capacity.json`` holds it; starts nothing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1024, "m": 1000**2, "mb": 1000**2, "mib": 1024**2,
          "g": 1000**3, "gb": 1000**3, "gib": 1024**3, "t": 1000**4, "tb": 1000**4, "tib": 1024**4}


def _bytes(value: object) -> float | None:
    """A memory size as bytes from an int (bytes) or a string with units (``2GiB``, ``512MB``)."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip().lower().replace(" ", "")
    number = text.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = text[len(number):]
    try:
        return float(number) * _UNITS[unit]
    except (ValueError, KeyError):
        return None


def _threshold(slo: Mapping, operation: str, key: str) -> float | None:
    override = (slo.get("operations") or {}).get(operation) or {}
    value = override.get(key) if isinstance(override, Mapping) else None
    return value if value is not None else slo.get(key)


def headroom(step: Mapping, profile: Mapping, machine_cores: int | None = None) -> dict | None:
    """At a passing step (e.g. the largest a sweep searched): the busiest resource and its share."""
    if not step:
        return None
    usage = resource_usage(step, profile, machine_cores)
    # the resources themselves, not the parts of the CPU (app_cpu, db_cpu) nor throttling (a share of
    # periods): what "the busiest resource was at X % of the allowance" can honestly name
    whole = {k: v for k, v in usage.items() if k in ("cpu", "app_workers", "memory")}
    if not whole:
        return None
    busiest = max(whole, key=whole.get)
    return {"resource": busiest, "share": round(whole[busiest], 4), "at_customers": step.get("customers"),
            "usage": usage}


def limiting_factor(step: Mapping, profile: Mapping, machine_cores: int | None = None) -> dict | None:
    """What broke first at a failing step: the operation furthest over its SLO and the busiest resource.

    A step records no timeline, so "first" is read as "furthest over": the operation with the largest
    latency / threshold ratio (p95, and p99 where the step reports it), or the error rate when no
    latency crossed. Resources: :func:`resource_verdict` — app + database CPU together over the CPUs
    granted (quota, cpuset or the machine's cores), CPU throttling, memory charged over the limit; a
    resource is named only when saturated, otherwise ``resource`` is None, ``saturated`` False and
    ``points_to`` says what the samples point to. ``usage``: each resource's fraction.
    """
    if not step or step.get("passed") or not step.get("valid", True):
        return None
    slo = profile.get("slo") or {}
    worst: tuple[float, str, dict] | None = None
    for name, op in (step.get("operations") or {}).items():
        for key, field in (("p95_ms", "p95_ms"), ("p99_ms", "p99_ms")):
            value, threshold = op.get(field), _threshold(slo, name, key)
            if value is None or not threshold:
                continue
            ratio = value / threshold
            if ratio > 1 and (worst is None or ratio > worst[0]):
                worst = (ratio, name, {"kind": "latency", "operation": name, "stat": key[:3],
                                       "value_ms": value, "threshold_ms": threshold})
    if worst is None:
        latency = step.get("latency_ms") or {}
        for key in ("p95_ms", "p99_ms"):
            value, threshold = latency.get(key[:3]), slo.get(key)
            if value is not None and threshold and value > threshold:
                ratio = value / threshold
                if worst is None or ratio > worst[0]:
                    worst = (ratio, "all", {"kind": "latency", "operation": None, "stat": key[:3],
                                            "value_ms": value, "threshold_ms": threshold})
    error_budget = slo.get("error_rate")
    if worst is None and error_budget is not None and (step.get("error_rate") or 0) > error_budget:
        ops = step.get("operations") or {}
        name = max(ops, key=lambda n: ops[n].get("errors") or 0) if ops else "all"
        worst = (0.0, name, {"kind": "errors", "operation": name, "rate": step["error_rate"], "budget": error_budget})

    shift = step.get("shift_failure")
    if worst is None and shift:  # the system failed its staff's logins: no load ran (loadgen.capacity.step)
        worst = (0.0, None, {"kind": "shift", "failed": shift.get("failed"), "online": shift.get("online")})

    out = {"operation": worst[1] if worst else None}
    out.update(resource_verdict(step, profile, machine_cores))
    facts = {"customers": step.get("customers"), "over": worst[2] if worst else None, "resources": out.pop("facts")}
    found = {**out, "facts": facts}
    busiest = busiest_service(step)
    if busiest is not None:  # microservices: which process of the app the CPU went to
        name, figures = busiest
        found["service"] = name
        facts["service"] = {"name": name, "cpu_pct": figures.get("cpu_pct") or 0.0, "rss_mb": figures.get("rss_mb")}
    found["detail"] = describe(facts)
    return found


SATURATED = 0.80         # a resource at or above this fraction of its allowance is saturated
THROTTLED_SATURATED = 0.20  # CPU quota exhausted in this share of the scheduler's periods
IOWAIT_NOTABLE_PCT = 20.0   # % of one core the machine spent waiting for I/O
FOREIGN_NOTABLE_PCT = 10.0  # % of one core other processes used (p90)


def cpu_allowance(step: Mapping, profile: Mapping, machine_cores: int | None = None) -> tuple[float, str]:
    """CPUs the system under test was granted: what the step recorded (quota, else cpuset, else the
    machine's cores), or, for a step that recorded nothing, the profile's quota / cpuset."""
    res = step.get("resources") or {}
    if res.get("cpu_allowance_cores"):
        return float(res["cpu_allowance_cores"]), str(res.get("cpu_allowance_source") or "recorded")
    hardware = profile.get("hardware") or {}
    if hardware.get("cpus"):
        return float(hardware["cpus"]), "quota"
    if hardware.get("cpuset"):
        return float(len(_cpuset(str(hardware["cpuset"])))), "cpuset"
    return float(machine_cores or os.cpu_count() or 1), "machine"


def _cpuset(spec: str) -> list[int]:
    out: list[int] = []
    for part in spec.split(","):
        lo, _, hi = part.strip().partition("-")
        if lo.isdigit():
            out += list(range(int(lo), int(hi or lo) + 1))
    return out


MICROSERVICES = ("customers", "inventory", "orders")


def app_processes(arch: Mapping) -> int | None:
    """The app's worker processes: the monolith's workers, or the gateway's plus each service's
    replicas (one each unless the profile says otherwise)."""
    workers = arch.get("workers")
    if arch.get("kind") != "microservices":
        return workers
    replicas = arch.get("replicas") or {}
    return (workers or 1) + sum(int(replicas.get(s, 1)) for s in MICROSERVICES)


def busiest_service(step: Mapping) -> tuple[str, dict] | None:
    """A microservices step: the service (or the gateway) that used the most CPU, with its figures."""
    services = (step.get("resources") or {}).get("services") or {}
    if not services:
        return None
    name = max(services, key=lambda s: services[s].get("cpu_pct") or 0.0)
    return name, services[name]


def resource_usage(step: Mapping, profile: Mapping, machine_cores: int | None = None) -> dict[str, float]:
    """Each resource as a fraction of the profile's allowance: ``cpu`` (app + database together over
    the CPUs granted), its parts ``app_cpu`` / ``db_cpu``, ``app_workers`` (app CPU over its worker
    processes, one core each at most, where they are fewer than the CPUs), ``cpu_throttled`` (share of
    the quota's periods the kernel throttled), ``memory`` (what the cgroup is charged, page cache
    included, else RSS of app + database, over the memory limit)."""
    res = step.get("resources") or {}
    cores, _ = cpu_allowance(step, profile, machine_cores)
    usage: dict[str, float] = {}
    app, db = res.get("app_cpu_pct"), res.get("db_cpu_pct")
    sut = res.get("sut_cpu_pct")
    if sut is None and (app is not None or db is not None):
        sut = (app or 0.0) + (db or 0.0)
    if sut is not None:
        usage["cpu"] = sut / (100.0 * cores)
    for name, value in (("app_cpu", app), ("db_cpu", db)):
        if value is not None:
            usage[name] = value / (100.0 * cores)
    workers = app_processes(profile.get("architecture") or {})
    if app is not None and workers and workers < cores:
        usage["app_workers"] = app / (100.0 * workers)
    if res.get("cpu_throttled_share") is not None:
        usage["cpu_throttled"] = float(res["cpu_throttled_share"])
    limit = res.get("memory_allowance_bytes") or res.get("memory_limit_bytes") or _bytes((profile.get("hardware") or {}).get("memory"))
    if limit:
        if res.get("memory_usage_bytes_peak") is not None:
            usage["memory"] = res["memory_usage_bytes_peak"] / limit
        else:
            rss = [res.get(k) for k in ("app_rss_mb", "db_rss_mb") if res.get(k) is not None]
            if rss:
                usage["memory"] = sum(rss) * 1024 * 1024 / limit
    return {k: round(v, 4) for k, v in usage.items()}


def resource_verdict(step: Mapping, profile: Mapping, machine_cores: int | None = None) -> dict:
    """``resource``, ``saturated``, ``usage``, ``points_to`` and ``facts`` (what :func:`describe_resources` says).

    An OOM kill names ``memory``, a dead app worker ``crash``. Otherwise the resource most used
    against its allowance is named only when it is saturated (>= 80 %, or a CPU quota throttled in
    >= 20 % of its periods). When nothing is, the verdict says so and names what the samples point
    to instead: I/O waits (the machine's iowait), other processes on the machine, the database
    (busier than the app), or waits no resource explains (locks, a queue).
    """
    res = step.get("resources") or {}
    events = step.get("sut_events") or {}
    usage = resource_usage(step, profile, machine_cores)
    cores, source = cpu_allowance(step, profile, machine_cores)
    facts: dict = {"usage": usage, "cores": cores, "source": source,
                   "sqlite": ((profile.get("database") or {}).get("engine") or "sqlite") == "sqlite"}

    def verdict(resource: str | None, saturated: bool, points_to: str, kind: str, **more) -> dict:
        facts.update(kind=kind, points_to=points_to, **more)
        return {"resource": resource, "saturated": saturated, "usage": usage, "points_to": points_to,
                "facts": facts}

    if events.get("oom_kills"):
        return verdict("memory", True, "oom_kill", "oom_kill", n=events["oom_kills"])
    if events.get("worker_restarts"):
        return verdict("crash", True, "worker_restart", "worker_restart", n=len(events["worker_restarts"]))
    candidates = {k: v for k, v in usage.items() if k in ("cpu", "app_workers", "memory")}
    busiest = max(candidates, key=candidates.get) if candidates else None
    throttled = usage.get("cpu_throttled", 0.0)
    if busiest is not None and candidates[busiest] >= SATURATED:
        return verdict(busiest, True, busiest, "saturated")
    if throttled >= THROTTLED_SATURATED:
        return verdict("cpu", True, "cpu_throttled", "throttled", throttled=throttled)
    # nothing saturated: say so, and what the samples point to
    iowait, foreign = res.get("iowait_pct") or 0.0, res.get("foreign_cpu_pct_p90") or 0.0
    app, db = usage.get("app_cpu", 0.0), usage.get("db_cpu", 0.0)
    if iowait >= IOWAIT_NOTABLE_PCT:
        points = "io_wait"
    elif foreign >= FOREIGN_NOTABLE_PCT:
        points = "other_processes"
    elif db > app and db > 0:
        points = "database"
    else:
        points = "waits"
    return verdict(None, False, points, "unsaturated", iowait_pct=iowait, foreign_pct=foreign)


# The sentences of a limiting factor, composed from its facts in the reader's language: capacity.json
# keeps the facts (and the English ``detail`` for readers of the file), a report in Chinese composes
# its own text from the same facts instead of translating English.
_WORDS = {
    "en": {
        "where_quota": "a quota of {cores:g} CPU", "where_cpuset": "a cpuset of {cores:g} CPU",
        "where_machine": "this machine's {cores:g} cores", "where_other": "{cores:g} CPU",
        "sqlite_parts": " (of {where}; SQLite works inside the app)",
        "parts": " (app {app:.0%} + database {db:.0%} of {where})",
        "allowance": "{shown}{parts} of the allowance",
        "oom_kill": "the kernel's OOM killer killed {n} process(es); {allowance}",
        "worker_restart": "{n} app worker(s) died during the step; {allowance}",
        "saturated": "{allowance}",
        "throttled": "the CPU quota was throttled in {throttled:.0%} of its periods; {allowance}",
        "unsaturated": "no resource saturated ({shown}{parts} of the allowance; saturated means >= {sat:.0%}); "
                       "the samples point to {hint}",
        "nothing": "nothing measured", "no_usage": "no resource use measured (no load ran)",
        "hint_io_wait": "I/O waits: the machine spent {iowait:.0f} % of a core waiting for I/O",
        "hint_other_processes": "other processes on the machine: {foreign:.0f} % of a core at the 90th percentile",
        "hint_database": "the database: it used more CPU than the app",
        "hint_waits": "waits no resource explains (locks, a queue, the database's own waits)",
        "latency": "{op} {stat} {value:.0f} ms > {threshold:g} ms", "overall": "overall",
        "errors": "error rate {rate:.1%} > {budget:.1%} (most errors: {op})",
        "no_lead": "the SLO failed (no operation over its threshold recorded)",
        "shift": "{failed} of the {online} online staff could not log in before the load (no load ran)",
        "detail": "at {customers} customers: {lead}; {why}",
        "service": "; busiest service: {name} ({cpu:.0f} % of a core{rss})", "rss": ", {rss:.0f} MiB",
        "sep": ", ", "resource": {},
    },
    "zh": {
        "where_quota": "配额 {cores:g} 个 CPU", "where_cpuset": "绑定的 {cores:g} 个 CPU",
        "where_machine": "本机的 {cores:g} 个核", "where_other": "全部 {cores:g} 个 CPU",
        "sqlite_parts": "（占{where}；SQLite 在应用进程内运行）",
        "parts": "（应用 {app:.0%} + 数据库 {db:.0%}，占{where}）",
        "allowance": "资源占配额：{shown}{parts}",
        "oom_kill": "内核因内存不足（OOM）杀掉了 {n} 个进程；{allowance}",
        "worker_restart": "步骤中有 {n} 个应用工作进程退出；{allowance}",
        "saturated": "{allowance}",
        "throttled": "CPU 配额在 {throttled:.0%} 的周期内被限流；{allowance}",
        "unsaturated": "没有资源饱和（{shown}{parts}；饱和指 ≥ {sat:.0%}）；采样指向{hint}",
        "nothing": "未测到", "no_usage": "未测到资源使用（未施加负载）",
        "hint_io_wait": "I/O 等待：本机有相当于 {iowait:.0f} % 个核的时间在等 I/O",
        "hint_other_processes": "本机的其他进程：第 90 百分位占 {foreign:.0f} % 个核",
        "hint_database": "数据库：它用的 CPU 比应用多",
        "hint_waits": "资源解释不了的等待（锁、队列、数据库自身的等待）",
        "latency": "{op} {stat} {value:.0f} 毫秒 > {threshold:g} 毫秒", "overall": "整体",
        "errors": "错误率 {rate:.1%} > {budget:.1%}（错误最多：{op}）",
        "no_lead": "未达 SLO（没有记录到超过阈值的操作）",
        "shift": "负载开始前，{online} 名在线员工中有 {failed} 名无法登录（未施加负载）",
        "detail": "在 {customers} 个客户时：{lead}；{why}",
        "service": "；最忙的服务：{name}（{cpu:.0f} % 个核{rss}）", "rss": "，{rss:.0f} MiB",
        "sep": "，",
        "resource": {"cpu": "CPU", "app_workers": "应用工作进程", "memory": "内存", "cpu_throttled": "CPU 限流"},
    },
}


def describe_resources(facts: Mapping, lang: str = "en") -> str:
    """What the resources did at a failing step (``resource_verdict``'s facts), as one sentence part."""
    w = _WORDS.get(lang, _WORDS["en"])
    usage, cores = facts.get("usage") or {}, facts.get("cores") or 0
    where = w.get(f"where_{facts.get('source')}", w["where_other"]).format(cores=cores)
    shown = w["sep"].join(f"{w['resource'].get(k, k)} {v:.0%}" for k, v in sorted(usage.items(), key=lambda kv: -kv[1])
                          if k not in ("app_cpu", "db_cpu"))
    parts = ""
    if facts.get("sqlite"):
        parts = w["sqlite_parts"].format(where=where) if "cpu" in usage else ""
    elif "app_cpu" in usage or "db_cpu" in usage:
        parts = w["parts"].format(app=usage.get("app_cpu", 0), db=usage.get("db_cpu", 0), where=where)
    kind = facts.get("kind")
    if kind == "unsaturated":
        hint = w["hint_" + str(facts.get("points_to") or "waits")].format(
            iowait=facts.get("iowait_pct") or 0.0, foreign=facts.get("foreign_pct") or 0.0)
        return w["unsaturated"].format(shown=shown or w["nothing"], parts=parts, sat=SATURATED, hint=hint)
    allowance = w["allowance"].format(shown=shown, parts=parts) if shown else w["no_usage"]
    return w[kind].format(allowance=allowance, n=facts.get("n"), throttled=facts.get("throttled") or 0.0)


def describe_over(over: Mapping | None, lang: str = "en") -> str:
    """Which operation was furthest over its SLO, and by what, in ``lang``."""
    w = _WORDS.get(lang, _WORDS["en"])
    if not over:
        return w["no_lead"]
    if over.get("kind") == "shift":
        return w["shift"].format(failed=over.get("failed"), online=over.get("online"))
    if over.get("kind") == "errors":
        return w["errors"].format(rate=over["rate"], budget=over["budget"], op=over.get("operation"))
    return w["latency"].format(op=over.get("operation") or w["overall"], stat=over["stat"],
                               value=over["value_ms"], threshold=over["threshold_ms"])


def describe(facts: Mapping, lang: str = "en") -> str:
    """A limiting factor's whole sentence from its facts: the level, what was over, the resources."""
    w = _WORDS.get(lang, _WORDS["en"])
    text = w["detail"].format(customers=facts.get("customers"), lead=describe_over(facts.get("over"), lang),
                              why=describe_resources(facts.get("resources") or {}, lang))
    service = facts.get("service")
    if service:
        rss = w["rss"].format(rss=service["rss_mb"]) if service.get("rss_mb") is not None else ""
        text += w["service"].format(name=service["name"], cpu=service.get("cpu_pct") or 0.0, rss=rss)
    return text


def limiting_detail(lf: Mapping | None, lang: str = "en") -> str | None:
    """The sentence a report shows for a stored limiting factor: composed from its facts in ``lang``;
    results written before the facts were recorded have only their English ``detail``."""
    if not lf:
        return None
    facts = lf.get("facts")
    return describe(facts, lang) if facts else lf.get("detail")


def limiting_cause(lf: Mapping | None, lang: str = "en") -> str | None:
    """Only what was over its SLO (the verdict's short cause), in ``lang``."""
    if not lf:
        return None
    facts = lf.get("facts")
    if facts:
        return describe_over(facts.get("over"), lang)
    return (lf.get("detail") or "").split(": ", 1)[-1].split(";")[0] or None

__all__ = ["SATURATED", "app_processes", "busiest_service", "cpu_allowance", "describe", "headroom",
           "limiting_cause", "limiting_detail", "limiting_factor", "resource_usage", "resource_verdict"]
