"""A file's cells as text, in the sheet's own coordinates, whatever container they came from.

CSV and XLSX readers both produce a `Grid`; the layouts (standard long rows, or the wide
dashboard) read a `Grid`. The locators say where a figure of a parsed return sits in the file,
so a finding can name the cell a steward finds in Excel (`Dashboard!F12`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping

from schemas.findings import Finding

Row = tuple[int, list[str]]  # (the row's number in the file or sheet, its cells as text)
# Sheet names Excel writes without quotes in a reference; any other is quoted: 'My data'!B4.
_PLAIN_SHEET = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")


@dataclass
class Grid:
    """The non-blank rows of one CSV or sheet; `sheet` is None for a CSV."""

    sheet: str | None
    rows: list[Row]
    findings: list[Finding] = field(default_factory=list)  # said while reading (an encoding guessed)


def column_letter(position: int) -> str:
    """Excel's name of the column at 0-based `position`: 0 -> A, 25 -> Z, 26 -> AA."""
    letters, number = "", position + 1
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def cell_address(sheet: str | None, row: int, position: int) -> str:
    """`Dashboard!F12` in a workbook, `F12` in a CSV (as Excel shows it when the CSV is opened)."""
    address = f"{column_letter(position)}{row}"
    if sheet is None:
        return address
    name = sheet if _PLAIN_SHEET.fullmatch(sheet) else "'" + sheet.replace("'", "''") + "'"
    return f"{name}!{address}"


@dataclass(frozen=True, eq=False)
class SheetRow:
    """Where the cells of a return given as a row sit: one row, a column per indicator."""

    sheet: str | None
    row: int
    positions: Mapping[str, int]  # catalogue column -> 0-based position, shared by the file's rows

    def __call__(self, column: str | None) -> str | None:
        position = self.positions.get(column) if column else None
        return None if position is None else cell_address(self.sheet, self.row, position)


@dataclass(frozen=True, eq=False)
class SheetColumn:
    """Where the cells of a return given as a column of a wide sheet sit: one column, a row per indicator."""

    sheet: str | None
    position: int
    header_row: int
    rows: Mapping[str, int]  # catalogue column -> sheet row, shared by the file's months

    def __call__(self, column: str | None) -> str | None:
        # The month itself is named by the header cell; an indicator by its own row.
        row = self.rows.get(column, self.header_row) if column else self.header_row
        return cell_address(self.sheet, row, self.position)
