"""A figure against the range English authorities have published (`schemas/plausibility_bands.csv`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import pandas as pd

from schemas.rules.kinds.base import GX, PANDAS, PUBLISHED_BANDS, Case, FromCatalogue, Kind, Reads, Report
from schemas.rules.rule import Rule


@dataclass(frozen=True)
class WithinBand(Kind):
    """Each banded figure lies within its band (low and high included)."""

    engines: ClassVar[tuple[str, ...]] = (PANDAS, GX)
    reads: ClassVar[Reads] = Reads.BANDS
    bands: FromCatalogue = PUBLISHED_BANDS  # (column, low, high)

    def items(self) -> tuple:
        return self.bands.resolve()

    def describe(self) -> str:
        return str(self.bands)

    def plant(self, case: Case) -> Case:
        column, low, high = self.items()[0]
        return case.with_cells({column: f"{low / 2:g}" if low > 0 else f"{high + 1:g}"})

    def report(
        self, rule: Rule, item: Any, values: pd.DataFrame, text: pd.DataFrame, evidence: pd.DataFrame | None
    ) -> Report:
        column, low, high = item
        return Report(column, values[column], f"{low:g} to {high:g}")
