"""Self-contained HTML pages: the charts embedded as base64 PNG, the styles inline, no script and no
network. ``report.html`` puts the verdict first, one plain sentence per profile, then the charts,
the projections (labelled) and the tables.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from reports.render.i18n import col

HTML_FILE = "report.html"

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC","Noto Sans",sans-serif;margin:2em auto;max-width:1200px;color:#222;padding:0 1em}
h1{font-size:1.6em} h2{margin-top:1.6em;border-bottom:1px solid #ddd} .verdict{font-size:1.15em;font-weight:600;background:#f4f8f4;border-left:4px solid #3a3;padding:.6em 1em;margin:.4em 0}
.verdict.fail{background:#fbf3f3;border-color:#c33} .note{color:#555;font-size:.92em}
table{border-collapse:collapse;font-size:.82em;margin:.6em 0;display:block;overflow-x:auto}
th,td{border:1px solid #ccc;padding:.25em .5em;text-align:right;white-space:nowrap} th{background:#f0f0f0}
td.t,th.t{text-align:left} figure{margin:1em 0} figure img{max-width:100%;border:1px solid #eee}
figcaption{font-size:.85em;color:#555} .projected{font-style:italic;color:#735}
"""


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value.is_integer() and abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:,.3g}" if abs(value) < 100 else f"{value:,.1f}"
    return html.escape(str(value))


def table(df: pd.DataFrame, columns: Sequence[str] | None = None, lang: str = "en") -> str:
    """``columns``: which of ``df``'s to show, in order; headers are shown in ``lang``."""
    if df is None or df.empty:
        return "<p class='note'>–</p>"
    cols = [c for c in (columns or df.columns) if c in df.columns]
    numeric = {c: pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c]) for c in cols}
    head = "".join(f"<th class='{'' if numeric[c] else 't'}'>{html.escape(col(str(c), lang))}</th>" for c in cols)
    rows = []
    for rec in df[cols].itertuples(index=False):
        cells = []
        for c, v in zip(cols, rec, strict=True):
            if hasattr(v, "item"):
                v = v.item()
            cells.append(f"<td class='{'' if numeric[c] else 't'}'>{_fmt(v)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def image(path: Path, caption: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return (f"<figure><img alt='{html.escape(caption)}' src='data:image/png;base64,{data}'>"
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def page(title: str, body: Sequence[str], lang: str = "en") -> str:
    return (f"<!DOCTYPE html><html lang='{'zh-CN' if lang == 'zh' else 'en'}'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body>{''.join(body)}</body></html>\n")


def write_page(path: Path, text: str) -> Path:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path


__all__ = ["HTML_FILE", "image", "page", "table", "write_page"]
