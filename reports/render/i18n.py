"""Labels and sentences in English and Chinese (``--lang en|zh``): one table, looked up by key.

A key missing in Chinese falls back to English, so a new label never breaks a Chinese report.
"""

from __future__ import annotations

LANGS = ("en", "zh")

TEXT: dict[str, dict[str, str | list[str]]] = {
    "report_title": {"en": "jxcbench capacity report", "zh": "jxcbench 容量报告"},
    "guide_title": {"en": "Sizing guide", "zh": "选型指南"},
    "partial": {"en": "Partial results: the sweep was interrupted or is still running.",
                "zh": "部分结果：扫描被中断或仍在进行。"},
    "measured_on": {"en": "Measured {date} on {machine}.", "zh": "测量于 {date}，机器：{machine}。"},
    "unconstrained": {"en": "Hardware limits were not applied (native, unconstrained).",
                      "zh": "未施加硬件限制（原生，不受限）。"},
    "projected_note": {"en": "Figures marked projected come from models fitted to the measurements, with their model and interval; all others are measured.",
                       "zh": "标注“预测”的数字来自对测量结果拟合的模型，并附模型与区间；其余均为实测。"},
    "summary": {"en": "summary", "zh": "摘要"},
    "steps": {"en": "steps", "zh": "步骤"},
    "operations": {"en": "operations", "zh": "操作"},
    "resources": {"en": "resources", "zh": "资源"},
    "profiles": {"en": "profiles", "zh": "配置"},
    "guide": {"en": "guide", "zh": "指南"},
    "profile": {"en": "profile", "zh": "配置"},
    "customers": {"en": "customers", "zh": "客户数"},
    "operators": {"en": "operators", "zh": "操作员数"},
    "operation": {"en": "operation", "zh": "操作"},
    "p95_ms": {"en": "p95 (ms)", "zh": "p95（毫秒）"},
    "p95_vs_customers": {"en": "p95 latency per operation vs customers — {name}", "zh": "各操作 p95 延迟与客户数 — {name}"},
    "latency_ms": {"en": "p95 latency (ms, log)", "zh": "p95 延迟（毫秒，对数）"},
    "customers_log": {"en": "customers (log)", "zh": "客户数（对数）"},
    "slo_line": {"en": "SLO p95 {ms:g} ms", "zh": "SLO p95 {ms:g} 毫秒"},
    "measured": {"en": "measured", "zh": "实测"},
    "projected": {"en": "projected", "zh": "预测"},
    "throughput_vs_customers": {"en": "Throughput and resources vs customers — {name}", "zh": "吞吐量与资源用量随客户数变化 — {name}"},
    "rps": {"en": "requests/s", "zh": "请求/秒"},
    "goodput": {"en": "goodput (successes/s)", "zh": "有效吞吐（成功/秒）"},
    "cpu_pct": {"en": "CPU (% of one core)", "zh": "CPU（单核百分比）"},
    "app_cpu": {"en": "app CPU %", "zh": "应用 CPU %"},
    "db_cpu": {"en": "DB CPU %", "zh": "数据库 CPU %"},
    "rss_mb": {"en": "memory RSS (MB)", "zh": "内存 RSS（MB）"},
    "db_size_mb": {"en": "database size (MB)", "zh": "数据库大小（MB）"},
    "frontier_title": {"en": "Operator frontier at {n:,} customers — {name}", "zh": "{n:,} 客户时的操作员边界 — {name}"},
    "usl_fit": {"en": "USL fit (projected): σ={sigma:.3f}, κ={kappa:.5f}, R²={r2:.2f}, peak {peak:.0f} operators",
                "zh": "USL 拟合（预测）：σ={sigma:.3f}，κ={kappa:.5f}，R²={r2:.2f}，峰值 {peak:.0f} 个操作员"},
    "profiles_title": {"en": "Profiles side by side: customers held", "zh": "各配置对比：可容纳客户数"},
    "max_measured": {"en": "held (measured)", "zh": "可容纳（实测）"},
    "max_projected": {"en": "projected", "zh": "预测"},
    "first_failing": {"en": "first failing", "zh": "首个失败规模"},
    "limiting": {"en": "limiting factor", "zh": "瓶颈"},
    "charts": {"en": "Charts", "zh": "图表"},
    "projections": {"en": "Projections (projected, not measured)", "zh": "预测（模型推算，非实测）"},
    "cost_per_1000": {"en": "cost per 1,000 customers held", "zh": "每千客户成本"},
    "price": {"en": "hardware price", "zh": "硬件价格"},
    "no_cjk_font": {"en": "No CJK font is installed: chart labels are in English.",
                    "zh": "未安装中文字体：图表标签使用英文。"},
    "verdict": {"en": "Verdict", "zh": "结论"},
    "machine": {"en": "machine", "zh": "机器"},
    "tool_version": {"en": "tool version", "zh": "工具版本"},
    "date": {"en": "date", "zh": "日期"},
    "command": {"en": "command", "zh": "命令"},
    "per_month": {"en": "per month", "zh": "每月"},
    "md_frontier": {"en": "Operator frontier U_max(N)", "zh": "操作员边界 U_max(N)"},
    "md_steps": {"en": "Steps", "zh": "步骤"},
    "md_invalid": {"en": "Invalid steps (counted neither as pass nor as fail)", "zh": "无效步骤（既不算通过也不算失败）"},
    "md_none": {"en": "None.", "zh": "无。"},
    "md_limiting": {"en": "Limiting factor", "zh": "瓶颈"},
    "md_cost": {"en": "Cost: {c} {month:,.0f} per month for the hardware, {c} {per1000:,.2f} per month per 1,000 customers held.",
                "zh": "成本：硬件每月 {c} {month:,.0f}，每千客户每月 {c} {per1000:,.2f}。"},
    # verdict sentences
    "v_held_failed": {"en": "On {name}, the system held {held_with} within the SLO ({slo}); {why}.",
                      "zh": "在 {name} 上，系统容纳了 {held_with}并满足 SLO（{slo}）；{why}。"},
    "v_held_stopped": {"en": "On {name}, the system held {held_with} within the SLO ({slo}); nothing above that was decided.",
                       "zh": "在 {name} 上，系统容纳了 {held_with}并满足 SLO（{slo}）；更高的规模未能判定。"},
    "v_held_max": {"en": "On {name}, the system held {held_with} within the SLO ({slo}) and did not fail up to the most this sweep searched (sweep.max_customers){room}; the capacity may be higher: raise sweep.max_customers.",
                   "zh": "在 {name} 上，系统容纳了 {held_with}并满足 SLO（{slo}），直到本次扫描的上限（sweep.max_customers）都未失败{room}；实际容量可能更高：请提高 sweep.max_customers。"},
    "v_held_projected": {"en": "On {name}, the system held {held_with} within the SLO ({slo}) and did not fail up to the most this sweep searched{room}; projected capacity about {proj:,} customers ({model}; interval {low}–{high}; first limit: {limit}).",
                         "zh": "在 {name} 上，系统容纳了 {held_with}并满足 SLO（{slo}），直到本次扫描的上限都未失败{room}；预测容量约 {proj:,} 个客户（{model}；区间 {low}–{high}；首个限制：{limit}）。"},
    "v_room": {"en": "; there the busiest resource, {resource}, was at {share:.0%} of the profile's allowance",
               "zh": "；此时最忙的资源 {resource} 占配置额度的 {share:.0%}"},
    "held_with_staff": {"en": "{held:,} customers ({staff})", "zh": "{held:,} 个客户（{staff}）"},
    "held_with_load": {"en": "{held:,} customers with {load}", "zh": "{load}下的 {held:,} 个客户"},
    "staff_online": {"en": "{words}; {online:,} working at once", "zh": "{words}；{online:,} 人同时在线"},
    "load_staff": {"en": "the book's own staff", "zh": "账本自身的员工"},
    "role_sales": {"en": ["salesperson", "salespeople"], "zh": ["名销售", "名销售"]},
    "role_manager": {"en": ["manager", "managers"], "zh": ["名经理", "名经理"]},
    "role_clerk": {"en": ["clerk", "clerks"], "zh": ["名仓管", "名仓管"]},
    "role_back_office": {"en": ["back-office staff", "back-office staff"], "zh": ["名后台人员", "名后台人员"]},
    "v_failed_smallest": {"en": "On {name}, the system did not meet the SLO ({slo}) with {load} even at the smallest level searched; {why}.",
                          "zh": "在 {name} 上，即使在搜索的最小规模，系统在 {load} 下也未满足 SLO（{slo}）；{why}。"},
    "v_nothing": {"en": "On {name}, no step gave a pass or a fail yet, so there is no capacity figure.",
                  "zh": "在 {name} 上，尚无通过或失败的步骤，因此没有容量数据。"},
    "v_why": {"en": "at {failed:,} it failed: {cause}", "zh": "在 {failed:,} 个客户时失败：{cause}"},
    "v_limiting": {"en": " (limiting: {resource})", "zh": "（瓶颈：{resource}）"},
    "v_unsaturated": {"en": " (no resource saturated; the samples point to {points_to})",
                      "zh": "（没有资源饱和；采样指向{points_to}）"},
    "points_io_wait": {"en": "I/O waits", "zh": "I/O 等待"},
    "points_other_processes": {"en": "other processes", "zh": "其他进程"},
    "points_database": {"en": "the database", "zh": "数据库"},
    "points_waits": {"en": "waits", "zh": "等待"},
    "v_unjudged": {"en": " Not judged at that level, too few requests for a 95 % bound: {ops}.",
                   "zh": " 该规模下请求太少、无法给出 95 % 置信界、未作判定的操作：{ops}。"},
    "md_no_saturation": {"en": "no resource saturated; the samples point to", "zh": "没有资源饱和；采样指向"},
    "v_stopped": {"en": " The search {stopped}.", "zh": " 搜索{stopped}。"},
    "v_disagreed": {"en": " Repeated boundary steps disagreed: the figure is the conservative one and uncertain.",
                    "zh": " 边界处的重复测量结果不一致：采用保守数字，存在不确定性。"},
    "v_partial": {"en": " (Partial: the sweep has not finished this profile.)", "zh": "（部分结果：该配置的扫描尚未完成。）"},
    "load_operators": {"en": "{n:,} operators", "zh": "{n:,} 个操作员"},
    "load_rate": {"en": "an arrival rate of {r:g}/s", "zh": "每秒 {r:g} 次到达"},
    "load_profile": {"en": "the profile's load", "zh": "配置规定的负载"},
    "beyond": {"en": "beyond", "zh": "更高"},
    "errors_le": {"en": "errors ≤ {x:.1%}", "zh": "错误率 ≤ {x:.1%}"},
    "no_slo": {"en": "no SLO", "zh": "无 SLO"},
}


def t(key: str, lang: str = "en", **kw) -> str:
    entry = TEXT[key]
    text = entry.get(lang) or entry["en"]
    return text.format(**kw) if kw else text


def check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise ValueError(f"--lang {lang!r}: choose one of {', '.join(LANGS)}")
    return lang


__all__ = ["LANGS", "TEXT", "check_lang", "t"]
