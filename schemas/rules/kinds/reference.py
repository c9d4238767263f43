"""Checks of a row against the reference data: the register of authorities, today's date, the
official population estimates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import pandas as pd

from schemas.month import Month
from schemas.rules.kinds.base import Case, Kind, Reads, Report
from schemas.rules.rule import Rule

UNREGISTERED_CODE = "E06099999"  # well formed, on no register


@dataclass(frozen=True)
class MonthEnded(Kind):
    """The month of a return has ended (it is no later than the last completed month)."""

    reads: ClassVar[Reads] = Reads.REFERENCE

    def items(self) -> tuple:
        return ("period",)

    def describe(self) -> str:
        return "period <= the month before today's"

    def plant(self, case: Case) -> Case:
        return case.with_cells({"period": str(Month.containing(case.today))})

    def report(
        self, rule: Rule, item: Any, values: pd.DataFrame, text: pd.DataFrame, evidence: pd.DataFrame | None
    ) -> Report:
        return Report("period", values["period"])


@dataclass(frozen=True)
class Registered(Kind):
    """The authority is on the register (`code`), under its registered name (`name`)."""

    reads: ClassVar[Reads] = Reads.REFERENCE
    listed_with: ClassVar[str | None] = "register"
    check: Literal["code", "name"]

    def items(self) -> tuple:
        return ("la_code" if self.check == "code" else "la_name",)

    def describe(self) -> str:
        return "la_code on the register" if self.check == "code" else "la_name as registered, case and '&' aside"

    def plant(self, case: Case) -> Case:
        if self.check == "code":
            return case.with_cells({"la_code": UNREGISTERED_CODE})
        return case.with_cells({"la_name": f"SYNTHETIC not {case.cell('la_name')}"})

    def report(
        self, rule: Rule, item: Any, values: pd.DataFrame, text: pd.DataFrame, evidence: pd.DataFrame | None
    ) -> Report:
        if self.check == "code":
            return Report("la_code", values["la_code"])
        assert evidence is not None
        return Report("la_name", values["la_name"], list(evidence["registered"]))


@dataclass(frozen=True)
class PopulationNearEstimate(Kind):
    """population_0_17 lies within a share of the official estimate in force for the month: a
    finding beyond `beyond` (and up to `up_to`, where a graver rule takes over)."""

    reads: ClassVar[Reads] = Reads.REFERENCE
    listed_with: ClassVar[str | None] = "population estimate"
    beyond: float
    up_to: float | None = None

    def items(self) -> tuple:
        return ("population_0_17",)

    def describe(self) -> str:
        upper = f", up to {self.up_to:.0%}" if self.up_to is not None else ""
        return f"more than {self.beyond:.0%} from the official estimate{upper}"

    def plant(self, case: Case) -> Case:
        share = self.beyond * 2 if self.up_to is None else (self.beyond + self.up_to) / 2
        return case.with_cells({"population_0_17": str(round(float(case.cell("population_0_17")) * (1 + share)))})

    def report(
        self, rule: Rule, item: Any, values: pd.DataFrame, text: pd.DataFrame, evidence: pd.DataFrame | None
    ) -> Report:
        assert evidence is not None
        detail = [f"mid-{int(y)}, {s:.1%} apart" for y, s in zip(evidence["estimate_year"], evidence["share"])]
        return Report("population_0_17", list(evidence["reported"]), list(evidence["official"]), detail)
