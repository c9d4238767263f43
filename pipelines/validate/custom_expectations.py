"""Our own Great Expectations 1.x expectations, for the arithmetic GX has no expectation for.

Imports GX at the top, so only the GX engine (`engines/gx_engine.py`) imports it, inside functions:
the fast command-line path never pays GX's import. Each expectation is a multicolumn map
expectation whose pandas condition calls the rule book's arithmetic (`schemas/rules/arithmetic.py`,
the same functions the pandas engine uses), so there is one definition of "consistent".
"""

from __future__ import annotations

from typing import ClassVar, Literal

import pandas as pd
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import MulticolumnMapExpectation
from great_expectations.expectations.metrics.map_metric_provider import MulticolumnMapMetricProvider
from great_expectations.expectations.metrics.map_metric_provider.multicolumn_condition_partial import (
    multicolumn_condition_partial,
)

from schemas.rules.arithmetic import (
    derived_excess,
    expected_derived,
    precision_tolerance,
    rolling_from_last_month,
    rolling_total,
)

_DOMAIN_KEYS = ("batch_id", "table", "column_list", "row_condition", "condition_parser", "ignore_row_if")


class DerivedFigureMatches(MulticolumnMapMetricProvider):
    """Row-wise: reported is within half a unit of its last decimal of numerator / denominator x multiplier.

    column_list: reported, numerator, denominator, multiplier, decimals reported (in that order).
    A zero denominator cannot be checked here (the derived_undefined rule says so).
    """

    condition_metric_name = "multicolumn_values.derived_figure_matches"
    condition_domain_keys = _DOMAIN_KEYS

    @multicolumn_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column_list: pd.DataFrame, **kwargs) -> pd.Series:
        reported, numerator, denominator, multiplier, decimals = (column_list.iloc[:, k] for k in range(5))
        exact = expected_derived(numerator, denominator, 1.0) * multiplier.astype("float64")
        excess = derived_excess(reported, exact, precision_tolerance(decimals))
        return ~(excess > 0).fillna(False)


class ExpectDerivedFigureToMatchComponents(MulticolumnMapExpectation):
    """A derived figure (rate, percentage) equals numerator / denominator x multiplier at the precision reported.

    Over a long table, one row per return and derived indicator: column_list names the reported
    figure, numerator, denominator, multiplier and the decimal places the authority reported.
    """

    map_metric: ClassVar[str] = "multicolumn_values.derived_figure_matches"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly",)
    ignore_row_if: Literal["all_values_are_missing", "any_value_is_missing", "never"] = "any_value_is_missing"


class RollingSumAgrees(MulticolumnMapMetricProvider):
    """Row-wise: a rolling twelve-month sum equals the twelve monthly figures held.

    column_list: reported, then the monthly figures of this month and the eleven before it.
    """

    condition_metric_name = "multicolumn_values.rolling_sum_agrees"
    condition_domain_keys = _DOMAIN_KEYS

    @multicolumn_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column_list: pd.DataFrame, **kwargs) -> pd.Series:
        reported = column_list.iloc[:, 0].astype("float64")
        total = rolling_total([column_list.iloc[:, k] for k in range(1, column_list.shape[1])])
        return ~((total != reported) & total.notna() & reported.notna())


class ExpectRollingSumToAgreeWithMonths(MulticolumnMapExpectation):
    """A rolling twelve-month figure equals the sum of the twelve monthly figures held for it."""

    map_metric: ClassVar[str] = "multicolumn_values.rolling_sum_agrees"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly",)
    ignore_row_if: Literal["all_values_are_missing", "any_value_is_missing", "never"] = "any_value_is_missing"


class RollingSumMoves(MulticolumnMapMetricProvider):
    """Row-wise: a rolling sum equals last month's + this month's figure - the figure twelve months ago.

    column_list: reported, previous (last month's rolling figure), current, dropped.
    """

    condition_metric_name = "multicolumn_values.rolling_sum_moves"
    condition_domain_keys = _DOMAIN_KEYS

    @multicolumn_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column_list: pd.DataFrame, **kwargs) -> pd.Series:
        reported, previous, current, dropped = (column_list.iloc[:, k] for k in range(4))
        expected = rolling_from_last_month(previous, current, dropped)
        return ~((expected != reported.astype("float64")) & expected.notna() & reported.notna())


class ExpectRollingSumToMoveWithLastMonth(MulticolumnMapExpectation):
    """Without every month held: x_12m(m) = x_12m(m-1) + x(m) - x(m-12)."""

    map_metric: ClassVar[str] = "multicolumn_values.rolling_sum_moves"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly",)
    ignore_row_if: Literal["all_values_are_missing", "any_value_is_missing", "never"] = "any_value_is_missing"
