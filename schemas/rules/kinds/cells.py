"""Checks of one cell at a time (and of the authority-month key): the structure pandera decides.

The pandas engine builds one pandera schema from these declarations (`pipelines/validate/
engines/pandas.py`); a failing cell's finding quotes the cell and what the rule expected.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, ClassVar

import pandas as pd

from schemas.findings import Finding
from schemas.rules.kinds.base import GX, Case, Columns, Kind, Reads, Report, resolve
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
