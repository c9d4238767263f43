"""Rules that need more than the row: the register, official populations and plausibility bands."""
from __future__ import annotations

import pandas as pd

from schemas.bands import plausibility_bands
from schemas.catalogue import LA_CODE_PATTERN, PERIOD_PATTERN
from schemas.findings import Finding
from schemas.rules import POPULATION_ERROR_SHARE, POPULATION_WARNING_SHARE, make_finding


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
