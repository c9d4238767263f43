"""A file's cells as text, in the sheet's own coordinates, whatever container they came from.

CSV and XLSX readers both produce a `Grid`; the layouts (standard long rows, or the wide
dashboard) read a `Grid`. The locators say where a figure of a parsed return sits in the file,
so a finding can name the cell a steward finds in Excel (`Dashboard!F12`).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from schemas.findings import Finding

Row = tuple[int, list[str]]  # (the row's number in the file or sheet, its cells as text)
# Sheet names Excel writes without quotes in a reference; any other is quoted: 'My data'!B4.
_PLAIN_SHEET = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")


class RowTable(Sequence):
    """Rows of cells held column by column as Arrow strings; reads as a sequence of `Row`.

    A million rows of thirty cells as Python lists of strings take about 2 GB; column by column
    in Arrow they take the characters and an offset each. The layouts read a few rows as `Row`s
    (the header, a wide sheet) and the body of a long return as whole columns (`column`, `filled`).
    """

    def __init__(self, numbers: np.ndarray, lengths: np.ndarray, columns: list[pa.ChunkedArray]):
        self.numbers, self.lengths, self.columns = numbers, lengths, columns  # columns[p]: null beyond a row's end

    @classmethod
    def from_rows(cls, rows: Iterable[Row], batch: int = 16_384) -> RowTable:
        """Consumes `rows` a batch at a time, so only one batch is ever held as Python strings."""
        numbers, lengths, batches = [], [], []
        rows = iter(rows)
        while chunk := list(itertools.islice(rows, batch)):
            numbers.append(np.fromiter((number for number, _ in chunk), dtype="int64", count=len(chunk)))
            lengths.append(np.fromiter((len(cells) for _, cells in chunk), dtype="int64", count=len(chunk)))
            transposed = itertools.zip_longest(*(cells for _, cells in chunk))  # short rows padded with None
            batches.append((len(chunk), [pa.array(position, type=pa.string()) for position in transposed]))
        width = max((len(arrays) for _, arrays in batches), default=0)
        # One buffer per column, each batch's part freed as it is copied: the batches' many small
        # objects would otherwise pin the memory around them (about 200 MB for a million rows).
        columns = []
        for p in range(width):
            parts = [arrays[p] if p < len(arrays) else pa.nulls(size, pa.string()) for size, arrays in batches]
            for _, arrays in batches:
                arrays[p : p + 1] = [None] * len(arrays[p : p + 1])
            columns.append(pa.chunked_array([pa.chunked_array(parts, type=pa.string()).combine_chunks()]))
            del parts
            pa.default_memory_pool().release_unused()
        del batches
        return cls(
            np.concatenate(numbers) if numbers else np.zeros(0, dtype="int64"),
            np.concatenate(lengths) if lengths else np.zeros(0, dtype="int64"),
            columns,
        )

    def __len__(self) -> int:
        return len(self.numbers)

    def __getitem__(self, item):
        if isinstance(item, slice):
            start, stop, step = item.indices(len(self))
            if step != 1:
                raise ValueError("a RowTable is sliced in steps of one")
            lengths = self.lengths[start:stop]
            width = int(lengths.max()) if len(lengths) else 0
            return RowTable(
                self.numbers[start:stop],
                lengths,
                [column.slice(start, max(stop - start, 0)) for column in self.columns[:width]],
            )
        index = range(len(self))[item]
        return int(self.numbers[index]), [self.columns[p][index].as_py() for p in range(int(self.lengths[index]))]

    def __iter__(self) -> Iterator[Row]:
        for index in range(len(self)):
            yield self[index]

    @property
    def width(self) -> int:
        """Cells in the longest row."""
        return int(self.lengths.max()) if len(self) else 0

    def column(self, position: int) -> pa.ChunkedArray:
        """The cells at `position`, stripped of spaces; "" where a row is shorter."""
        if position >= len(self.columns):
            return pa.chunked_array([pa.array([""] * len(self), type=pa.string())])
        cells = self.columns[position].fill_null("")
        stripped = pc.utf8_trim_whitespace(cells)
        # Most cells hold no spaces: then the column shares the file's cells rather than copying them.
        return cells if pc.all(pc.equal(cells, stripped)).as_py() is not False else stripped

    def filled(self, position: int) -> np.ndarray:
        """Which rows hold anything but spaces at `position`."""
        return pc.not_equal(self.column(position), "").to_numpy(zero_copy_only=False).astype(bool)


@dataclass
class Grid:
    """The non-blank rows of one CSV or sheet; `sheet` is None for a CSV."""

    sheet: str | None
    rows: RowTable
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
