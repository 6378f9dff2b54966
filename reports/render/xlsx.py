"""``report.xlsx`` (openpyxl): sheets summary, steps, operations, resources, profiles (and the
projections), named in the report's language. Numbers are written as numbers, never as text; the
unit is in each column's header.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from reports.render.i18n import col, t

XLSX_FILE = "report.xlsx"


def _cell(value):
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, list | dict | tuple):
        return str(value)
    return value


def write_sheets(path: Path, sheets: Sequence[tuple[str, pd.DataFrame]], *, notes: Sequence[str] = (),
                 notes_sheet: str = "notes") -> Path:
    """One sheet per (name, table), headers in the first row (``pandas.read_excel`` reads them as they
    are); ``notes`` (the verdicts, conditions) on a last sheet of their own."""
    wb = Workbook()
    wb.remove(wb.active)
    for name, df in sheets:
        ws = wb.create_sheet(name[:31])
        for j, col in enumerate(df.columns, 1):
            ws.cell(row=1, column=j, value=str(col)).font = Font(bold=True)
            ws.column_dimensions[get_column_letter(j)].width = max(10, min(45, len(str(col)) + 2))
        for i, record in enumerate(df.itertuples(index=False), 2):
            for j, value in enumerate(record, 1):
                ws.cell(row=i, column=j, value=_cell(value))
        ws.freeze_panes = "B2"
    if notes:
        ws = wb.create_sheet(notes_sheet[:31])
        ws.column_dimensions["A"].width = 120
        for i, note in enumerate(notes, 1):
            ws.cell(row=i, column=1, value=note).alignment = Alignment(wrap_text=True)
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    wb.save(tmp)
    tmp.replace(path)
    return path


def write_report_xlsx(directory: Path, tables: dict[str, pd.DataFrame], lang: str, notes: Sequence[str] = (),
                      extra: Sequence[tuple[str, pd.DataFrame]] = ()) -> Path:
    """``extra``: sections' own sheets (e.g. the architectures compared), after the tables."""
    def headed(df: pd.DataFrame) -> pd.DataFrame:  # the analysis's English headers, in the report's language
        return df.rename(columns=lambda c: col(c, lang))

    sheets = [(t(key, lang), headed(tables[key])) for key in ("summary", "steps", "operations", "resources", "profiles")]
    if "projections" in tables:
        sheets.append(("projections" if lang == "en" else "预测", headed(tables["projections"])))
    sheets += list(extra)
    return write_sheets(Path(directory) / XLSX_FILE, sheets, notes=notes, notes_sheet="notes" if lang == "en" else "说明")


__all__ = ["XLSX_FILE", "write_report_xlsx", "write_sheets"]
