"""The limiting factor against the allowance, and the truth when nothing saturated."""

from __future__ import annotations

from reports.analysis.limiting import limiting_factor, resource_usage

PROFILE = {"slo": {"p95_ms": 500, "p99_ms": 1500, "error_rate": 0.01}, "hardware": {"cpus": 1},
           "architecture": {"workers": 2}, "database": {"engine": "postgresql"}}


def _step(**resources) -> dict:
    return {"customers": 64000, "valid": True, "passed": False, "error_rate": 0.0,
            "operations": {"sales_order_create": {"p95_ms": 300, "p99_ms": 1800, "errors": 0}},
            "resources": resources}


def test_app_and_database_together_against_one_quota():
    # A fully used 1-CPU quota: it used to read as 55 % + 45 %, neither saturated.
    lf = limiting_factor(_step(app_cpu_pct=55.0, db_cpu_pct=45.0, cpu_allowance_cores=1.0,
                               cpu_allowance_source="quota"), PROFILE)
    assert lf["resource"] == "cpu" and lf["saturated"] is True, lf
    assert lf["usage"]["cpu"] == 1.0 and lf["usage"]["app_cpu"] == 0.55
    assert "app 55% + database 45% of a quota of 1 CPU" in lf["detail"], lf["detail"]
    assert lf["operation"] == "sales_order_create" and "p99 1800 ms > 1500 ms" in lf["detail"]


def test_a_cpuset_only_profile_is_measured_against_its_cpus_not_the_machine():
    profile = {**PROFILE, "hardware": {"cpuset": "1"}}
    usage = resource_usage(_step(app_cpu_pct=90.0), profile, machine_cores=8)
    assert usage["cpu"] == 0.9  # 90 % of one core of a one-CPU cpuset, not of 8 cores


def test_throttling_and_memory_with_page_cache():
    lf = limiting_factor(_step(app_cpu_pct=50.0, cpu_allowance_cores=1.0, cpu_throttled_share=0.35), PROFILE)
    assert lf["resource"] == "cpu" and lf["points_to"] == "cpu_throttled" and "35%" in lf["detail"]
    lf = limiting_factor(_step(app_cpu_pct=20.0, cpu_allowance_cores=1.0, app_rss_mb=100.0,
                               memory_usage_bytes_peak=900 * 2**20, memory_allowance_bytes=2**30), PROFILE)
    assert lf["resource"] == "memory" and lf["usage"]["memory"] > 0.87  # charged, not just RSS


def test_nothing_saturated_says_so_and_names_what_the_samples_point_to():
    lf = limiting_factor(_step(app_cpu_pct=40.0, cpu_allowance_cores=2.0, iowait_pct=45.0), {**PROFILE, "hardware": {}})
    assert lf["resource"] is None and lf["saturated"] is False, lf
    assert lf["points_to"] == "io_wait" and "no resource saturated" in lf["detail"] and "I/O" in lf["detail"]
    lf = limiting_factor(_step(app_cpu_pct=20.0, cpu_allowance_cores=2.0, foreign_cpu_pct_p90=95.0), {})
    assert lf["points_to"] == "other_processes"
    lf = limiting_factor(_step(app_cpu_pct=10.0, db_cpu_pct=30.0, cpu_allowance_cores=2.0), {})
    assert lf["points_to"] == "database"
    lf = limiting_factor(_step(app_cpu_pct=10.0, cpu_allowance_cores=2.0), {})
    assert lf["points_to"] == "waits" and lf["resource"] is None


def test_a_single_worker_app_is_saturated_at_one_core_on_a_bigger_machine():
    lf = limiting_factor(_step(app_cpu_pct=97.0, cpu_allowance_cores=2.0, cpu_allowance_source="machine"),
                         {**PROFILE, "hardware": {}, "architecture": {"workers": 1}})
    assert lf["resource"] == "app_workers" and lf["saturated"], lf


def test_out_of_memory_and_crash_name_memory_and_crash():
    step = _step(app_cpu_pct=10.0, cpu_allowance_cores=1.0)
    assert limiting_factor({**step, "sut_events": {"oom_kills": 2}}, PROFILE)["resource"] == "memory"
    lf = limiting_factor({**step, "sut_events": {"oom_kills": 0, "worker_restarts": [{"pid": 5}]}}, PROFILE)
    assert lf["resource"] == "crash" and "1 app worker(s) died" in lf["detail"]


def test_a_microservices_step_names_its_busiest_service():
    profile = {**PROFILE, "hardware": {"cpus": 8}, "architecture": {"kind": "microservices", "workers": 1,
                                                                   "replicas": {"inventory": 2}}}
    step = _step(app_cpu_pct=380.0, cpu_allowance_cores=8.0, cpu_allowance_source="quota",
                 services={"gateway": {"cpu_pct": 90.0, "rss_mb": 60.0}, "customers": {"cpu_pct": 70.0, "rss_mb": 80.0},
                           "inventory": {"cpu_pct": 150.0, "rss_mb": 140.0}, "orders": {"cpu_pct": 70.0, "rss_mb": 90.0}})
    lf = limiting_factor(step, profile)
    assert lf["service"] == "inventory" and "busiest service: inventory (150 % of a core, 140 MiB)" in lf["detail"]
    # five processes (gateway 1 + customers 1 + inventory 2 + orders 1), not the gateway's one worker
    assert resource_usage(step, profile)["app_workers"] == 0.76
    assert "service" not in limiting_factor(_step(app_cpu_pct=55.0, cpu_allowance_cores=1.0), PROFILE)


def test_the_sentence_is_composed_from_recorded_facts_in_either_language():
    """capacity.json keeps the facts: the English detail is composed from them, and so is a Chinese
    report's sentence, with the same figures (no English left but names and units)."""
    from reports.analysis.limiting import describe, limiting_cause, limiting_detail

    lf = limiting_factor(_step(app_cpu_pct=10.0, db_cpu_pct=30.0, cpu_allowance_cores=2.0,
                               cpu_allowance_source="quota"), PROFILE)
    assert describe(lf["facts"]) == lf["detail"] == limiting_detail(lf, "en")
    zh = limiting_detail(lf, "zh")
    assert zh.startswith("在 64000 个客户时：sales_order_create p99 1800 毫秒 > 1500 毫秒；没有资源饱和"), zh
    assert "应用 5% + 数据库 15%，占配额 2 个 CPU" in zh and "采样指向数据库" in zh, zh
    assert limiting_cause(lf, "zh") == "sales_order_create p99 1800 毫秒 > 1500 毫秒"
    oom = limiting_factor({**_step(app_cpu_pct=10.0, cpu_allowance_cores=1.0), "sut_events": {"oom_kills": 2}}, PROFILE)
    assert "杀掉了 2 个进程" in limiting_detail(oom, "zh") and "OOM killer killed 2" in oom["detail"]
    # results written before the facts were recorded: their English detail, as it was
    old = {k: v for k, v in lf.items() if k != "facts"}
    assert limiting_detail(old, "zh") == lf["detail"]
