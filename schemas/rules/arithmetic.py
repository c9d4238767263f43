"""The arithmetic the rules are written in, once: every engine decides with it, every message quotes it.

`expected_derived` (numerator / denominator x multiplier), `precision_tolerance` (half a unit of
the last decimal the authority reported, read from the cell's text by `reported_decimals`),
`derived_excess`, and `rolling_total` with `rolling_from_last_month` (a twelve-month sum). The
pandas engine calls them over whole columns, Great Expectations' own expectations call them
inside GX (`pipelines/validate/custom_expectations.py`), and the kinds call them again for the
failing rows only when they write a finding's message.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# Floating point noise only; the tolerance itself is exactly half a unit of the last decimal.
EPSILON = 1e-9


def reported_decimals(cells: pa.Array | pa.ChunkedArray, index: pd.Index | None = None) -> pd.Series:
    """Decimal places of each cell as submitted ('189.4' -> 1, '189' -> 0): the characters after
    the first point, counted in Arrow (a million cells in milliseconds, not Python strings)."""
    trimmed = pc.utf8_trim_whitespace(cells.fill_null(""))
    after_point = pc.replace_substring_regex(trimmed, pattern=r"^[^.]*\.", replacement="", max_replacements=1)
    decimals = pc.if_else(pc.greater_equal(pc.find_substring(trimmed, "."), 0), pc.utf8_length(after_point), 0)
    return pd.Series(decimals.to_numpy(zero_copy_only=False), index=index).astype("int64")


def decimals_of(texts: Iterable[object]) -> list[int]:
    """`reported_decimals` of a few cells given as Python values (a failing row's text)."""
    cells = pa.array([None if text is None or pd.isna(text) else str(text) for text in texts], type=pa.string())
    return [int(d) for d in reported_decimals(cells)]


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
