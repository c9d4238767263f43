"""The row-by-row suppression across months that `disclosure.suppress_rolling_windows` replaced, kept
as the reference its columnar successor is held to (tests/publish/test_series.py)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from decimal import Decimal

from pipelines.publish.disclosure import Derived, geography_code
from pipelines.publish.ees import SUPPRESSED, is_number, month_of


def suppress_rolling_windows(
    rows: Sequence[dict[str, str]],
    rolling: Mapping[str, str],
    derived: Sequence[Derived],
    stale_totals: Collection[tuple[str, str, str]] = frozenset(),
) -> list[tuple[dict[str, str], str, str]]:
    by_month: dict[tuple[str, int], dict[str, str]] = {}
    for row in rows:
        year, month = month_of(row["time_period"], row["time_identifier"]).split("-")
        by_month[(geography_code(row), int(year) * 12 + int(month))] = row
    published_run: dict[tuple[str, int, str], int] = {}
    changed: list[tuple[dict[str, str], str, str]] = []
    for (code, ordinal), row in sorted(by_month.items(), key=lambda item: item[0]):
        month = month_of(row["time_period"], row["time_identifier"])
        for column, flow in rolling.items():
            run = published_run.get((code, ordinal - 1, flow), 0) + 1 if is_number(row.get(flow)) else 0
            published_run[(code, ordinal, flow)] = run
            if is_number(row.get(column)) and (
                run < 12
                or (code, month, column) in stale_totals
                or not _agrees_with_its_months(
                    row, column, [by_month[(code, ordinal - k)].get(flow, "") for k in range(12)]
                )
            ):
                changed.append((row, column, row[column]))
                row[column] = SUPPRESSED
        for figure in derived:
            if SUPPRESSED in (row.get(figure.numerator), row.get(figure.denominator)) and is_number(
                row.get(figure.column)
            ):
                changed.append((row, figure.column, row[figure.column]))
                row[figure.column] = SUPPRESSED
    return changed


def _agrees_with_its_months(row: Mapping[str, str], column: str, months: Sequence[str]) -> bool:
    return not row.get("new_la_code") or Decimal(row[column]) == sum(Decimal(month) for month in months)
