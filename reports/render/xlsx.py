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

from reports.render.i18n import t

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


def write_sheets(path: Path, sheets: Sequence[tuple[str, pd.DataFrame]], *, notes: Sequence[str] = ()) -> Path:
    """One sheet per (name, table); ``notes`` go first on the first sheet, above its table."""
    wb = Workbook()
    wb.remove(wb.active)
    for i, (name, df) in enumerate(sheets):
        ws = wb.create_sheet(name[:31])
        row = 1
        if i == 0:
            for note in notes:
                ws.cell(row=row, column=1, value=note).alignment = Alignment(wrap_text=False)
                row += 1
            if notes:
                row += 1
        header_row = row
        for j, col in enumerate(df.columns, 1):
            ws.cell(row=row, column=j, value=str(col)).font = Font(bold=True)
            ws.column_dimensions[get_column_letter(j)].width = max(10, min(45, len(str(col)) + 2))
        for record in df.itertuples(index=False):
            row += 1
            for j, value in enumerate(record, 1):
                ws.cell(row=row, column=j, value=_cell(value))
        ws.freeze_panes = ws.cell(row=header_row + 1, column=2)
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    wb.save(tmp)
    tmp.replace(path)
    return path


def header_row(path: Path, sheet: str) -> int:
    """The 0-based row of a sheet's column headers (for ``pandas.read_excel(header=...)``)."""
    from openpyxl import load_workbook

    ws = load_workbook(path, read_only=True)[sheet]
    for i, row in enumerate(ws.iter_rows(values_only=True)):
        if row and row[0] == "profile":
            return i
    return 0


def write_report_xlsx(directory: Path, tables: dict[str, pd.DataFrame], lang: str, notes: Sequence[str] = ()) -> Path:
    sheets = [(t(key, lang), tables[key]) for key in ("summary", "steps", "operations", "resources", "profiles")]
    if "projections" in tables:
        sheets.append(("projections" if lang == "en" else "预测", tables["projections"]))
    return write_sheets(Path(directory) / XLSX_FILE, sheets, notes=notes)


__all__ = ["XLSX_FILE", "header_row", "write_report_xlsx", "write_sheets"]
