"""Checks of a row against the authority's earlier accepted months: rolling sums and movement.

A month with an error is no one's history: the engines read only accepted months (the rule book
settles which months those are, `pipelines/validate/rulebook.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import pandas as pd

from schemas.rules.kinds.base import (
    FLOWS,
    GX,
    PANDAS,
    ROLLING_SUMS,
    STOCKS,
    Case,
    Columns,
    FromCatalogue,
    Identity,
    Kind,
    Reads,
    Report,
    RollingSum,
    resolve,
)
from schemas.rules.rule import Rule


class HistoryKind(Kind):
    reads: ClassVar[Reads] = Reads.HISTORY


@dataclass(frozen=True)
class RollingSumAgrees(HistoryKind):
    """A rolling sum equals the monthly figures held for its months; when not every month is
    held, last month's rolling figure + this month's figure - the figure `months` months ago."""

    engines: ClassVar[tuple[str, ...]] = (PANDAS, GX)
    sums: tuple[tuple[str, str], ...] | FromCatalogue = ROLLING_SUMS  # (rolling column, monthly flow)
    months: int = 12

    @property
    def lookback(self) -> int:
        return self.months  # x(m-12)

    def items(self) -> tuple:
        return resolve(self.sums)

    def describe(self) -> str:
        return f"{self.sums}, over {self.months} months"

    def identities(self) -> tuple[Identity, ...]:
        return tuple(RollingSum(column, flow, self.months) for column, flow in self.items())

    def plant(self, case: Case) -> Case:
        column, _ = self.items()[0]
        return case.with_cells({column: str(int(float(case.cell(column))) + 50)})

    def report(
        self, rule: Rule, item: Any, values: pd.DataFrame, text: pd.DataFrame, evidence: pd.DataFrame | None
    ) -> Report:
        """`evidence`: reported, full (every month held), total, previous, current, dropped, expected."""
        assert evidence is not None
        column, flow = item
        detail = [
            f"the {self.months} monthly {flow} figures held sum to {t:,.0f}"
            if full
            else f"last month's {p:,.0f} + {c:,.0f} this month - {d:,.0f} twelve months ago = {e:,.0f}"
            for full, t, p, c, d, e in zip(
                evidence["full"],
                evidence["total"],
                evidence["previous"],
                evidence["current"],
                evidence["dropped"],
                evidence["expected"],
            )
        ]
        return Report(column, list(evidence["reported"]), list(evidence["expected"]), detail)


@dataclass(frozen=True)
class StockJump(HistoryKind):
    """A stock moves by no more than a share of last month's figure (and a number of children)."""

    columns: Columns = STOCKS
    share: float = 0.20
    minimum: int = 10

    @property
    def lookback(self) -> int:
        return 1

    def items(self) -> tuple:
        return resolve(self.columns)

    def describe(self) -> str:
        return f"{self.columns}: more than {self.share:.0%} and more than {self.minimum} children month on month"

    def plant(self, case: Case) -> Case:
        column = self.items()[0]
        return case.with_cells({column: str(int(float(case.cell(column, -2)) * 2) + 20)})

    def report(
        self, rule: Rule, item: Any, values: pd.DataFrame, text: pd.DataFrame, evidence: pd.DataFrame | None
    ) -> Report:
        assert evidence is not None
        return Report(item, list(evidence["current"]), list(evidence["previous"]))


@dataclass(frozen=True)
class FlowOutlier(HistoryKind):
    """A monthly flow stays within `factor` times (either way) of the median of the months held
    among the `months` before it, when at least `min_months` are held and it is `min_difference` away."""

    columns: Columns = FLOWS
    factor: float = 2.5
    months: int = 12
    min_months: int = 6
    min_difference: int = 10

    @property
    def lookback(self) -> int:
        return self.months

    def items(self) -> tuple:
        return resolve(self.columns)

    def describe(self) -> str:
        return (
            f"{self.columns}: beyond {self.factor:g} times the median of the previous {self.months} months "
            f"held (at least {self.min_months} held) and {self.min_difference} cases apart"
        )

    def plant(self, case: Case) -> Case:
        column = self.items()[0]
        return case.with_cells({column: str(int(float(case.cell(column, -2)) * (self.factor + 1)) + 20)})

    def report(
        self, rule: Rule, item: Any, values: pd.DataFrame, text: pd.DataFrame, evidence: pd.DataFrame | None
    ) -> Report:
        assert evidence is not None
        detail = [f"median of the {k} previous months held" for k in evidence["held"]]
        return Report(item, list(evidence["current"]), list(evidence["usual"]), detail)
