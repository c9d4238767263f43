"""Cross-column rules: the arithmetic once (`derived_frame`), read by both engines.

`derived_frame` adds, per rate or percentage, the exact recomputed value, the tolerance
implied by the precision the authority reported, and the excess beyond it; per part-whole
pair, the slack. Great Expectations (`pipelines.validate.expectations`) asserts `excess <= 0` and
`slack >= 0` over this frame in the pipeline; `cross_column_findings` does the same with
numpy for the fast command-line check. Tests hold the two engines to the same findings.
"""
from __future__ import annotations

import math

import pandas as pd

from schemas.catalogue import derived_indicators, mandatory_indicators, strict_parts
from schemas.findings import Finding
from schemas.rules import make_finding

# Floating point noise only; the tolerance itself is exactly half a unit of the last decimal.
EPSILON = 1e-9


def _decimals(text: pd.Series) -> pd.Series:
    text = text.fillna("").astype(str).str.strip()
    after = text.str.split(".", n=1).str[1].fillna("")
    return after.str.len()


def derived_frame(values: pd.DataFrame, text: pd.DataFrame) -> pd.DataFrame:
    frame = pd.DataFrame(index=values.index)
    for indicator in derived_indicators():
        column = indicator.column
        numerator = values[indicator.numerator].astype("float64")
        denominator = values[indicator.denominator].astype("float64")
        reported = values[column].astype("float64")
        exact = numerator / denominator.where(denominator != 0) * indicator.multiplier
        tolerance = 0.5 * 10.0 ** (-_decimals(text[column]).astype("float64"))
        frame[f"exact__{column}"] = exact
        frame[f"tolerance__{column}"] = tolerance
        frame[f"excess__{column}"] = (reported - exact).abs() - tolerance - EPSILON
    for part, whole in strict_parts():
        frame[f"slack__{part}"] = values[whole].astype("float64") - values[part].astype("float64")
    return frame


def consistency_detail(indicator, row: pd.Series, exact: float, tolerance: float) -> str:
    """`537 / 28,354 x 10,000 = 189.39`: one decimal place more than the authority reported."""
    places = round(-math.log10(tolerance * 2)) + 1
    return (f"{row[indicator.numerator]:,.0f} / {row[indicator.denominator]:,.0f} x {indicator.multiplier:,}"
            f" = {exact:,.{places}f}")


def cross_column_findings(values: pd.DataFrame, text: pd.DataFrame, derived: pd.DataFrame | None = None,
                          failing: dict[str, set] | None = None) -> list[Finding]:
    """Findings of the completeness and consistency rules on one or more parsed returns.

    `failing` maps a derived-frame column to the row labels an engine found failing; when
    None, numpy decides (the fast path). Messages are built here either way, so both
    engines speak with one voice.
    """
    derived = derived_frame(values, text) if derived is None else derived
    findings: list[Finding] = []

    def failing_rows(column: str, mask: pd.Series) -> list:
        if failing is not None:
            return sorted(failing.get(column, set()))
        return list(values.index[mask.fillna(False)])

    def unreadable(label, column: str) -> bool:
        """A cell with text that did not parse: the reader already reported it (invalid_value)."""
        cell = text.at[label, column] if column in text.columns else None
        return (isinstance(cell, str) and cell.strip() != "" and cell.strip().lower() != "x"
                and pd.isna(values.at[label, column]))

    for column in mandatory_indicators():
        for label in values.index[values[column].isna()]:
            row = values.loc[label]
            cell = text.at[label, column]
            if isinstance(cell, str) and cell.lower() == "x":
                findings.append(make_finding("mandatory_not_available", row, column))
            elif unreadable(label, column):
                continue  # one mistake, one finding: `N/A` is an invalid value, not a missing one
            else:
                # The reader keeps None for a column the row's file does not have, "" for a blank cell.
                detail = "its file has no such column" if cell is None or pd.isna(cell) else "it is blank"
                findings.append(make_finding("mandatory_missing", row, column, detail=detail))

    for indicator in derived_indicators():
        column = indicator.column
        reported = values[column]
        numerator, denominator = values[indicator.numerator], values[indicator.denominator]
        missing = reported.notna() & (numerator.isna() | denominator.isna())
        for label in values.index[missing.fillna(False)]:
            if unreadable(label, indicator.numerator) or unreadable(label, indicator.denominator):
                continue
            row = values.loc[label]
            absent = [c for c in (indicator.numerator, indicator.denominator) if pd.isna(row[c])]
            findings.append(make_finding("derived_without_components", row, column, reported[label],
                                         detail=" and ".join(absent) + (" is" if len(absent) == 1 else " are")))
        undefined = reported.notna() & numerator.notna() & (denominator == 0)
        for label in values.index[undefined.fillna(False)]:
            findings.append(make_finding("derived_undefined", values.loc[label], column, reported[label],
                                         detail=indicator.denominator))
        excess_column = f"excess__{column}"
        for label in failing_rows(excess_column, derived[excess_column] > 0):
            row = values.loc[label]
            exact = derived.at[label, f"exact__{column}"]
            tolerance = derived.at[label, f"tolerance__{column}"]
            findings.append(make_finding("derived_inconsistent", row, column, text.at[label, column],
                                         expected=round(exact, 4),
                                         detail=consistency_detail(indicator, row, exact, tolerance)))

    for part, whole in strict_parts():
        slack_column = f"slack__{part}"
        for label in failing_rows(slack_column, derived[slack_column] < 0):
            row = values.loc[label]
            findings.append(make_finding("part_exceeds_whole", row, part, row[part], expected=row[whole],
                                         detail=f"{whole} is {row[whole]:,.0f}"))

    stocks = values["cp_plans"] + values["cla"]
    for label in values.index[(stocks > values["cin"]).fillna(False)]:
        findings.append(make_finding("plans_and_looked_after_exceed_cin", values.loc[label], "cin",
                                     stocks[label], expected=values.at[label, "cin"]))
    for label in values.index[(values["referrals"] > values["contacts"]).fillna(False)]:
        findings.append(make_finding("referrals_exceed_contacts", values.loc[label], "referrals",
                                     values.at[label, "referrals"], expected=values.at[label, "contacts"]))
    return findings
