"""Labels and sentences in English and Chinese (``--lang en|zh``): one table, looked up by key.

A key missing in Chinese falls back to English, so a new label never breaks a Chinese report.
"""

from __future__ import annotations

import re

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
    "mw_title": {"en": "Maintenance window (engine-native backup and restore)", "zh": "维护窗口（数据库原生备份与恢复）"},
    "mw_no_window": {"en": "No maintenance.backup_window set: backup and restore times are measured, no limit is judged.",
                     "zh": "未设置 maintenance.backup_window：已测量备份与恢复时间，不判定上限。"},
    "mw_fits": {"en": "The backup fits the {window} window at every level measured (up to {fits} customers); no fit reaches the window within 1000× that.",
                "zh": "在所有实测级别（最多 {fits} 个客户）备份都在 {window} 窗口内完成；在其 1000 倍以内没有拟合模型达到该窗口。"},
    "mw_none": {"en": "No backup was measured.", "zh": "未测量备份。"},
    "mw_exceeded_measured": {"en": "The backup no longer fits the {window} window at {n} customers (measured).",
                             "zh": "在 {n} 个客户时备份超出 {window} 窗口（实测）。"},
    "mw_exceeded_projected": {"en": "The backup outgrows the {window} window at about {n} customers (projected: {model} fit of backup time against customers, interval {low} – {high}).",
                              "zh": "备份约在 {n} 个客户时超出 {window} 窗口（预测：备份时间对客户数的 {model} 拟合，区间 {low} – {high}）。"},
    "mw_beyond": {"en": "beyond", "zh": "更高"},
    "mw_limits": {"en": " This is the limiting factor: it comes before the latency limit.",
                  "zh": "这是限制因素：它先于延迟上限出现。"},
    "mw_backup": {"en": "backup", "zh": "备份"},
    "mw_restore": {"en": "restore", "zh": "恢复"},
    "mw_size": {"en": "backup size", "zh": "备份大小"},
    "mw_tool": {"en": "tool", "zh": "工具"},
    "arch_title": {"en": "Architectures at equal allowance", "zh": "同等资源额度下的架构对比"},
    "arch_sheet": {"en": "architectures", "zh": "架构对比"},
    "arch_intro": {"en": "{names} differ only in their architecture: the same hardware allowance ({hw}), the same database, load and SLO. Capacities are measured (a projected one says so); p95 and CPU per request are measured at {level:,} customers, the largest level every one of them measured.",
                   "zh": "{names} 仅架构不同：相同的硬件额度（{hw}）、相同的数据库、负载与 SLO。容量为实测（预测值另行标注）；p95 与每请求 CPU 均为 {level:,} 个客户时的实测值，这是每个配置都测过的最大规模。"},
    "arch_intro_nolevel": {"en": "{names} differ only in their architecture: the same hardware allowance ({hw}), the same database, load and SLO. Capacities are measured (a projected one says so); no customer level was measured by all of them, so p95 and CPU per request are not compared.",
                           "zh": "{names} 仅架构不同：相同的硬件额度（{hw}）、相同的数据库、负载与 SLO。容量为实测（预测值另行标注）；没有一个客户规模是每个配置都测过的，因此不比较 p95 与每请求 CPU。"},
    "arch_won": {"en": "{name} held the most customers: {held:,} (measured){atleast}.",
                 "zh": "{name} 容纳的客户最多：{held:,}（实测）{atleast}。"},
    "arch_won_failed": {"en": "{name} held the most customers, {held:,} (measured); at {failed:,} it failed: {why}.",
                        "zh": "{name} 容纳的客户最多：{held:,}（实测）；在 {failed:,} 个客户时失败：{why}。"},
    "arch_tied": {"en": "{names} held the same, {held:,} customers (measured){atleast}.",
                  "zh": "{names} 容纳的客户数相同：{held:,}（实测）{atleast}。"},
    "arch_atleast": {"en": ", without failing up to the most its sweep searched", "zh": "，直到扫描上限都未失败"},
    "arch_none_held": {"en": "None of them held a level searched.", "zh": "它们在搜索的任何规模下都未达标。"},
    "arch_failed": {"en": "{name} {held} and at {failed:,} it failed: {why}.",
                    "zh": "{name} {held}，在 {failed:,} 个客户时失败：{why}。"},
    "arch_held": {"en": "held {held:,} (measured)", "zh": "容纳了 {held:,} 个客户（实测）"},
    "arch_held_none": {"en": "held no level searched", "zh": "在任何搜索规模下都未达标"},
    "arch_never_failed": {"en": "{name} held {held:,} (measured) and did not fail up to the most its sweep searched{proj}.",
                          "zh": "{name} 容纳了 {held:,} 个客户（实测），直到扫描上限都未失败{proj}。"},
    "arch_projected": {"en": "; projected capacity about {n:,} ({model}, projected)", "zh": "；预测容量约 {n:,}（{model}，预测）"},
    "arch_ran_out": {"en": "{resource} ran out first{service} and {op} was furthest over its SLO",
                     "zh": "最先耗尽的是 {resource}{service}，超出 SLO 最多的是 {op}"},
    "arch_no_saturation": {"en": "no resource ran out (the samples point to {points}) and {op} was furthest over its SLO",
                           "zh": "没有资源耗尽（采样指向{points}），超出 SLO 最多的是 {op}"},
    "arch_service": {"en": " (busiest service: {service})", "zh": "（最忙的服务：{service}）"},
    "arch_no_cause": {"en": "no limiting factor was recorded", "zh": "未记录瓶颈"},
    "arch_fastest": {"en": "At {level:,} customers {names} had the lowest p95 in {k} of {n} operations; the widest gap was {op}: {slow_p95:,.0f} ms on {slow} against {fast_p95:,.0f} ms on {fast}.",
                     "zh": "在 {level:,} 个客户时，{names} 在 {n} 个操作中的 {k} 个 p95 最低；差距最大的是 {op}：{slow} 上 {slow_p95:,.0f} 毫秒，{fast} 上 {fast_p95:,.0f} 毫秒。"},
    "arch_cpu": {"en": "CPU per request there: {parts}; {leanest} used the least.",
                 "zh": "该规模下每请求 CPU：{parts}；{leanest} 用得最少。"},
    "arch_cpu_part": {"en": "{name} {total:.1f} ms (app {app:.1f}{service} + database {db})",
                      "zh": "{name} {total:.1f} 毫秒（应用 {app:.1f}{service} + 数据库 {db}）"},
    "arch_cpu_service": {"en": ", of which {service} {ms:.1f}", "zh": "，其中 {service} {ms:.1f}"},
    "arch_pair": {"en": "{other} against {base} ({what}): {op} p95 {other_p95:,.0f} against {base_p95:,.0f} ms, CPU per request {other_ms} against {base_ms} ms.",
                  "zh": "{other} 对比 {base}（{what}）：{op} 的 p95 为 {other_p95:,.0f} 对 {base_p95:,.0f} 毫秒，每请求 CPU {other_ms} 对 {base_ms} 毫秒。"},
    "arch_pair_kind": {"en": "{other} instead of {base}, the database {where}", "zh": "{other} 替代 {base}，数据库{where}"},
    "arch_pair_network": {"en": "{kind}, the database {other} instead of {base}", "zh": "{kind}，数据库{other}而非{base}"},
    "arch_local": {"en": "local", "zh": "本地"},
    "kind_monolith": {"en": "monolith", "zh": "单体"},
    "kind_microservices": {"en": "microservices", "zh": "微服务"},
    "arch_away": {"en": "{rtt:g} ms away", "zh": "相距 {rtt:g} 毫秒"},
    "arch_unshaped": {"en": "across an unshaped link", "zh": "经未整形的链路"},
    "arch_monolith": {"en": "monolith, {n} workers", "zh": "单体，{n} 个进程"},
    "arch_micro": {"en": "microservices: gateway {n} workers, {services}", "zh": "微服务：网关 {n} 个进程，{services}"},
    "arch_figure": {"en": "figure", "zh": "指标"},
    "arch_basis": {"en": "measured / projected", "zh": "实测 / 预测"},
    "arch_row_kind": {"en": "architecture", "zh": "架构"},
    "arch_row_network": {"en": "database", "zh": "数据库"},
    "arch_row_held": {"en": "customers held", "zh": "可容纳客户数"},
    "arch_row_failing": {"en": "first failing customers", "zh": "首个失败规模"},
    "arch_row_projected": {"en": "projected capacity (customers)", "zh": "预测容量（客户数）"},
    "arch_row_limiting": {"en": "limiting factor", "zh": "瓶颈"},
    "arch_row_level": {"en": "level compared (customers)", "zh": "对比规模（客户数）"},
    "arch_row_rps": {"en": "throughput (req/s)", "zh": "吞吐量（请求/秒）"},
    "arch_row_app": {"en": "app CPU per request (ms)", "zh": "每请求应用 CPU（毫秒）"},
    "arch_row_service": {"en": "{service} CPU per request (ms)", "zh": "{service} 每请求 CPU（毫秒）"},
    "arch_row_db": {"en": "database CPU per request (ms)", "zh": "每请求数据库 CPU（毫秒）"},
    "arch_row_total": {"en": "system CPU per request (ms)", "zh": "每请求系统 CPU（毫秒）"},
    "arch_row_p95": {"en": "p95 {op} (ms)", "zh": "p95 {op}（毫秒）"},
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
    "v_why_unproven": {"en": "at {failed:,} it was not shown to hold (a 95 % interval still straddled its threshold: {cause}), so it is not counted as held",
                       "zh": "在 {failed:,} 个客户时未能证明满足 SLO（95 % 置信区间仍跨越阈值：{cause}），因此不计为可承载"},
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
    "slo_ms": {"en": "{what} ≤ {ms:g} ms", "zh": "{what} ≤ {ms:g} 毫秒"},
    "list_sep": {"en": ", ", "zh": "，"},
    # report.md's prose around the tables
    "md_partial": {"en": "> **Partial results**: the sweep was interrupted or is still running; re-run the same "
                         "`jxcbench sweep` command to finish it.",
                   "zh": "> **部分结果**：扫描被中断或仍在进行；重新运行同一条 `jxcbench sweep` 命令即可完成。"},
    "md_all_measured": {"en": "All figures are measured; none is projected.", "zh": "所有数字均为实测，没有预测值。"},
    "md_search": {"en": "Search: grow ×{growth} from {start} up to {max} customers, bisect to ±{precision:.0%}, boundary "
                        "measured {repeats}× each; {steps} steps of {duration} s after {warmup} s warm-up{extension}. "
                        "SLO: {slo}; an operation passes when the 95 % upper bound of its p95 and p99 is within the threshold.",
                  "zh": "搜索：从 {start} 个客户起每次 ×{growth} 增长，直到 {max} 个客户，再二分到 ±{precision:.0%}，边界处每级测量 "
                        "{repeats} 次；共 {steps} 个步骤，每步 {duration} 秒，预热 {warmup} 秒{extension}。"
                        "SLO：{slo}；一个操作的 p95 与 p99 的 95 % 置信上界都不超过阈值时即为通过。"},
    "md_extension": {"en": " (extended up to ×{x:g} while an operation's 95 % bounds straddle its threshold)",
                     "zh": "（当某个操作的 95 % 置信界跨越阈值时，窗口最多延长到 ×{x:g}）"},
    "md_durability": {"en": "Durability ({engine}): {text}.", "zh": "持久性（{engine}）：{text}。"},
    "dur_as_asked": {"en": "{level} (as the profile asks; not recorded by a step)", "zh": "{level}（配置的要求；步骤未记录）"},
    "dur_relaxed": {"en": "**relaxed** ({by}): the last commits may be lost in a crash",
                    "zh": "**放宽**（{by}）：崩溃时可能丢失最后的提交"},
    "dur_full": {"en": "full", "zh": "完整"},
    "dur_server": {"en": " as the server reports it", "zh": "（数据库服务器报告）"},
    "md_limiting_resource": {"en": "resource **{resource}**, operation **{op}** — {detail}.",
                             "zh": "资源 **{resource}**，操作 **{op}** — {detail}。"},
    "md_limiting_none": {"en": "**{none} {points}**; operation **{op}** — {detail}.",
                         "zh": "**{none}{points}**；操作 **{op}** — {detail}。"},
    "colon": {"en": ": ", "zh": "："},
    "unknown": {"en": "unknown", "zh": "未知"},
    "md_usl": {"en": "- Operator frontier at {c} customers, USL fit (projected): σ = {sigma:.4f}, κ = {kappa:.6f}, R² {r2:.2f}; "
                     "throughput peaks at about {peak:.0f} operators ({rps:.1f} req/s).",
               "zh": "- {c} 个客户时的操作员边界，USL 拟合（预测）：σ = {sigma:.4f}，κ = {kappa:.6f}，R² {r2:.2f}；"
                     "吞吐量约在 {peak:.0f} 个操作员时达到峰值（{rps:.1f} 请求/秒）。"},
    "md_db_size": {"en": "- Database size: {bytes:,.0f} bytes per customer (linear fit over {points} steps).",
                   "zh": "- 数据库大小：每客户 {bytes:,.0f} 字节（基于 {points} 个步骤的线性拟合）。"},
    "md_rare_title": {"en": "Operations too rare to judge", "zh": "请求太少、无法判定的操作"},
    "md_rare": {"en": ("Too few requests for a 95 % upper bound of their p95 (72 needed) or p99 (368 needed), even after "
                       "the window's extension: they were not judged on their maximum, and a pass does not cover them "
                       "(a lower bound above the threshold still fails a step). Lengthen `sweep.step_duration_s` or "
                       "raise their weight to judge them."),
                "zh": ("即使延长了窗口，请求仍太少，无法给出 p95（需要 72 个）或 p99（需要 368 个）的 95 % 置信上界："
                       "它们的上限未被判定，通过也不涵盖它们（下界高于阈值时步骤仍判为失败）。"
                       "要判定它们，请加长 `sweep.step_duration_s` 或提高它们的权重。")},
    "md_rare_at": {"en": "At the capacity ({n} customers): {ops}.", "zh": "在容量处（{n} 个客户）：{ops}。"},
    "md_rare_op": {"en": "{op} {pct} ({requests} requests, {needed} needed)", "zh": "{op} {pct}（{requests} 个请求，需要 {needed} 个）"},
    "md_no_reason": {"en": "no reason recorded", "zh": "未记录原因"},
    "md_uncertain": {"en": "uncertain", "zh": "不确定"},
    # report.md's steps table, cell by cell
    "search_customers": {"en": "customers", "zh": "客户数"},
    "search_operators": {"en": "operators", "zh": "操作员数"},
    "phase_grow": {"en": "grow", "zh": "增长"},
    "phase_bisect": {"en": "bisect", "zh": "二分"},
    "phase_confirm": {"en": "confirm", "zh": "确认"},
    "res_invalid": {"en": "invalid", "zh": "无效"},
    "res_pass": {"en": "pass", "zh": "通过"},
    "res_inconclusive": {"en": "inconclusive", "zh": "无定论"},
    "res_fail": {"en": "FAIL", "zh": "失败"},
    "res_extended": {"en": " (window extended {s:.1f} s)", "zh": "（窗口延长 {s:.1f} 秒）"},
    "res_stopped_early": {"en": " (stopped early)", "zh": "（提前停止）"},
    "win_extended": {"en": "{m:.1f} s window ({p:g} s + {e:.1f} s extension)", "zh": "{m:.1f} 秒窗口（{p:g} 秒 + 延长 {e:.1f} 秒）"},
    "win_planned": {"en": "{p:g} s window", "zh": "{p:g} 秒窗口"},
    "win_part": {"en": "part of a {p:g} s window", "zh": "{p:g} 秒窗口的一部分"},
    "win_of": {"en": "{r:.1f} s of {p:g} s window", "zh": "{p:g} 秒窗口中的 {r:.1f} 秒"},
    "win_real": {"en": "{r:.1f} s window", "zh": "{r:.1f} 秒窗口"},
    "win_warmup": {"en": " after {w:g} s warm-up", "zh": "，预热 {w:g} 秒之后"},
    "win_stopped": {"en": ", stopped early", "zh": "，提前停止"},
    "win_percentiles": {"en": "; percentiles: {m}", "zh": "；百分位算法：{m}"},
    "win_simulated": {"en": " (SIMULATED)", "zh": "（模拟）"},
    "why_pooled": {"en": "judged on {n} windows pooled ({requests} requests, 99 % intervals; this window alone: {own})",
                   "zh": "按 {n} 个窗口合并判定（{requests} 个请求，99 % 区间；仅本窗口：{own}）"},
    "why_inconclusive": {"en": "inconclusive {reason}", "zh": "无定论 {reason}"},
    "db_in_app": {"en": "in app", "zh": "计入应用"},
    "db_not_sampled": {"en": "not sampled", "zh": "未采样"},
    # a chart's caption: "{profile}: {kind}" (its file's key; translated where it is shown)
    "chart_latency": {"en": "latency", "zh": "延迟"},
    "chart_throughput": {"en": "throughput", "zh": "吞吐量与资源"},
    "chart_frontier": {"en": "frontier", "zh": "操作员边界"},
    "html_operations": {"en": "{ops} ({levels} {customers})", "zh": "{ops}（{levels} 个客户）"},
    # the machine a sweep ran on
    "m_host": {"en": "host {host}", "zh": "主机 {host}"},
    "m_databases": {"en": "; databases: ", "zh": "；数据库："},
}

# The texts the analysis writes in English into its results (a projection's limit and model, stored in
# capacity.json by the sweep): in Chinese they are rebuilt from their parts, matched by their shape. A
# text of another shape is shown as it is.
_FIT = {"constant": "常数", "log": "对数", "linear": "线性", "nlogn": "N log N", "usl": "USL"}
_WHO = {"app": "应用", "db": "数据库"}
_ANALYSIS_ZH: list[tuple[str, str]] = [
    (r"(?P<op>\S+) (?P<pct>p\d+) reaches (?P<ms>[\d.]+) ms", "{op} 的 {pct} 达到 {ms} 毫秒"),
    (r"(?P<op>\S+) (?P<pct>p\d+) ≥ (?P<ms>[\d.]+) ms", "{op} 的 {pct} ≥ {ms} 毫秒"),
    (r"(?P<who>\S+) CPU reaches the allowance of (?P<cpus>\S+) CPU at (?P<rps>\S+) req/s",
     "{who} CPU 在 {rps} 请求/秒时达到 {cpus} 个 CPU 的额度"),
    (r"(?P<who>\S+) CPU per request ≥ (?P<ms>\S+) ms \((?P<cpus>\S+) CPU at (?P<rps>\S+) req/s\)",
     "{who}每请求 CPU ≥ {ms} 毫秒（{rps} 请求/秒时 {cpus} 个 CPU）"),
    (r"(?:the )?database fills the disk", "数据库占满磁盘"),
    (r"(?:the )?database outgrows the memory limit", "数据库超出内存限制"),
    (r"the backup outgrows the (?P<s>\S+) s maintenance window", "备份超出 {s} 秒的维护窗口"),
    (r"USL peak at (?P<c>\S+) customers \(σ (?P<sigma>\S+), κ (?P<kappa>\S+)\)", "{c} 个客户时的 USL 峰值（σ {sigma}，κ {kappa}）"),
    (r"(?P<pct>p\d+) latency, (?P<fit>\S+) fit \(R² (?P<r2>\S+)\)", "{pct} 延迟，{fit}拟合（R² {r2}）"),
    (r"CPU ms per request, (?P<fit>\S+) fit \(R² (?P<r2>\S+)\)", "每请求 CPU 毫秒数，{fit}拟合（R² {r2}）"),
    (r"backup seconds, (?P<fit>\S+) fit \(R² (?P<r2>\S+)\)", "备份秒数，{fit}拟合（R² {r2}）"),
    (r"linear bytes per customer", "每客户字节数，线性拟合"),
    (r"(?P<fit>constant|log|linear|nlogn|usl)", "{fit}"),
]


def analysis_text(text: str | None, lang: str = "en") -> str | None:
    """A projection's limit or model as the analysis wrote it (English), in ``lang``."""
    if lang != "zh" or not isinstance(text, str):
        return text
    for pattern, zh in _ANALYSIS_ZH:
        m = re.fullmatch(pattern, text)
        if m:
            parts = m.groupdict()
            if "fit" in parts:  # "线性拟合", "N log N 拟合"
                fit = _FIT.get(parts["fit"], parts["fit"])
                parts["fit"] = fit + " " if fit[-1].isascii() else fit
            if "who" in parts:
                parts["who"] = _WHO.get(parts["who"], parts["who"])
            return zh.format(**parts).strip()
    return text


# What the capacity search wrote about itself (``search.notes`` and ``search.stopped``, English in
# capacity.json): the frame of each sentence in the report's language. A step's own invalid or
# inconclusive reason quoted inside stays as the step recorded it.
_WHAT_ZH = {"customers": "个客户", "operators": "个操作员"}
_SEARCH_ZH: list[tuple[str, str]] = [
    (r"at (?P<a>\d+) (?P<what>\w+) no step showed that the SLO holds \((?P<reason>.*)\): counted as not held, "
     r"the search went on below it", "在 {a} {what} 没有一个步骤表明 SLO 成立（{reason}）：按未达成计，搜索在其下继续"),
    (r"passed at the maximum searched \((?P<a>\d+) (?P<what>\w+)\); the capacity may be higher",
     "在搜索的最大值（{a} {what}）通过；容量可能更高"),
    (r"failed already at the start level \((?P<a>\d+) (?P<what>\w+)\); lower the start to find the capacity",
     "在起始级别（{a} {what}）就已失败；降低起始值才能找到容量"),
    (r"a repeat at (?P<a>\d+) (?P<what>\w+) failed; the answer fell back to (?P<b>\d+) \w+, confirmed with "
     r"(?P<n>\d+) valid measurements?(?P<too> too)?", "在 {a} {what} 的重复测量失败；答案退回到 {b} {what}，同样以 {n} 次有效测量确认"),
    (r"a repeat at (?P<a>\d+) (?P<what>\w+) stayed invalid or inconclusive: (?P<reason>.*)",
     "在 {a} {what} 的重复测量仍无效或无结论：{reason}"),
    (r"repeated steps disagree \((?P<reason>.*)\); taking the conservative answer", "重复的步骤结论不一（{reason}）；取保守的答案"),
    (r"the bracket (?P<a>\d+)\.\.(?P<b>\d+) is ±(?P<r>\S+), wider than the precision ±(?P<p>\S+)",
     "区间 {a}..{b} 为 ±{r}，宽于精度 ±{p}"),
    (r"stopped: the step at (?P<a>\d+) (?P<what>\w+) was (?P<how>invalid or inconclusive|invalid) (?P<n>\d+) times? "
     r"\(last: (?P<reason>.*)\), so it is unknown whether it passes",
     "已停止：{a} {what} 的步骤 {n} 次{how}（最后一次：{reason}），因此不知道它是否通过"),
    (r"interrupted", "被中断"),
]


def search_text(text: str | None, lang: str = "en") -> str | None:
    """A note or stop reason of the capacity search (English in capacity.json), in ``lang``."""
    if lang != "zh" or not isinstance(text, str):
        return text
    for pattern, zh in _SEARCH_ZH:
        m = re.fullmatch(pattern, text, flags=re.S)
        if m:
            parts = {k: v for k, v in m.groupdict().items() if v is not None}
            if "what" in parts:
                parts["what"] = _WHAT_ZH.get(parts["what"], parts["what"])
            if "how" in parts:
                parts["how"] = "无效或无结论" if "inconclusive" in parts["how"] else "无效"
            return zh.format(**{"reason": "", **parts})
    return text


# Column headers of the report's tables (report.xlsx, report.html, report.md), keyed by their English
# text: the analysis builds its tables with English headers (what code and tests index by), and a
# renderer translates them at the last moment, so the numbers under them are the same in both
# languages. The unit stays in the header, in the style of the labels above ("p95（毫秒）").
COLUMNS: dict[str, str] = {
    # summary
    "profile": "配置", "verdict": "结论", "max customers (measured)": "最大客户数（实测）",
    "first failing customers": "首个失败客户数", "projected max customers": "预测最大客户数",
    "projection low": "预测区间下限", "projection high": "预测区间上限", "projection model": "预测模型",
    "operators": "操作员数", "rate (1/s)": "到达率（次/秒）", "limiting resource": "瓶颈资源",
    "limiting operation": "瓶颈操作", "limiting detail": "瓶颈详情", "steps": "步骤数", "complete": "已完成",
    "currency": "币种", "price per month": "每月价格", "cost per 1000 customers per month": "每千客户每月成本",
    # steps
    "search": "搜索维度", "phase": "阶段", "customers": "客户数", "repeat": "重复序号", "valid": "有效", "passed": "通过",
    "duration (s)": "时长（秒）", "measured (s)": "实测时长（秒）", "requests": "请求数",
    "throughput (req/s)": "吞吐量（请求/秒）", "goodput (req/s)": "有效吞吐（请求/秒）", "errors": "错误数",
    "refusals": "拒绝数", "error rate": "错误率", "p50 (ms)": "p50（毫秒）", "p95 (ms)": "p95（毫秒）",
    "p99 (ms)": "p99（毫秒）", "max (ms)": "最大值（毫秒）", "app CPU (%)": "应用 CPU（%）", "DB CPU (%)": "数据库 CPU（%）",
    "app CPU per request (ms)": "每请求应用 CPU（毫秒）", "DB CPU per request (ms)": "每请求数据库 CPU（毫秒）",
    "Little's law expected (req/s)": "利特尔法则预期吞吐（请求/秒）", "Little's law ratio": "利特尔法则比值",
    "invalid reason": "无效原因", "dir": "目录",
    # operations
    "operation": "操作", "p95 low (ms)": "p95 下限（毫秒）", "p95 high (ms)": "p95 上限（毫秒）",
    "p99 low (ms)": "p99 下限（毫秒）", "p99 high (ms)": "p99 上限（毫秒）",
    # resources
    "app CPU mean (%)": "应用 CPU 均值（%）", "app CPU peak (%)": "应用 CPU 峰值（%）",
    "DB CPU mean (%)": "数据库 CPU 均值（%）", "DB CPU peak (%)": "数据库 CPU 峰值（%）",
    "load generator CPU (%)": "负载生成器 CPU（%）", "app RSS peak (MB)": "应用 RSS 峰值（MB）",
    "DB RSS peak (MB)": "数据库 RSS 峰值（MB）", "DB size (bytes)": "数据库大小（字节）",
    "DB bytes per customer": "每客户数据库字节数", "resource samples": "资源采样数",
    # profiles
    "CPUs": "CPU 数", "memory (bytes)": "内存（字节）", "disk (bytes)": "磁盘（字节）", "engine": "数据库引擎",
    "index level": "索引级别", "architecture": "架构", "app workers": "应用进程数", "price": "价格",
    "price per": "计价周期", "think time min (s)": "思考时间下限（秒）", "think time max (s)": "思考时间上限（秒）",
    "SLO p95 (ms)": "SLO p95（毫秒）", "SLO p99 (ms)": "SLO p99（毫秒）", "SLO error rate": "SLO 错误率",
    "sweep start customers": "扫描起始客户数", "sweep max customers": "扫描最大客户数", "sweep precision": "扫描精度",
    "step duration (s)": "步骤时长（秒）", "bytes per customer (projected model)": "每客户字节数（预测模型）",
    "customers filling the disk (projected)": "占满磁盘时的客户数（预测）",
    "customers outgrowing memory (projected)": "超出内存限制时的客户数（预测）",
    # projections
    "what": "限制", "model": "模型", "R²": "R²", "points": "数据点数", "customers (projected)": "客户数（预测）",
    "low": "区间下限", "high": "区间上限", "peak operators (projected)": "峰值操作员数（预测）",
    "peak throughput (req/s, projected)": "峰值吞吐量（请求/秒，预测）",
    # report.md's own tables (their English headers are shorter: the unit is in the cells)
    "#": "#", "result": "结果", "measured": "测量窗口", "rps": "请求/秒", "p95 ms": "p95（毫秒）", "p99 ms": "p99（毫秒）",
    "app CPU": "应用 CPU", "DB CPU": "数据库 CPU", "p95 spread over repeats": "重复测量的 p95 范围",
    "why it failed": "失败原因", "most operators that passed": "通过的最多操作员数", "first failing": "首个失败规模",
    "note": "备注", "limit": "限制", "interval": "区间", "step": "步骤", "not judged": "未判定",
}


def col(name: str, lang: str = "en") -> str:
    """A table's column header in ``lang`` (an unknown one stays as it is: a profile's name is data)."""
    return COLUMNS.get(name, name) if lang == "zh" else name


def kind(name: str | None, lang: str = "en") -> str | None:
    """An architecture's kind (``monolith``, ``microservices``) in ``lang``; another stays as it is."""
    return word("kind", name, lang)


def word(group: str, value, lang: str = "en"):
    """One of the sweep's own words (a step's ``search`` axis or ``phase``, an architecture's kind) in
    ``lang`` when report.md shows it; a value without a translation is shown as it is."""
    key = f"{group}_{value}"
    return t(key, lang) if lang != "en" and key in TEXT else value


def chart_caption(title: str, lang: str = "en") -> str:
    """A chart's title key ("grows: latency") as shown in ``lang`` ("grows：延迟")."""
    name, sep, kind = str(title).rpartition(": ")
    if not sep or f"chart_{kind}" not in TEXT:
        return str(title)
    return f"{name}{t('colon', lang)}{t('chart_' + kind, lang)}"


def t(key: str, lang: str = "en", **kw) -> str:
    entry = TEXT[key]
    text = entry.get(lang) or entry["en"]
    return text.format(**kw) if kw else text


def check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise ValueError(f"--lang {lang!r}: choose one of {', '.join(LANGS)}")
    return lang


__all__ = ["COLUMNS", "LANGS", "TEXT", "analysis_text", "chart_caption", "check_lang", "col", "kind", "search_text", "t",
           "word"]
