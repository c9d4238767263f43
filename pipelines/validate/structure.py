"""The structural contract of a return as a pandera schema, built from the indicator catalogue.

Each check's `error` is a rule id from `schemas.rules.RULES`, so a pandera failure case maps
straight onto a finding with that rule's message. Uniqueness is within the rows given: the
pipeline checks one file at a time.
"""

from __future__ import annotations

from functools import lru_cache

import pandas as pd

from schemas.catalogue import LA_CODE_PATTERN, PERIOD_PATTERN, indicators_by_column
from schemas.findings import Finding
from schemas.lean_pandera import pa
from schemas.rules import RULES, make_findings, new_finding


def _is_whole(series: pd.Series) -> pd.Series:
    return (series % 1 == 0) | series.isna()


@lru_cache(maxsize=1)
def return_schema() -> pa.DataFrameSchema:
    columns: dict[str, pa.Column] = {
        "la_code": pa.Column(
            "string", [pa.Check.str_matches(f"^{LA_CODE_PATTERN}$", error="la_code_format")], nullable=True
        ),
        "period": pa.Column(
            "string", [pa.Check.str_matches(f"^{PERIOD_PATTERN}$", error="period_format")], nullable=True
        ),
    }
    for indicator in indicators_by_column().values():
        if not indicator.is_numeric:
            continue
        checks = []
        if indicator.kind == "population":
            checks = [pa.Check.gt(0, error="population_not_positive"), pa.Check(_is_whole, error="not_whole_number")]
        elif indicator.is_count:
            checks = [pa.Check.ge(0, error="negative_count"), pa.Check(_is_whole, error="not_whole_number")]
        elif indicator.unit == "percent":
            checks = [pa.Check.in_range(0, 100, error="percent_out_of_range")]
        elif indicator.unit == "rate_per_10k":
            checks = [pa.Check.in_range(0, 10_000, error="rate_impossible")]
        columns[indicator.column] = pa.Column("Float64", checks, nullable=True)
    return pa.DataFrameSchema(columns, unique=["la_code", "period"], report_duplicates="all", strict=False)


def by_position(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` indexed 0..n-1, copied only when it is not already (a million rows are hundreds of MB)."""
    index = frame.index
    if isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1:
        return frame
    return frame.reset_index(drop=True)


def structure_findings(values: pd.DataFrame) -> list[Finding]:
    """Every structural failure in `values` (lazy: all collected), one finding per cell.

    `values` is `ParsedReturn.values` (or several concatenated); missing identity cells are
    reported here too, since pandera's nullable flag would only say 'column has nulls'.
    pandera's failure cases are a table: they become findings per (check, column) group.
    """
    findings: list[Finding] = []
    if values.empty:
        return findings
    frame = by_position(values)
    for column, rule in (
        ("la_code", "la_code_missing"),
        ("period", "period_missing"),
        ("population_0_17", "population_missing"),
    ):
        findings += _findings(rule, frame, frame.index[frame[column].isna()], column)
    try:
        return_schema().validate(frame, lazy=True, inplace=True)  # nothing is coerced: no copy of the rows needed
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases.reset_index(drop=True)
        duplicates = cases[cases["check"] == "multiple_fields_uniqueness"]
        findings += _findings(
            "duplicate_return", frame, sorted(set(duplicates["index"].dropna().astype(int))), "la_code"
        )
        cases = cases[cases["check"] != "multiple_fields_uniqueness"]
        known = cases["index"].notna() & cases["check"].isin(list(RULES))
        for case in cases[~known].itertuples():  # about a column, not a cell: pandera's own wording
            findings.append(
                new_finding(
                    "schema",
                    file=str(frame["file"].iloc[0]),
                    column=case.column,
                    message=f"{case.column}: {case.check}",
                )
            )
        cases = cases[known]
        ordered: list[tuple[int, Finding]] = []
        for (check, column), group in cases.groupby(["check", "column"], sort=False):
            made = _findings(check, frame, group["index"].astype(int).to_numpy(), column)
            ordered += zip(group.index, made)
        findings += [finding for _, finding in sorted(ordered, key=lambda item: item[0])]  # pandera's order
    return findings


def _findings(rule_id: str, frame: pd.DataFrame, positions, column: str) -> list[Finding]:
    """Findings of `rule_id` on the cells of `column` at `positions` of `frame`."""
    records = frame.iloc[list(positions)]
    return make_findings(rule_id, records, column, list(records[column]), RULES[rule_id].expected)
