"""What the reader decides about a file (`pipelines/ingest/`): it can be read, and how.

The reader writes these findings itself while it reads (`new_finding`, with the rule's id);
each kind here declares the check and plants a file that fails it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar, Literal

from schemas.catalogue import REQUIRED_COLUMNS
from schemas.rules.kinds.base import COUNTS, READER, Case, Kind, Reads, resolve


class ReadingKind(Kind):
    """A check the reader makes while reading the file."""

    engines: ClassVar[tuple[str, ...]] = (READER,)
    reads: ClassVar[Reads] = Reads.FILE

    def items(self) -> tuple:
        return ("file",)


@dataclass(frozen=True)
class FileReadable(ReadingKind):
    """The file is a CSV or an XLSX the reader can open."""

    def describe(self) -> str:
        return "CSV (UTF-8 or Windows-1252) or XLSX"

    def plant(self, case: Case) -> Case:
        return replace(case, name=case.name.rsplit(".", 1)[0] + ".txt")


@dataclass(frozen=True)
class RowsAsWideAsHeader(ReadingKind):
    """Every row has as many cells as the header."""

    def plant(self, case: Case) -> Case:
        return replace(case, rows=(*case.rows[:-1], (*case.rows[-1], "99")))


@dataclass(frozen=True)
class DataRowsGiven(ReadingKind):
    """At least one row under the header."""

    def plant(self, case: Case) -> Case:
        return replace(case, rows=())


@dataclass(frozen=True)
class WithinReaderLimits(ReadingKind):
    """The file is within the reader's limits (`pipelines/ingest/limits.py`, `CSC_LIMIT_*`)."""

    cell_chars: int = 1_001  # one over the default limit of 1,000 characters a cell

    def describe(self) -> str:
        return "size, uncompressed size, rows, columns and cell length within the limits of docs/standard.md"

    def plant(self, case: Case) -> Case:
        return case.with_cells({"la_name": "x" * self.cell_chars})


@dataclass(frozen=True)
class FormulaHasValue(ReadingKind):
    """A workbook's formula cell holds the value Excel saved with it."""

    def plant(self, case: Case) -> Case:
        # A cell written as `=...` into a workbook is a formula saved without a value.
        column = resolve(COUNTS)[0]
        return replace(case, name=case.name.rsplit(".", 1)[0] + ".xlsx").with_cells({column: "=1+1"})


@dataclass(frozen=True)
class EncodedAsUtf8(ReadingKind):
    """A CSV is UTF-8; otherwise it is read as Windows-1252 and said so."""

    def plant(self, case: Case) -> Case:
        return replace(case, encoding="cp1252").with_cells({"la_name": case.cell("la_name") + " \u2019"})


@dataclass(frozen=True)
class HeaderColumns(ReadingKind):
    """The header names the required columns, each column once, and columns of the standard."""

    problem: Literal["missing", "duplicate", "unknown"]

    def describe(self) -> str:
        return {
            "missing": f"required: {', '.join(REQUIRED_COLUMNS)}",
            "duplicate": "each column once",
            "unknown": "columns of the catalogue",
        }[self.problem]

    def plant(self, case: Case) -> Case:
        if self.problem == "missing":
            keep = [k for k, column in enumerate(case.header) if column != REQUIRED_COLUMNS[-1]]
            return replace(
                case,
                header=tuple(case.header[k] for k in keep),
                rows=tuple(tuple(row[k] for k in keep) for row in case.rows),
            )
        column, cell = (
            ("notes", "SYNTHETIC") if self.problem == "unknown" else (case.header[-1], case.cell(case.header[-1]))
        )
        return replace(case, header=(*case.header, column), rows=tuple((*row, cell) for row in case.rows))


@dataclass(frozen=True)
class CellReadable(ReadingKind):
    """A figure's cell is a number, blank or x."""

    def describe(self) -> str:
        return "a number (1,043 or 184 or 935.9), blank, or x"

    def plant(self, case: Case) -> Case:
        return case.with_cells({resolve(COUNTS)[0]: "N/A"})


@dataclass(frozen=True)
class WideSheetReadable(ReadingKind):
    """A wide sheet (indicators down, months across) names its authority, its months and its rows."""

    problem: Literal["authority", "column", "label"]

    def plant(self, case: Case) -> Case:
        months = [case.cell("period", row) for row in range(len(case.rows))][-2:]
        figures = [column for column in resolve(COUNTS) if column in case.header][:3]
        title = ("SYNTHETIC dashboard",) if self.problem == "authority" else (f"la_code: {case.cell('la_code')}",)
        header = ("Indicator", *months, *(("Target",) if self.problem == "column" else ()))
        rows = [
            (column, *(case.cell(column, row) for row in (-2, -1)), *(("1",) if self.problem == "column" else ()))
            for column in figures
        ]
        if self.problem == "label":
            rows.append(("SYNTHETIC figure of no standard", "1", "2"))
        return replace(case, header=title, rows=(header, *rows))
