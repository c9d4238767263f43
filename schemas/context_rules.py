"""Rules that need more than the row: the register, official populations, bands and history."""
from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

import pandas as pd

from schemas.catalogue import LA_CODE_PATTERN, PERIOD_PATTERN, indicators_by_column
from schemas.findings import Finding
from schemas.rules import (
    FLOW_OUTLIER_FACTOR,
    FLOW_OUTLIER_MIN_DIFFERENCE,
    FLOW_OUTLIER_MIN_MONTHS,
    POPULATION_ERROR_SHARE,
    POPULATION_WARNING_SHARE,
    STOCK_JUMP_MIN,
    STOCK_JUMP_SHARE,
    make_finding,
)

BANDS_PATH = Path(__file__).with_name("plausibility_bands.csv")


@lru_cache(maxsize=1)
def plausibility_bands() -> dict[str, tuple[float, float]]:
    with BANDS_PATH.open(newline="", encoding="utf-8") as handle:
        return {row["column"]: (float(row["low"]), float(row["high"])) for row in csv.DictReader(handle)}


def identity_findings(values: pd.DataFrame, register: pd.DataFrame | None, populations: pd.DataFrame | None,
                      last_complete_month: str) -> list[Finding]:
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
                findings.append(make_finding(rule, row, "population_0_17", row["population_0_17"], expected,
                                             detail=f"mid-{estimate_year}, {share:.1%} apart"))
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
            findings.append(make_finding("implausible_value", values.loc[label], column, values.at[label, column],
                                         expected=f"{low:g} to {high:g}"))
    return findings


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

        def stored(column: str, offset: int):
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
                    findings.append(make_finding("rolling_sum_mismatch", row, indicator.column, reported, total,
                                                 detail=f"the 12 monthly {indicator.sums} figures held sum to {total:,.0f}"))
                continue
            previous, dropped, current = stored(indicator.column, -1), stored(indicator.sums, -12), row[indicator.sums]
            if previous is not None and dropped is not None and pd.notna(current):
                expected = previous + float(current) - dropped
                if expected != reported:
                    findings.append(make_finding(
                        "rolling_sum_mismatch", row, indicator.column, reported, expected,
                        detail=(f"last month's {previous:,.0f} + {float(current):,.0f} this month"
                                f" - {dropped:,.0f} twelve months ago = {expected:,.0f}")))
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
                findings.append(make_finding("flow_outlier", row, column, current, usual,
                                             detail=f"median of the {len(held)} previous months held"))
    return findings
