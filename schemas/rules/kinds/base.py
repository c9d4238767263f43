"""What every kind of check is: its parameters, what it reads, the engines that decide it.

A rule's `kind` is an instance of a kind class. The class says which engines decide it (the
reader, pandas, Great Expectations; each engine registers one evaluation per kind class in
`pipelines/validate/engines/`), what a check of its kind reads (a cell, a row, the reference
data, the authority's history: findings are listed in that order), the identities it holds the
figures to (for a disclosure audit to read), how to plant a failing case in a clean return (the
registry test), and how its finding's message is written from the failing rows, once for
every engine.

Parameters that come from the indicator catalogue (`FromCatalogue`) are resolved when a rule is
evaluated, so `CSC_CATALOGUE` can swap the catalogue under the same declarations.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import IntEnum
from typing import TYPE_CHECKING, Any, ClassVar

import pandas as pd

from schemas.bands import plausibility_bands
from schemas.catalogue import count_ceilings, derived_indicators, load_catalogue, mandatory_indicators, strict_parts
from schemas.findings import Finding
from schemas.rules.messages import findings_on_rows

if TYPE_CHECKING:
    from schemas.rules.rule import Rule

# The engines a kind can name.
READER = "reader"  # pipelines/ingest: what reading a file decides
PANDAS = "pandas"  # pandas (and pandera for the cells): every kind but the reader's
GX = "gx"  # Great Expectations: the cross-column kinds, in the pipeline
CHILD_LEVEL = "child_level"  # pipelines/derive: what reading and deriving a child-level workbook decides
ENGINES = (READER, PANDAS, GX, CHILD_LEVEL)


class Reads(IntEnum):
    """What a check reads; a report lists findings in this order."""

    FILE = 0  # the file as the reader sees it
    CELLS = 1  # one cell, or the authority-month key, at a time
    ROW = 2  # several figures of one row
    REFERENCE = 3  # the row with the register, the official populations and today's date
    BANDS = 4  # the row against the published range of each figure
    HISTORY = 5  # the row with the authority's earlier accepted months


@dataclass(frozen=True)
class FromCatalogue:
    """A parameter read from the indicator catalogue (or the bands file) when the rule is evaluated."""

    name: str
    resolve: Callable[[], tuple] = field(compare=False, repr=False)

    def __str__(self) -> str:
        return self.name


def _columns(unit: str, kind: str | None = None, but: str | None = None) -> Callable[[], tuple[str, ...]]:
    """The catalogue's columns of `unit` (of `kind`, or of any kind `but` one)."""

    def resolve() -> tuple[str, ...]:
        return tuple(i.column for i in load_catalogue() if i.unit == unit and kind in (None, i.kind) and i.kind != but)

    return resolve


def _of_kind(kind: str) -> Callable[[], tuple[str, ...]]:
    return lambda: tuple(i.column for i in load_catalogue() if i.kind == kind)


DERIVED_FIGURES = FromCatalogue("the derived figures (kind derived)", lambda: tuple(derived_indicators()))
MANDATORY_INDICATORS = FromCatalogue("the mandatory indicators", lambda: tuple(mandatory_indicators()))
STRICT_PARTS = FromCatalogue("the parts and wholes (part_of, part_check error)", lambda: tuple(strict_parts()))
ROLLING_SUMS = FromCatalogue(
    "the rolling twelve-month sums (kind rolling12)",
    lambda: tuple((i.column, i.sums) for i in load_catalogue() if i.kind == "rolling12" and i.sums),
)
STOCKS = FromCatalogue("the stocks (kind stock)", _of_kind("stock"))
FLOWS = FromCatalogue("the monthly flows (kind flow)", _of_kind("flow"))
POPULATION = FromCatalogue("the population (kind population)", _columns("count", kind="population"))
COUNTS = FromCatalogue("the counts (unit count) but the population", _columns("count", but="population"))
WHOLE_NUMBERS = FromCatalogue("the counts (unit count), the population included", _columns("count"))
COUNT_CEILINGS = FromCatalogue("the ceiling of each count (ceiling)", lambda: tuple(count_ceilings()))
PERCENTAGES = FromCatalogue("the percentages (unit percent)", _columns("percent"))
RATES = FromCatalogue("the rates per 10,000 children (unit rate_per_10k)", _columns("rate_per_10k"))
PUBLISHED_BANDS = FromCatalogue(
    "the published bands (schemas/plausibility_bands.csv)",
    lambda: tuple((column, low, high) for column, (low, high) in plausibility_bands().items()),
)

Columns = tuple[str, ...] | FromCatalogue


def resolve(parameter: Any) -> tuple:
    """A parameter's values now: a catalogue parameter read from the catalogue, a tuple as given."""
    return parameter.resolve() if isinstance(parameter, FromCatalogue) else tuple(parameter)


# ---- identities: what a later disclosure audit reads ---------------------------------------------


@dataclass(frozen=True)
class Ratio:
    """column = numerator / denominator x multiplier"""

    column: str
    numerator: str
    denominator: str
    multiplier: int

    def __str__(self) -> str:
        return f"{self.column} = {self.numerator} / {self.denominator} x {self.multiplier:,}"


@dataclass(frozen=True)
class AtMost:
    """The sum of the parts never exceeds the whole: part <= whole, or cp_plans + cla <= cin."""

    parts: tuple[str, ...]
    whole: str

    def __str__(self) -> str:
        return f"{' + '.join(self.parts)} <= {self.whole}"


@dataclass(frozen=True)
class RollingSum:
    """column(m) = sum of flow over m-(months-1)..m"""

    column: str
    flow: str
    months: int

    def __str__(self) -> str:
        return f"{self.column}(m) = sum of {self.flow} over m-{self.months - 1}..m"


@dataclass(frozen=True)
class StockAndFlow:
    """stock(m) = stock(m-1) + inflow(m) - outflow(m): children looked after, started and ceased."""

    stock: str
    inflow: str
    outflow: str

    def __str__(self) -> str:
        return f"{self.stock}(m) = {self.stock}(m-1) + {self.inflow}(m) - {self.outflow}(m)"


@dataclass(frozen=True)
class StockWithinInflow:
    """stock(m) <= stock(m-1) + inflow(m): a stock whose outflow is not returned (plans ended)."""

    stock: str
    inflow: str

    def __str__(self) -> str:
        return f"{self.stock}(m) <= {self.stock}(m-1) + {self.inflow}(m)"


@dataclass(frozen=True)
class SumOverGeographies:
    """A region's figure is the sum of its authorities', England's the sum of its regions'."""

    columns: tuple[str, ...]

    def __str__(self) -> str:
        return "region = sum of its authorities, England = sum of its regions, for every count"


@dataclass(frozen=True)
class NonNegative:
    """A count is never below zero."""

    columns: tuple[str, ...]

    def __str__(self) -> str:
        return "count >= 0"


Identity = Ratio | AtMost | RollingSum | StockAndFlow | StockWithinInflow | SumOverGeographies | NonNegative


# ---- planting: a clean SYNTHETIC return made to fail ---------------------------------------------


@dataclass(frozen=True)
class Case:
    """A SYNTHETIC return as cells: a header and rows. The last row is the one a kind plants its
    mistake in; the rows before it (earlier months of the same authority) are its history.
    `today` is the day it is checked on; `retyped` hands the rule book columns typed otherwise
    than the reader types them (a caller building its own table); `annex_a` is a child-level
    workbook of the authority given beside it (none in the clean case)."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    today: dt.date
    name: str = "SYNTHETIC-case.csv"
    encoding: str = "utf-8"
    retyped: tuple[tuple[str, str], ...] = ()
    # A child-level workbook of the authority beside the return: (sheet, rows of cells) and its name.
    annex_a: tuple[tuple[str, tuple[tuple[str, ...], ...]], ...] = ()
    annex_a_name: str = ""

    def cell(self, column: str, row: int = -1) -> str:
        return self.rows[row][self.header.index(column)]

    def with_cells(self, cells: Mapping[str, str], row: int = -1) -> Case:
        at = row % len(self.rows)
        changed = list(self.rows[at])
        for column, value in cells.items():
            changed[self.header.index(column)] = value
        return replace(self, rows=(*self.rows[:at], tuple(changed), *self.rows[at + 1 :]))

    def last_only(self) -> Case:
        """The checked row alone (no history)."""
        return replace(self, rows=self.rows[-1:])


@dataclass(frozen=True)
class Report:
    """What a finding's message says, for each failing row: each a value for all, or one per row."""

    column: str | None
    value: object = None
    expected: object = None
    detail: object = ""


class Kind:
    """A kind of check. Subclasses are frozen dataclasses whose fields are the kind's parameters."""

    engines: ClassVar[tuple[str, ...]] = (PANDAS,)
    shown_by: ClassVar[tuple[str, ...]] = ()  # engines that show the check on their report without deciding it
    reads: ClassVar[Reads]
    # Rules whose kinds share a `listed_with` are reported item by item together (a derived figure's
    # three rules side by side); None: each rule on its own.
    listed_with: ClassVar[str | None] = None

    def items(self) -> tuple:
        """The things checked one at a time (columns, pairs, figures), resolved from the catalogue."""
        raise NotImplementedError

    def describe(self) -> str:
        """The parameters in words, for docs/rules.md."""
        return ""

    @property
    def lookback(self) -> int:
        """How many months before its own a check of this kind reads."""
        return 0

    def identities(self) -> tuple[Identity, ...]:
        """The identities between figures this check holds (read by a disclosure audit)."""
        return ()

    def plant(self, case: Case) -> Case:
        """`case` (clean) with a mistake this check finds in its last row."""
        raise NotImplementedError

    def report(
        self, rule: Rule, item: Any, values: pd.DataFrame, text: pd.DataFrame, evidence: pd.DataFrame | None
    ) -> Report:
        """What the findings on the failing rows (`values`, `text`; `evidence` computed by the engine) say."""
        raise NotImplementedError

    def findings(
        self, rule: Rule, item: Any, values: pd.DataFrame, text: pd.DataFrame, evidence: pd.DataFrame | None
    ) -> list[Finding]:
        """The findings on the failing rows of `item`, messages written from `report`."""
        said = self.report(rule, item, values, text, evidence)
        return findings_on_rows(rule, values, said.column, said.value, said.expected, said.detail)
