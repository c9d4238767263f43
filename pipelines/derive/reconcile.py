"""A typed return against the return derived from the authority's child-level records.

Where an authority-month has both, every count that differs is a finding naming the figure, both
values and the list it came from (`cla is 537 but list 8 gives 535 children looked after at
31 December 2017`): beyond the figure's tolerance an error, within it a warning. Percentages and
rates follow from the counts and are not compared. The tolerance is absolute and relative (a
difference within either is within); the default is exact. The rule is declared in the rule book
(`schemas/rules/reconciliation.py`, family `reconciliation`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from pipelines.derive.months import FIGURES, month_end
from schemas.findings import WARNING, Finding
from schemas.month import Month
from schemas.rules import RULES

RULE = "child_level_reconciliation"
# Each count: the lists it is counted from, and what it is, in words ({month}: "December 2017";
# a stock is "at {day}": "31 December 2017").
SOURCES: dict[str, tuple[str, str]] = {
    "contacts": ("list 1", "contacts in {month}"),
    "referrals": ("list 3", "referrals in {month}"),
    "re_referrals": ("list 3", "re-referrals within 12 months in {month}"),
    "referrals_to_assessment": ("lists 3 and 4", "referrals leading to an assessment in {month}"),
    "assessments_completed": ("list 4", "assessments completed in {month}"),
    "assessments_within_15wd": ("list 4", "assessments completed within 15 working days in {month}"),
    "assessments_within_45wd": ("list 4", "assessments completed within 45 working days in {month}"),
    "s47_enquiries": ("list 5", "section 47 enquiries started in {month}"),
    "icpcs": ("list 5", "initial child protection conferences in {month}"),
    "icpcs_within_15wd": ("list 5", "initial child protection conferences within 15 working days in {month}"),
    "cp_plans_started": ("list 7", "child protection plans started in {month}"),
    "cla_started": ("list 8", "children who started to be looked after in {month}"),
    "cla_ceased": ("list 8", "children who ceased to be looked after in {month}"),
    "contacts_12m": ("list 1", "contacts in the 12 months to {month}"),
    "referrals_12m": ("list 3", "referrals in the 12 months to {month}"),
    "s47_enquiries_12m": ("list 5", "section 47 enquiries in the 12 months to {month}"),
    "cin": ("lists 6, 7 and 8", "children in need at {day}"),
    "cp_plans": ("list 7", "children on a child protection plan at {day}"),
    "cla": ("list 8", "children looked after at {day}"),
}


@dataclass(frozen=True)
class Tolerance:
    """How far a typed count may lie from the derived one and be a warning, not an error."""

    absolute: float = 0.0
    relative: float = 0.0  # a share of the derived count: 0.01 is 1%

    def allows(self, typed: float, derived: float) -> bool:
        difference = abs(typed - derived)
        return difference <= self.absolute or difference <= self.relative * abs(derived)


EXACT = Tolerance()


def reconcile(
    typed: pd.DataFrame, derived: pd.DataFrame, tolerances: Mapping[str, Tolerance] | None = None
) -> list[Finding]:
    """Findings for each count of `typed` (rows with la_code, period and counts, as a return is read)
    that differs from `derived` (`derive_return(...).rows`) for the same authority and month."""
    tolerances = tolerances or {}
    if typed.empty or derived.empty:
        return []
    keys = ["la_code", "period"]
    typed_rows = typed.dropna(subset=keys).drop_duplicates(keys, keep="last")
    figures = [f for f in FIGURES if f in typed_rows.columns]
    both = typed_rows[[*keys, *figures, *(["file", "row"] if "file" in typed_rows else [])]].merge(
        derived[[*keys, "extract_date", *figures]], on=keys, suffixes=("", "_derived")
    )
    findings = []
    for figure in figures:
        typed_values = pd.to_numeric(both[figure], errors="coerce")
        derived_values = pd.to_numeric(both[f"{figure}_derived"], errors="coerce")
        differs = typed_values.notna() & derived_values.notna() & (typed_values != derived_values)
        lists, what = SOURCES[figure]
        for position in both.index[differs.to_numpy(dtype=bool)]:  # one finding per difference
            row = both.loc[position]
            month = Month.parse(row["period"])
            day = month_end(month)
            words = what.format(month=f"{month.name} {month.year}", day=f"{day.day} {month.name} {month.year}")
            typed_value, derived_value = float(typed_values[position]), float(derived_values[position])
            within = tolerances.get(figure, EXACT).allows(typed_value, derived_value)
            findings.append(
                Finding(
                    rule=RULE,
                    severity=WARNING if within else RULES[RULE].severity,
                    message=(
                        f"{figure} is {_number(typed_value)} but {lists} gives {_number(derived_value)} {words}"
                        f" ({_extract(row['extract_date'])}){', within the tolerance' if within else ''}"
                    ),
                    file=row.get("file"),
                    row=None if pd.isna(row.get("row")) else int(row["row"]),
                    la_code=row["la_code"],
                    period=row["period"],
                    column=figure,
                    value=_number(typed_value),
                    expected=_number(derived_value),
                )
            )
    return findings


def _extract(extract: str) -> str:
    """`extract of 2018-01-31`, or the workbook's name where the pipeline knows only that."""
    return f"extract of {extract}" if len(extract) == 10 and extract[4] == "-" else extract


_EXTRACT_NAMED = re.compile(r"\(extract of (\d{4}-\d{2}-\d{2})\)")


def extract_named(message: str) -> str | None:
    """The extract date a finding's message names (`_extract`), None when it names none."""
    match = _EXTRACT_NAMED.search(message or "")
    return match[1] if match else None


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
