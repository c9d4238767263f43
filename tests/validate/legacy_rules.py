"""The rule book as it was before it went columnar (verbatim copies), the oracle of the equivalence tests.

Copied from `pipelines/validate/{history,context,cross_column,structure}.py` at bbe6a12, row
loops and all; only the imports are gathered here. `legacy_validate_rows` composes them the way
`validate_rows` did (engine "pandas"). Not used by the pipeline: tests hold the new evaluation to it.
"""

from __future__ import annotations

import math
from functools import lru_cache

import pandas as pd
import pandera.pandas as pa

from pipelines.reference import Reference
from pipelines.validate.rulebook import last_complete_month
from schemas.bands import plausibility_bands
from schemas.catalogue import (
    LA_CODE_PATTERN,
    PERIOD_PATTERN,
    derived_indicators,
    indicators_by_column,
    mandatory_indicators,
    strict_parts,
)
from schemas.findings import Finding
from schemas.rules import (
    FLOW_OUTLIER_FACTOR,
    FLOW_OUTLIER_MIN_DIFFERENCE,
    FLOW_OUTLIER_MIN_MONTHS,
    POPULATION_ERROR_SHARE,
    POPULATION_WARNING_SHARE,
    RULES,
    STOCK_JUMP_MIN,
    STOCK_JUMP_SHARE,
    make_finding,
    new_finding,
)


def _month_offset(period: str, months: int) -> str:
    return (pd.Period(period, freq="M") + months).strftime("%Y-%m")


def history_findings(values: pd.DataFrame, history: pd.DataFrame | None) -> list[Finding]:
    """Rolling sums and month-on-month movement against the authority's stored months.

    `history` holds accepted monthly figures (la_code, period and indicator columns); the
    rows being validated take precedence over stored rows for the same authority-month.
    """
    if history is None or history.empty:
        history = values.iloc[0:0]
    known = pd.concat([history, values], ignore_index=True)
    known = known.dropna(subset=["la_code", "period"]).drop_duplicates(["la_code", "period"], keep="last")
    lookup = known.set_index(["la_code", "period"])
    findings: list[Finding] = []
    valid = values["period"].str.fullmatch(PERIOD_PATTERN).fillna(False)
    rolling = [i for i in indicators_by_column().values() if i.kind == "rolling12"]
    stocks = [i.column for i in indicators_by_column().values() if i.kind == "stock"]
    flows = [i.column for i in indicators_by_column().values() if i.kind == "flow"]
    for label in values.index[valid]:
        row = values.loc[label]
        code, period = row["la_code"], row["period"]

        def stored(column: str, offset: int, code=code, period=period):
            key = (code, _month_offset(period, offset))
            if key not in lookup.index:
                return None
            value = lookup.at[key, column]
            return None if pd.isna(value) else float(value)

        for indicator in rolling:
            reported = row[indicator.column]
            if pd.isna(reported):
                continue
            months = [stored(indicator.sums, -k) for k in range(12)]
            if all(m is not None for m in months):
                total = sum(months)
                if total != reported:
                    findings.append(
                        make_finding(
                            "rolling_sum_mismatch",
                            row,
                            indicator.column,
                            reported,
                            total,
                            detail=f"the 12 monthly {indicator.sums} figures held sum to {total:,.0f}",
                        )
                    )
                continue
            previous, dropped, current = stored(indicator.column, -1), stored(indicator.sums, -12), row[indicator.sums]
            if previous is not None and dropped is not None and pd.notna(current):
                expected = previous + float(current) - dropped
                if expected != reported:
                    findings.append(
                        make_finding(
                            "rolling_sum_mismatch",
                            row,
                            indicator.column,
                            reported,
                            expected,
                            detail=(
                                f"last month's {previous:,.0f} + {float(current):,.0f} this month"
                                f" - {dropped:,.0f} twelve months ago = {expected:,.0f}"
                            ),
                        )
                    )
        for column in stocks:
            previous, current = stored(column, -1), row[column]
            if previous is None or pd.isna(current):
                continue
            if abs(current - previous) > max(STOCK_JUMP_SHARE * previous, STOCK_JUMP_MIN):
                findings.append(make_finding("stock_jump", row, column, current, previous))
        for column in flows:
            current = row[column]
            held = [v for v in (stored(column, -k) for k in range(1, 13)) if v is not None]
            if pd.isna(current) or len(held) < FLOW_OUTLIER_MIN_MONTHS:
                continue
            usual = float(pd.Series(held).median())
            far = current > usual * FLOW_OUTLIER_FACTOR or current < usual / FLOW_OUTLIER_FACTOR
            if far and abs(current - usual) >= FLOW_OUTLIER_MIN_DIFFERENCE:
                findings.append(
                    make_finding(
                        "flow_outlier",
                        row,
                        column,
                        current,
                        usual,
                        detail=f"median of the {len(held)} previous months held",
                    )
                )
    return findings


def identity_findings(
    values: pd.DataFrame, register: pd.DataFrame | None, populations: pd.DataFrame | None, last_complete_month: str
) -> list[Finding]:
    """Register membership and names, months that have not ended, denominators against ONS."""
    findings: list[Finding] = []
    well_formed = values["la_code"].str.fullmatch(LA_CODE_PATTERN).fillna(False)
    valid_period = values["period"].str.fullmatch(PERIOD_PATTERN).fillna(False)
    for label in values.index[valid_period & (values["period"] > last_complete_month)]:
        findings.append(make_finding("period_in_future", values.loc[label], "period", values.at[label, "period"]))
    if register is not None and not register.empty:
        names = dict(zip(register["new_la_code"], register["la_name"]))
        for label in values.index[well_formed]:
            row = values.loc[label]
            if row["la_code"] not in names:
                findings.append(make_finding("unknown_authority", row, "la_code", row["la_code"]))
            elif pd.notna(row["la_name"]) and _name_key(row["la_name"]) != _name_key(names[row["la_code"]]):
                findings.append(make_finding("la_name_mismatch", row, "la_name", row["la_name"], names[row["la_code"]]))
    if populations is not None and not populations.empty:
        official = populations.set_index(["new_la_code", "year"])["population"]
        for label in values.index[well_formed & valid_period & values["population_0_17"].notna()]:
            row = values.loc[label]
            estimate = _official_estimate(official, row["la_code"], row["period"])
            if estimate is None:
                continue
            estimate_year, expected = estimate
            share = abs(row["population_0_17"] - expected) / expected
            if share > POPULATION_WARNING_SHARE:
                rule = "population_implausible" if share > POPULATION_ERROR_SHARE else "population_differs"
                findings.append(
                    make_finding(
                        rule,
                        row,
                        "population_0_17",
                        row["population_0_17"],
                        expected,
                        detail=f"mid-{estimate_year}, {share:.1%} apart",
                    )
                )
    return findings


def _name_key(name: str) -> str:
    return " ".join(str(name).lower().replace("&", "and").replace(",", " ").split())


def _official_estimate(official: pd.Series, la_code: str, period: str) -> tuple[int, float] | None:
    """The mid-year estimate in force for a month: mid-(Y-1) for a month in the financial year ending March Y (as DfE computes rates),
    falling back to the latest earlier estimate when ONS has not published one yet."""
    year, month = int(period[:4]), int(period[5:7])
    wanted = year if month >= 4 else year - 1
    try:
        series = official.xs(la_code, level=0)
    except KeyError:
        return None
    candidates = series[series.index <= wanted]
    if candidates.empty:
        return None
    estimate_year = int(candidates.index.max())
    return estimate_year, float(candidates.loc[estimate_year])


def plausibility_findings(values: pd.DataFrame) -> list[Finding]:
    findings = []
    for column, (low, high) in plausibility_bands().items():
        outside = values[column].notna() & ((values[column] < low) | (values[column] > high))
        for label in values.index[outside.fillna(False)]:
            findings.append(
                make_finding(
                    "implausible_value",
                    values.loc[label],
                    column,
                    values.at[label, column],
                    expected=f"{low:g} to {high:g}",
                )
            )
    return findings


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
    return (
        f"{row[indicator.numerator]:,.0f} / {row[indicator.denominator]:,.0f} x {indicator.multiplier:,}"
        f" = {exact:,.{places}f}"
    )


def cross_column_findings(
    values: pd.DataFrame, text: pd.DataFrame, derived: pd.DataFrame | None = None, failing: dict[str, set] | None = None
) -> list[Finding]:
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
        return (
            isinstance(cell, str)
            and cell.strip() != ""
            and cell.strip().lower() != "x"
            and pd.isna(values.at[label, column])
        )

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
            findings.append(
                make_finding(
                    "derived_without_components",
                    row,
                    column,
                    reported[label],
                    detail=" and ".join(absent) + (" is" if len(absent) == 1 else " are"),
                )
            )
        undefined = reported.notna() & numerator.notna() & (denominator == 0)
        for label in values.index[undefined.fillna(False)]:
            findings.append(
                make_finding(
                    "derived_undefined", values.loc[label], column, reported[label], detail=indicator.denominator
                )
            )
        excess_column = f"excess__{column}"
        for label in failing_rows(excess_column, derived[excess_column] > 0):
            row = values.loc[label]
            exact = derived.at[label, f"exact__{column}"]
            tolerance = derived.at[label, f"tolerance__{column}"]
            findings.append(
                make_finding(
                    "derived_inconsistent",
                    row,
                    column,
                    text.at[label, column],
                    expected=round(exact, 4),
                    detail=consistency_detail(indicator, row, exact, tolerance),
                )
            )

    for part, whole in strict_parts():
        slack_column = f"slack__{part}"
        for label in failing_rows(slack_column, derived[slack_column] < 0):
            row = values.loc[label]
            findings.append(
                make_finding(
                    "part_exceeds_whole",
                    row,
                    part,
                    row[part],
                    expected=row[whole],
                    detail=f"{whole} is {row[whole]:,.0f}",
                )
            )

    stocks = values["cp_plans"] + values["cla"]
    for label in values.index[(stocks > values["cin"]).fillna(False)]:
        findings.append(
            make_finding(
                "plans_and_looked_after_exceed_cin",
                values.loc[label],
                "cin",
                stocks[label],
                expected=values.at[label, "cin"],
            )
        )
    for label in values.index[(values["referrals"] > values["contacts"]).fillna(False)]:
        findings.append(
            make_finding(
                "referrals_exceed_contacts",
                values.loc[label],
                "referrals",
                values.at[label, "referrals"],
                expected=values.at[label, "contacts"],
            )
        )
    return findings


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


def structure_findings(values: pd.DataFrame) -> list[Finding]:
    """Every structural failure in `values` (lazy: all collected), one finding per cell.

    `values` is `ParsedReturn.values` (or several concatenated); missing identity cells are
    reported here too, since pandera's nullable flag would only say 'column has nulls'.
    """
    findings: list[Finding] = []
    if values.empty:
        return findings
    frame = values.reset_index(drop=True)
    for column, rule in (
        ("la_code", "la_code_missing"),
        ("period", "period_missing"),
        ("population_0_17", "population_missing"),
    ):
        for position in frame.index[frame[column].isna()]:
            findings.append(_finding(rule, frame, position, column))
    try:
        return_schema().validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases
        duplicates = cases[cases["check"] == "multiple_fields_uniqueness"]
        for position in sorted(set(duplicates["index"].dropna().astype(int))):
            findings.append(_finding("duplicate_return", frame, position, "la_code"))
        for case in cases[cases["check"] != "multiple_fields_uniqueness"].itertuples():
            if case.index is None or pd.isna(case.index) or case.check not in RULES:
                findings.append(
                    new_finding(
                        "schema",
                        file=str(frame["file"].iloc[0]),
                        column=case.column,
                        message=f"{case.column}: {case.check}",
                    )
                )
                continue
            findings.append(_finding(case.check, frame, int(case.index), case.column))
    return findings


def _finding(rule_id: str, frame: pd.DataFrame, position: int, column: str) -> Finding:
    record = frame.iloc[position]
    return make_finding(rule_id, record, column, record.get(column), RULES[rule_id].expected)


def legacy_validate_rows(
    values: pd.DataFrame,
    text: pd.DataFrame,
    reference: Reference | None = None,
    history: pd.DataFrame | None = None,
    today=None,
) -> list[Finding]:
    """`validate_rows` (engine "pandas") as it was."""
    if values.empty:
        return []
    values = values.reset_index(drop=True)
    text = text.reset_index(drop=True)
    findings: list[Finding] = structure_findings(values)
    findings += cross_column_findings(values, text)
    reference = reference or Reference(None, None)
    findings += identity_findings(values, reference.register, reference.populations, last_complete_month(today))
    findings += plausibility_findings(values)
    findings += history_findings(values, history)
    return findings
