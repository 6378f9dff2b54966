"""PNG charts (matplotlib, Agg): p95 per operation vs customers (log axes, SLO line, measured points
and the projected curve), throughput and CPU / memory vs customers, the operator frontier with its USL
fit, and the profiles side by side. Projected curves are dashed and say "projected" in the legend.

Chinese labels need a CJK font: one is used when installed (Noto Sans CJK, WenQuanYi, ...); without
one the labels fall back to English and :func:`cjk_font` says so once.
"""

from __future__ import annotations

import logging
from pathlib import Path

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib import font_manager

from reports.analysis.limiting import _threshold
from reports.analysis.models import usl
from reports.analysis.tables import Analysis, ProfileAnalysis
from reports.render.i18n import analysis_text, t

log = logging.getLogger(__name__)
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei",
                "Source Han Sans SC", "Droid Sans Fallback", "AR PL UMing CN", "SimHei", "Microsoft YaHei")
_CJK_FILE_HINTS = ("notosanscjk", "noto-cjk", "wqy", "droidsansfallback", "sourcehansans", "uming", "simhei")
_cjk: list[str | None] = []  # cached lookup: [family] or [None]
DPI = 100


def cjk_font() -> str | None:
    """A CJK-capable font family known to matplotlib, or None (looked up once)."""
    if _cjk:
        return _cjk[0]
    names = {f.name for f in font_manager.fontManager.ttflist}
    found = next((f for f in CJK_FAMILIES if f in names), None)
    if found is None:  # installed after matplotlib built its font cache: add the files directly
        for path in font_manager.findSystemFonts():
            if any(h in path.lower().replace("_", "").replace(" ", "") for h in _CJK_FILE_HINTS):
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    continue
        names = {f.name for f in font_manager.fontManager.ttflist}
        found = next((f for f in CJK_FAMILIES if f in names), None)
    _cjk.append(found)
    return found


def chart_lang(lang: str) -> tuple[str, str | None]:
    """The language the charts can be drawn in, and a note when Chinese had to fall back to English."""
    if lang != "zh":
        return lang, None
    if cjk_font() is None:
        return "en", t("no_cjk_font", "en")
    return "zh", None


def _style(lang: str) -> dict:
    family = cjk_font() if lang == "zh" else None
    return {"font.family": ["sans-serif"], "font.sans-serif": ([family] if family else []) + ["DejaVu Sans"],
            "axes.unicode_minus": False, "figure.dpi": DPI}


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def _main_steps(p: ProfileAnalysis) -> list[dict]:
    return [s for s in p.entry.get("steps") or [] if s.get("search", "customers") == "customers" and s.get("valid")]


def latency_chart(p: ProfileAnalysis, path: Path, lang: str) -> Path | None:
    steps = _main_steps(p)
    if not steps:
        return None
    slo = (p.entry.get("profile") or {}).get("slo") or {}
    names = sorted({n for s in steps for n in (s.get("operations") or {})})
    fig, ax = plt.subplots(figsize=(9, 5.5))
    colors = plt.get_cmap("tab20")
    xmax = max(s["customers"] for s in steps)
    proj_x = xmax
    for i, name in enumerate(names):
        pts = sorted((s["customers"], (s["operations"].get(name) or {}).get("p95_ms")) for s in steps if name in (s.get("operations") or {}))
        pts = [(c, v) for c, v in pts if v]
        if not pts:
            continue
        color = colors(i % 20)
        worst: dict[float, float] = {}
        for c, v in pts:  # repeats of a level: every point shown, the line through the worst
            worst[c] = max(worst.get(c, 0.0), v)
        ax.plot([c for c, _ in pts], [v for _, v in pts], "o", color=color, ms=4)
        ax.plot(list(worst), list(worst.values()), "-", color=color, lw=1, label=name)
        model = (p.models.get("latency", {}).get(name) or {}).get("p95")
        if model and model.get("crossing"):
            end = min(model["crossing"]["estimate"] * 1.2, xmax * 20)  # a far crossing is in the tables
            proj_x = max(proj_x, end)
            grid = np.geomspace(xmax, end, 60)
            ax.plot(grid, np.maximum(model["fit"].predict(grid), 1e-3), "--", color=color, lw=1.2,
                    label=(f"{name}（{t('projected', lang)}，{analysis_text(model['model'], lang)}）" if lang == "zh"
                           else f"{name} ({t('projected', lang)}, {model['model']})"))
    threshold = slo.get("p95_ms")
    if threshold:
        ax.axhline(threshold, color="red", lw=1.5, label=t("slo_line", lang, ms=threshold))
    for name, o in (slo.get("operations") or {}).items():
        own = _threshold(slo, name, "p95_ms")
        if o and o.get("p95_ms") and own != threshold:
            ax.axhline(own, color="red", lw=0.8, ls=":", label=f"{name}{t('colon', lang)}{t('slo_line', lang, ms=own)}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel(t("customers_log", lang))
    ax.set_ylabel(t("latency_ms", lang))
    ax.set_title(t("p95_vs_customers", lang, name=p.entry.get("name")))
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", ncol=2)
    return _save(fig, path)


def throughput_chart(p: ProfileAnalysis, path: Path, lang: str) -> Path | None:
    steps = sorted(_main_steps(p), key=lambda s: s["customers"])
    if not steps:
        return None
    x = [s["customers"] for s in steps]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.5))
    ax1.plot(x, [s.get("rps") or 0 for s in steps], "o-", label=t("rps", lang))
    if any(s.get("goodput_rps") is not None for s in steps):
        ax1.plot(x, [s.get("goodput_rps") or 0 for s in steps], "s--", label=t("goodput", lang))
    ax1.set_xscale("log")
    ax1.set_xlabel(t("customers_log", lang))
    ax1.set_ylabel(t("rps", lang))
    ax1.set_ylim(bottom=0)
    ax1.grid(True, alpha=0.3)
    ax1.legend(fontsize=8)
    res = [s.get("resources") or {} for s in steps]
    ax2.plot(x, [r.get("app_cpu_pct") or 0 for r in res], "o-", color="tab:orange", label=t("app_cpu", lang))
    if any(r.get("db_cpu_pct") for r in res):
        ax2.plot(x, [r.get("db_cpu_pct") or 0 for r in res], "o-", color="tab:red", label=t("db_cpu", lang))
    ax2.set_xscale("log")
    ax2.set_xlabel(t("customers_log", lang))
    ax2.set_ylabel(t("cpu_pct", lang))
    ax2.set_ylim(bottom=0)
    ax2.grid(True, alpha=0.3)
    mem = ax2.twinx()
    mem.plot(x, [(r.get("app_rss_mb") or 0) + (r.get("db_rss_mb") or 0) for r in res], "^:", color="tab:green", label=t("rss_mb", lang))
    mem.plot(x, [(r.get("db_bytes") or 0) / 1e6 for r in res], "v:", color="tab:purple", label=t("db_size_mb", lang))
    mem.set_ylabel("MB")
    mem.set_ylim(bottom=0)
    lines = ax2.get_legend_handles_labels()
    more = mem.get_legend_handles_labels()
    ax2.legend(lines[0] + more[0], lines[1] + more[1], fontsize=8, loc="upper left")
    fig.suptitle(t("throughput_vs_customers", lang, name=p.entry.get("name")))
    return _save(fig, path)


def frontier_chart(p: ProfileAnalysis, front: dict, path: Path, lang: str) -> Path | None:
    pts = front.get("points") or []
    if not pts:
        return None
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.plot([u for u, _ in pts], [x for _, x in pts], "o", color="tab:blue", label=t("measured", lang))
    model = front.get("usl")
    if model:
        peak = model.get("peak_operators") or max(u for u, _ in pts)
        grid = np.linspace(1, max(max(u for u, _ in pts), peak) * 1.3, 200)
        ax.plot(grid, usl(grid, model["lambda"], model["sigma"], model["kappa"]), "--", color="tab:blue",
                label=t("usl_fit", lang, sigma=model["sigma"], kappa=model["kappa"], r2=model["r2"], peak=peak))
        if model.get("peak_operators"):
            ax.axvline(model["peak_operators"], color="grey", ls=":", lw=1)
    ax.set_xlabel(t("operators", lang))
    ax.set_ylabel(t("rps", lang))
    ax.set_ylim(bottom=0)
    ax.set_xlim(left=0)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(t("frontier_title", lang, n=front.get("customers") or 0, name=p.entry.get("name")))
    return _save(fig, path)


def profiles_chart(a: Analysis, path: Path, lang: str) -> Path | None:
    if not a.profiles:
        return None
    names = [p.entry.get("name") for p in a.profiles]
    held = [p.entry.get("max_customers") or 0 for p in a.profiles]
    failing = [p.entry.get("first_failing_customers") or 0 for p in a.profiles]
    projected = [(p.projection or {}).get("projected_max_customers") or 0 for p in a.profiles]
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(names) + 3), 4.5))
    y = np.arange(len(names))
    ax.barh(y - 0.25, held, 0.25, color="tab:green", label=t("max_measured", lang))
    ax.barh(y, projected, 0.25, color="tab:green", alpha=0.35, hatch="//", label=t("max_projected", lang))
    ax.barh(y + 0.25, failing, 0.25, color="tab:red", alpha=0.6, label=t("first_failing", lang))
    for i, v in enumerate(held):
        ax.text(v, i - 0.25, f" {v:,}", va="center", fontsize=8)
    ax.set_yticks(y, names)
    ax.set_xlabel(t("customers", lang))
    ax.grid(True, axis="x", alpha=0.3)
    ax.set_xlim(right=max(held + failing + projected + [1]) * 1.2)  # room for the labels and the legend
    ax.legend(fontsize=8, loc="best")
    ax.set_title(t("profiles_title", lang))
    return _save(fig, path)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in str(name))


def render_charts(a: Analysis, directory: Path, lang: str = "en") -> tuple[list[tuple[str, Path]], str | None]:
    """Every chart of a sweep as PNG files in ``directory``: [(title key, path)], and a note when
    Chinese fell back to English for want of a CJK font."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    lang, note = chart_lang(lang)
    out: list[tuple[str, Path]] = []
    with plt.rc_context(_style(lang)), _quiet_fonts():
        chart = profiles_chart(a, directory / "profiles.png", lang)
        if chart:
            out.append(("profiles", chart))
        for p in a.profiles:
            stem = _safe(p.entry.get("name"))
            for kind, fn in (("latency", latency_chart), ("throughput", throughput_chart)):
                chart = fn(p, directory / f"{stem}-{kind}.png", lang)
                if chart:
                    out.append((f"{p.entry.get('name')}: {kind}", chart))
            for front in p.models.get("frontier", []):
                chart = frontier_chart(p, front, directory / f"{stem}-frontier-c{front.get('customers')}.png", lang)
                if chart:
                    out.append((f"{p.entry.get('name')}: frontier", chart))
    return out, note


class _quiet_fonts:
    """matplotlib warns per missing glyph; the fallback is said once by the caller instead."""

    def __enter__(self):
        self._level = logging.getLogger("matplotlib.font_manager").level
        logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)

    def __exit__(self, *exc):
        logging.getLogger("matplotlib.font_manager").setLevel(self._level)


__all__ = ["chart_lang", "cjk_font", "render_charts"]
