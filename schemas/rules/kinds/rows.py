"""Checks between the figures of one row: what is mandatory, what a derived figure needs and
equals, parts within their wholes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd

from schemas.catalogue import Indicator
from schemas.rules.arithmetic import decimals_of, expected_derived
from schemas.rules.kinds.base import (
    DERIVED_FIGURES,
    GX,
    PANDAS,
    AtMost,
    Case,
    Columns,
    FromCatalogue,
    Identity,
    Kind,
    Ratio,
    Reads,
    Report,
    resolve,
)
from schemas.rules.rule import Rule


def _figure(value: float, like: str) -> str:
    """`value` written with as many decimals as `like`."""
    decimals = len(like.split(".", 1)[1]) if "." in like else 0
    return f"{value:.{decimals}f}"


def multiplier_of(figure: Indicator) -> int:
    """A derived figure's multiplier (the catalogue gives every derived figure one: it is checked on loading)."""
    assert figure.multiplier is not None, f"{figure.column} has no multiplier"
    return figure.multiplier


@dataclass(frozen=True)
class Mandatory(Kind):
    """A mandatory figure is given: not blank (`blank`), and not x, not available (`x`)."""

    reads: ClassVar[Reads] = Reads.ROW
    listed_with: ClassVar[str | None] = "mandatory"
    columns: Columns
    marked: Literal["blank", "x"]

    def items(self) -> tuple:
        return resolve(self.columns)

    def describe(self) -> str:
        return f"{self.columns}: {'not blank, the column present' if self.marked == 'blank' else 'not x'}"

    def plant(self, case: Case) -> Case:
        return case.with_cells({self.items()[0]: "" if self.marked == "blank" else "x"})

    def report(
        self, rule: Rule, item: Any, values: pd.DataFrame, text: pd.DataFrame, evidence: pd.DataFrame | None
    ) -> Report:
        if self.marked == "x":
            return Report(item)
        # The reader keeps None for a column the row's file does not have, "" for a blank cell.
        absent = text[item].astype("string").isna()
        return Report(item, detail=list(absent.map({True: "its file has no such column", False: "it is blank"})))


@dataclass(frozen=True)
class DerivedKind(Kind):
    """A check of each derived figure (a rate or percentage) against its parts."""

    reads: ClassVar[Reads] = Reads.ROW
    listed_with: ClassVar[str | None] = "derived figures"
    figures: FromCatalogue = DERIVED_FIGURES

    def items(self) -> tuple:
        return resolve(self.figures)

    def describe(self) -> str:
        return str(self.figures)


@dataclass(frozen=True)
class ComponentsGiven(DerivedKind):
    """A derived figure comes with its numerator and denominator."""

    def plant(self, case: Case) -> Case:
        return case.with_cells({self.items()[0].numerator: ""})

    def report(
        self, rule: Rule, item: Indicator, values: pd.DataFrame, text: pd.DataFrame, evidence: pd.DataFrame | None
    ) -> Report:
        absent_numerator, absent_denominator = values[item.numerator].isna(), values[item.denominator].isna()
        detail = np.where(
            absent_numerator & absent_denominator,
            f"{item.numerator} and {item.denominator} are",
            np.where(absent_numerator, f"{item.numerator} is", f"{item.denominator} is"),
        )
        return Report(item.column, values[item.column], detail=list(detail))


@dataclass(frozen=True)
class DenominatorNonZero(DerivedKind):
    """A derived figure's denominator is not zero."""

    def plant(self, case: Case) -> Case:
        return case.with_cells({self.items()[0].denominator: "0"})

    def report(
        self, rule: Rule, item: Indicator, values: pd.DataFrame, text: pd.DataFrame, evidence: pd.DataFrame | None
    ) -> Report:
        return Report(item.column, values[item.column], detail=item.denominator)


@dataclass(frozen=True)
class DerivedFromParts(DerivedKind):
    """A derived figure equals numerator / denominator x multiplier at the precision it is reported."""

    engines: ClassVar[tuple[str, ...]] = (PANDAS, GX)

    def identities(self) -> tuple[Identity, ...]:
        return tuple(Ratio(i.column, str(i.numerator), str(i.denominator), multiplier_of(i)) for i in self.items())

    def plant(self, case: Case) -> Case:
        figure = self.items()[0]
        reported = case.cell(figure.column)
        wrong = float(reported) + (-10 if float(reported) > 50 else 10)
        return case.with_cells({figure.column: _figure(wrong, reported)})

    def report(
        self, rule: Rule, item: Indicator, values: pd.DataFrame, text: pd.DataFrame, evidence: pd.DataFrame | None
    ) -> Report:
        numerator, denominator, multiplier = values[item.numerator], values[item.denominator], multiplier_of(item)
        exact = expected_derived(numerator, denominator, multiplier)
        decimals = decimals_of(text[item.column])
        detail = [
            f"{n:,.0f} / {d:,.0f} x {multiplier:,} = {e:,.{p + 1}f}"  # one decimal more than reported
            for n, d, e, p in zip(numerator, denominator, exact, decimals)
        ]
        return Report(item.column, list(text[item.column]), [round(e, 4) for e in exact], detail)


@dataclass(frozen=True)
class PartWithinWhole(Kind):
    """A part never exceeds its whole."""

    engines: ClassVar[tuple[str, ...]] = (PANDAS, GX)
    reads: ClassVar[Reads] = Reads.ROW
    pairs: tuple[tuple[str, str], ...] | FromCatalogue  # (part, whole)

    def items(self) -> tuple:
        return resolve(self.pairs)

    def describe(self) -> str:
        if isinstance(self.pairs, FromCatalogue):
            return str(self.pairs)
        return "; ".join(f"`{part}` <= `{whole}`" for part, whole in self.pairs)

    def identities(self) -> tuple[Identity, ...]:
        return tuple(AtMost((part,), whole) for part, whole in self.items())

    def plant(self, case: Case) -> Case:
        part, whole = self.items()[0]
        return case.with_cells({part: _figure(float(case.cell(whole)) + 1, "0")})

    def report(
        self, rule: Rule, item: tuple[str, str], values: pd.DataFrame, text: pd.DataFrame, evidence: pd.DataFrame | None
    ) -> Report:
        part, whole = item
        return Report(part, values[part], values[whole], [f"{whole} is {w:,.0f}" for w in values[whole]])


@dataclass(frozen=True)
class SumWithinWhole(Kind):
    """Parts added together stay within a whole (cp_plans + cla <= cin)."""

    reads: ClassVar[Reads] = Reads.ROW
    parts: tuple[str, ...]
    whole: str

    def items(self) -> tuple:
        return ((self.parts, self.whole),)

    def describe(self) -> str:
        return str(self.identities()[0])

    def identities(self) -> tuple[Identity, ...]:
        return (AtMost(self.parts, self.whole),)

    def plant(self, case: Case) -> Case:
        return case.with_cells({self.parts[0]: case.cell(self.whole)})

    def report(
        self, rule: Rule, item: Any, values: pd.DataFrame, text: pd.DataFrame, evidence: pd.DataFrame | None
    ) -> Report:
        total = values[self.parts[0]]
        for part in self.parts[1:]:
            total = total + values[part]
        return Report(self.whole, total, values[self.whole])
