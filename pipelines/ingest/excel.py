"""An XLSX workbook as Excel and other tools really save it.

* The zip directory is checked before anything is inflated (a zip bomb ends here, in milliseconds).
* Each cell is read as Excel shows it: a date as its month, a number in its number format
  (`0.0%` shows 0.872 as 87.2; `0.0` shows 184.83 as 184.8), so the precision rule sees the
  figure the authority saw.
* A formula saved without its cached value (openpyxl, LibreOffice headless, some exports) is
  read as its formula text (`=G12/D12*10000`), which the reader reports as an error naming the
  cell: never a blank.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from pipelines.ingest.grid import Grid, Row, RowTable
from pipelines.ingest.limits import (
    Limits,
    check_cell_length,
    check_file_size,
    check_row_count,
    check_width,
    check_workbook_directory,
)

RETURN_SHEET = "return"
_QUOTED_OR_BRACKETED = re.compile(r'"[^"]*"|\[[^\]]*\]')
_FORMULA_ELEMENT = re.compile(rb"<(?:\w+:)?f[\s>/]")  # <f>, <f t="shared" .../>, <x:f>


def format_decimals(number_format: str | None) -> tuple[int | None, bool]:
    """(decimal places shown, is a percentage) of a number format; None places for General."""
    section = _QUOTED_OR_BRACKETED.sub("", (number_format or "General").split(";")[0])
    if "0" not in section and "#" not in section:
        return None, "%" in section
    _, _, after = section.partition(".")
    places = len(re.match(r"[0#]*", after).group(0)) if after else 0  # type: ignore[union-attr]  # [0#]* always matches
    return places, "%" in section


def cell_text(value: object, number_format: str | None = None) -> str:
    """A cell's value as Excel displays it, as text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (dt.datetime, dt.date)):
        return value.strftime("%Y-%m")  # a period typed into Excel becomes a date
    if isinstance(value, (int, float)):
        places, percent = format_decimals(number_format)
        number = value * 100 if percent else value
        if places is not None:
            return f"{number:.{places}f}"
        if isinstance(number, int) or float(number).is_integer():
            return str(int(number))
        # Plain decimals, as Excel shows them: repr would write 1e-05.
        return format(Decimal(repr(float(number))), "f")
    return str(value)


def formula_text(formula: object) -> str:
    """`=G12/D12*10000` for a formula (an array formula keeps its text), reported as having no value."""
    text = formula if isinstance(formula, str) else getattr(formula, "text", None) or ""
    return text if text.startswith("=") else "=" + text


class Workbook:
    """An open workbook read twice in step, in read-only mode: once for the cached values, once
    for the formulas, so a formula without a value is seen for what it is."""

    def __init__(self, path: Path, limits: Limits):
        import openpyxl  # only XLSX needs it

        check_file_size(path, limits)
        check_workbook_directory(path, limits)
        self.path, self.limits = path, limits
        self._values = openpyxl.load_workbook(path, read_only=True, data_only=True)
        self._formulas: Any = None  # opened only for a sheet that holds formulas: the second pass doubles the time

    def __enter__(self) -> Workbook:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._values.close()
        if self._formulas is not None:
            self._formulas.close()

    def _has_formulas(self, sheet: str) -> bool:
        """Whether the sheet's XML holds a formula element, scanned as it inflates (bounded by the directory check)."""
        tail = b""
        with self._values[sheet]._get_source() as source:  # the sheet's member of the zip, streamed
            for block in iter(lambda: source.read(1 << 20), b""):
                if _FORMULA_ELEMENT.search(tail + block):
                    return True
                tail = block[-16:]
        return False

    def _formula_rows(self, sheet: str) -> Iterator[tuple]:
        import openpyxl

        if self._formulas is None:
            self._formulas = openpyxl.load_workbook(self.path, read_only=True, data_only=False)
        return self._formulas[sheet].iter_rows()

    def sheet_names(self) -> list[str]:
        """The sheet named `return` (any case) first, then the others in order."""
        names = [ws.title for ws in self._values.worksheets]
        return sorted(names, key=lambda title: title.strip().lower() != RETURN_SHEET)

    def grid(self, sheet: str) -> Grid:
        return Grid(sheet, RowTable.from_rows(self._rows(sheet)))

    def _rows(self, sheet: str) -> Iterator[Row]:
        values = self._values[sheet].iter_rows()
        formulas = self._formula_rows(sheet) if self._has_formulas(sheet) else None
        for number, value_cells in enumerate(values, start=1):
            check_row_count(number, self.limits)
            check_width(number, len(value_cells), self.limits)
            cells = [cell_text(c.value, getattr(c, "number_format", None)) for c in value_cells]
            if formulas is not None:
                for position, (cell, formula) in enumerate(zip(value_cells, next(formulas, ()))):
                    if cell.value is None and getattr(formula, "data_type", None) == "f":
                        cells[position] = formula_text(formula.value)
            check_cell_length(number, cells, self.limits)
            if any(c.strip() for c in cells):
                yield number, cells
