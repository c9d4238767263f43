"""Cross-column rules: the arithmetic once, read by both engines.

`expected_derived` (numerator / denominator x multiplier), `precision_tolerance` (half a unit of
the last decimal the authority reported) and `rolling_total` (a twelve-month sum) with `rolling_from_last_month` are the
arithmetic, applied one rate or percentage at a time. Great Expectations
(`pipelines.validate.expectations`) calls the same functions inside its own expectations in the
pipeline; `cross_column_findings` evaluates the rules with pandas for the fast command-line
check. Tests hold the two engines to the same findings from their own evaluations.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from pipelines.ingest.cells import arrow_text
from schemas.catalogue import derived_indicators, mandatory_indicators, strict_parts
from schemas.findings import Finding
from schemas.rules import in_row_order, make_findings

# Floating point noise only; the tolerance itself is exactly half a unit of the last decimal.
EPSILON = 1e-9


def reported_decimals(text: pd.Series) -> pd.Series:
    """Decimal places of each cell as submitted ('189.4' -> 1, '189' -> 0): the characters after
    the first point, counted in Arrow (a million cells in milliseconds, not Python strings)."""
    cells = pc.utf8_trim_whitespace(arrow_text(text).fill_null(""))
    after_point = pc.replace_substring_regex(cells, pattern=r"^[^.]*\.", replacement="", max_replacements=1)
    decimals = pc.if_else(pc.greater_equal(pc.find_substring(cells, "."), 0), pc.utf8_length(after_point), 0)
    return pd.Series(decimals.to_numpy(zero_copy_only=False), index=text.index).astype("int64")


def expected_derived(numerator: pd.Series, denominator: pd.Series, multiplier: float) -> pd.Series:
    """The exact derived figure: numerator / denominator x multiplier (NaN over a zero denominator)."""
    numerator, denominator = numerator.astype("float64"), denominator.astype("float64")
    return numerator / denominator.where(denominator != 0) * multiplier


def precision_tolerance(decimals: pd.Series) -> pd.Series:
    """Half a unit of the last decimal place reported: 0.05 for '189.4'."""
    return 0.5 * 10.0 ** (-decimals.astype("float64"))


def derived_excess(reported: pd.Series, exact: pd.Series, tolerance: pd.Series) -> pd.Series:
    """How far a reported figure lies beyond its tolerance (> 0: inconsistent; NaN: not checkable)."""
    return (reported.astype("float64") - exact).abs() - tolerance - EPSILON


def rolling_total(months: Iterable[pd.Series]) -> pd.Series:
    """A twelve-month sum of aligned monthly columns, added in order (NaN when any month is missing).

    `months` may be a generator: each month is added as it comes, never all twelve held at once."""
    months = iter(months)
    total = next(months).astype("float64")
    for month in months:
        total = total + month.astype("float64")
    return total


def rolling_from_last_month(previous: pd.Series, current: pd.Series, dropped: pd.Series) -> pd.Series:
    """A rolling sum from last month's: x_12m(m-1) + x(m) - x(m-12), when not every month is held."""
    return previous.astype("float64") + current.astype("float64") - dropped.astype("float64")


def derivation_detail(
    indicator, numerator: pd.Series, denominator: pd.Series, exact: pd.Series, decimals: pd.Series
) -> list[str]:
    """`537 / 28,354 x 10,000 = 189.39`: one decimal place more than the authority reported."""
    return [
        f"{n:,.0f} / {d:,.0f} x {indicator.multiplier:,} = {e:,.{int(p) + 1}f}"
        for n, d, e, p in zip(numerator, denominator, exact, decimals)
    ]


def _unreadable(values: pd.DataFrame, text: pd.DataFrame, column: str, rows: pd.Index) -> pd.Series:
    """Which of `rows` hold text in `column` that did not parse: the reader already reported it (invalid_value)."""
    if column not in text.columns:
        return pd.Series(False, index=rows)
    stripped = text.loc[rows, column].astype("string").str.strip()
    return (stripped.notna() & (stripped != "") & (stripped.str.lower() != "x")).fillna(False).astype(
        bool
    ) & values.loc[rows, column].isna()


def cross_column_findings(values: pd.DataFrame, text: pd.DataFrame, only: set[str] | None = None) -> list[Finding]:
    """Findings of the completeness and consistency rules on one or more parsed returns (the pandas engine).

    Each rule is a mask over whole columns; only the failing rows become findings. `only` limits
    the rules evaluated (the GX engine evaluates the others itself).
    """
    findings: list[Finding] = []

    def wanted(rule: str) -> bool:
        return only is None or rule in only

    def failing_rows(column: str, mask: pd.Series) -> pd.Index:
        return values.index[mask.fillna(False).astype(bool)]

    for column in mandatory_indicators() if wanted("mandatory_missing") else []:
        cell = text[column]
        blank = values[column].isna()
        marked_x = pd.Series(
            pc.equal(pc.utf8_lower(arrow_text(cell)), "x").fill_null(False).to_numpy(zero_copy_only=False),
            index=values.index,
        )
        not_available = values[blank & marked_x]
        candidates = values.index[blank & ~marked_x]
        # `N/A` is an invalid value (the reader said so), not a missing one.
        missing = values.loc[candidates[~_unreadable(values, text, column, candidates).to_numpy()]]
        # The reader keeps None for a column the row's file does not have, "" for a blank cell.
        detail = (
            cell[missing.index].astype("string").isna().map({True: "its file has no such column", False: "it is blank"})
        )
        findings += in_row_order(
            values.index,
            [
                *zip(not_available.index, make_findings("mandatory_not_available", not_available, column)),
                *zip(missing.index, make_findings("mandatory_missing", missing, column, detail=detail)),
            ],
        )

    for indicator in derived_indicators():
        column = indicator.column
        reported = values[column]
        numerator, denominator = values[indicator.numerator], values[indicator.denominator]
        candidates = values.index[
            (reported.notna() & (numerator.isna() | denominator.isna())).fillna(False).astype(bool)
        ]
        skip = _unreadable(values, text, indicator.numerator, candidates) | _unreadable(
            values, text, indicator.denominator, candidates
        )
        missing = values.loc[candidates[~skip.to_numpy()]]
        absent_numerator, absent_denominator = (
            missing[indicator.numerator].isna(),
            missing[indicator.denominator].isna(),
        )
        detail = np.where(
            absent_numerator & absent_denominator,
            f"{indicator.numerator} and {indicator.denominator} are",
            np.where(absent_numerator, f"{indicator.numerator} is", f"{indicator.denominator} is"),
        )
        if wanted("derived_without_components"):
            findings += make_findings(
                "derived_without_components", missing, column, missing[column], detail=list(detail)
            )
        undefined = values[(reported.notna() & numerator.notna() & (denominator == 0)).fillna(False).astype(bool)]
        if wanted("derived_undefined"):
            findings += make_findings(
                "derived_undefined", undefined, column, undefined[column], detail=indicator.denominator
            )
        if not wanted("derived_inconsistent"):
            continue
        # One rate at a time: a million rows never hold every rate's intermediate columns at once.
        exact = expected_derived(numerator, denominator, indicator.multiplier)
        excess = derived_excess(reported, exact, precision_tolerance(reported_decimals(text[column])))
        labels = failing_rows(column, excess > 0)
        rows = values.loc[labels]
        exact = exact[labels]
        detail = derivation_detail(
            indicator,
            rows[indicator.numerator],
            rows[indicator.denominator],
            exact,
            reported_decimals(text.loc[labels, column]),
        )
        findings += make_findings(
            "derived_inconsistent",
            rows,
            column,
            list(text.loc[labels, column]),
            expected=[round(e, 4) for e in exact],
            detail=detail,
        )

    for part, whole in strict_parts() if wanted("part_exceeds_whole") else []:
        slack = values[whole].astype("float64") - values[part].astype("float64")
        rows = values.loc[failing_rows(part, slack < 0)]
        findings += make_findings(
            "part_exceeds_whole",
            rows,
            part,
            rows[part],
            expected=rows[whole],
            detail=[f"{whole} is {w:,.0f}" for w in rows[whole]],
        )

    if wanted("plans_and_looked_after_exceed_cin"):
        stocks = values["cp_plans"] + values["cla"]
        over = values[(stocks > values["cin"]).fillna(False).astype(bool)]
        findings += make_findings(
            "plans_and_looked_after_exceed_cin", over, "cin", stocks[over.index], expected=over["cin"]
        )
    if wanted("referrals_exceed_contacts"):
        over = values[(values["referrals"] > values["contacts"]).fillna(False).astype(bool)]
        findings += make_findings(
            "referrals_exceed_contacts", over, "referrals", over["referrals"], expected=over["contacts"]
        )
    return findings
