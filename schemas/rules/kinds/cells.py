"""Checks of one cell at a time (and of the authority-month key): the structure pandera decides.

The pandas engine builds one pandera schema from these declarations (`pipelines/validate/
engines/pandas.py`); a failing cell's finding quotes the cell and what the rule expected.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, ClassVar

import pandas as pd

from schemas.catalogue import ceiling_limit
from schemas.findings import Finding
from schemas.rules.kinds.base import GX, Case, Columns, FromCatalogue, Kind, Reads, Report, resolve
from schemas.rules.messages import finding_of
from schemas.rules.rule import Rule


class CellKind(Kind):
    reads: ClassVar[Reads] = Reads.CELLS

    def report(
        self, rule: Rule, item: Any, values: pd.DataFrame, text: pd.DataFrame, evidence: pd.DataFrame | None
    ) -> Report:
        return Report(item, list(values[item]), rule.expected)


def _number(value: float) -> str:
    return f"{value:g}"


@dataclass(frozen=True)
class CellGiven(CellKind):
    """The cell is not blank."""

    column: str

    def items(self) -> tuple:
        return (self.column,)

    def describe(self) -> str:
        return f"`{self.column}`"

    def plant(self, case: Case) -> Case:
        return case.with_cells({self.column: ""})


@dataclass(frozen=True)
class Pattern(CellKind):
    """The cell's whole text matches a pattern."""

    column: str
    pattern: str

    def items(self) -> tuple:
        return (self.column,)

    def describe(self) -> str:
        return f"`{self.column}` matches `{self.pattern}`"

    def plant(self, case: Case) -> Case:
        return case.with_cells({self.column: "?" + case.cell(self.column)})


@dataclass(frozen=True)
class Minimum(CellKind):
    """A figure is at least (or, not inclusive, above) a minimum."""

    columns: Columns
    minimum: float
    inclusive: bool

    def items(self) -> tuple:
        return resolve(self.columns)

    def describe(self) -> str:
        return f"{self.columns} {'>=' if self.inclusive else '>'} {self.minimum:g}"

    def plant(self, case: Case) -> Case:
        return case.with_cells({self.items()[0]: _number(self.minimum - 1 if self.inclusive else self.minimum)})


@dataclass(frozen=True)
class WholeNumber(CellKind):
    """A figure is a whole number."""

    columns: Columns

    def items(self) -> tuple:
        return resolve(self.columns)

    def describe(self) -> str:
        return f"{self.columns} whole"

    def plant(self, case: Case) -> Case:
        column = self.items()[0]
        return case.with_cells({column: case.cell(column) + ".5"})


@dataclass(frozen=True)
class Limits(CellKind):
    """A figure lies between two limits its unit allows (both included)."""

    shown_by: ClassVar[tuple[str, ...]] = (GX,)  # the Data Docs show the range; pandera reports it
    columns: Columns
    low: float
    high: float

    def items(self) -> tuple:
        return resolve(self.columns)

    def describe(self) -> str:
        return f"{self.columns} within {self.low:,g} to {self.high:,g}"

    def plant(self, case: Case) -> Case:
        return case.with_cells({self.items()[0]: _number(self.high + 1)})


def submitted_figure(text: object) -> str:
    """A figure as it was submitted, never rounded through a float: a numeral too long to quote
    whole is shown by its first digits and its length."""
    figure = "" if text is None or (not isinstance(text, str) and pd.isna(text)) else str(text).strip()
    digits = sum(c.isdigit() for c in figure)
    return figure if len(figure) <= 40 else f"{figure[:12]}... ({digits:,} digits)"


@dataclass(frozen=True)
class WithinCeiling(CellKind):
    """A count is at most the ceiling the catalogue states: a whole number, or another count of the
    row (a stock of children within the child population; when that count is not given, or is
    itself above its ceiling, its own ceiling)."""

    ceilings: tuple[tuple[str, int | str], ...] | FromCatalogue  # (count, whole number or column)

    def items(self) -> tuple:
        return resolve(self.ceilings)

    def describe(self) -> str:
        return str(self.ceilings)

    def plant(self, case: Case) -> Case:
        column, ceiling = next((c, k) for c, k in self.items() if isinstance(k, int) and c in case.header)
        return case.with_cells({column: str(ceiling + 1)})

    @staticmethod
    def limit(values: pd.DataFrame, ceiling: int | str) -> pd.Series | float:
        """The most each row's count may be: the number, or the row's `ceiling` count within its own ceiling."""
        if isinstance(ceiling, int):
            return float(ceiling)
        bound = ceiling_limit(ceiling)
        given = values[ceiling].astype("float64")
        return given.where(given <= bound, bound).fillna(bound)

    def report(
        self, rule: Rule, item: Any, values: pd.DataFrame, text: pd.DataFrame, evidence: pd.DataFrame | None
    ) -> Report:
        column, ceiling = item
        submitted = [submitted_figure(cell) for cell in text[column]] if column in text else list(values[column])
        if isinstance(ceiling, int):
            return Report(column, submitted, ceiling)
        return Report(column, submitted, self.limit(values, ceiling), f" ({ceiling})")


@dataclass(frozen=True)
class UniqueAuthorityMonth(CellKind):
    """A file holds one row per authority and month."""

    def items(self) -> tuple:
        return ("la_code",)

    def describe(self) -> str:
        return "(la_code, period) unique within a file"

    def plant(self, case: Case) -> Case:
        return replace(case, rows=(*case.rows, case.rows[-1]))


@dataclass(frozen=True)
class ColumnTypes(CellKind):
    """Each column holds the type the standard gives it (a table the reader did not type)."""

    def items(self) -> tuple:
        return ("column",)

    def describe(self) -> str:
        return "pandera's column types"

    def plant(self, case: Case) -> Case:
        return replace(case, retyped=(("population_0_17", "object"),))

    def findings(
        self, rule: Rule, item: Any, values: pd.DataFrame, text: pd.DataFrame, evidence: pd.DataFrame | None
    ) -> list[Finding]:
        """About a column, not a cell: pandera's own words (`evidence`: file, column, check)."""
        assert evidence is not None
        return [
            finding_of(rule, file=file, column=column, message=f"{column}: {check}")
            for file, column, check in zip(evidence["file"], evidence["column"], evidence["check"])
        ]
