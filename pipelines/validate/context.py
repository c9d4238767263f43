"""Rules that need more than the row: the register, official populations and plausibility bands.

Each rule is a column operation (a map onto the register, an as-of join onto the estimates, a
mask against the band); only the failing rows become findings.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from schemas.bands import plausibility_bands
from schemas.catalogue import LA_CODE_PATTERN, PERIOD_PATTERN
from schemas.findings import Finding
from schemas.rules import POPULATION_ERROR_SHARE, POPULATION_WARNING_SHARE, in_row_order, make_findings


def identity_findings(
    values: pd.DataFrame, register: pd.DataFrame | None, populations: pd.DataFrame | None, last_complete_month: str
) -> list[Finding]:
    """Register membership and names, months that have not ended, denominators against ONS."""
    well_formed = values["la_code"].str.fullmatch(LA_CODE_PATTERN).fillna(False).astype(bool)
    valid_period = values["period"].str.fullmatch(PERIOD_PATTERN).fillna(False).astype(bool)
    future = values[valid_period & (values["period"] > last_complete_month).fillna(False)]
    findings = make_findings("period_in_future", future, "period", future["period"])
    if register is not None and not register.empty:
        names = pd.Series(register["la_name"].to_numpy(), index=register["new_la_code"].to_numpy())
        names = names[~names.index.duplicated(keep="last")]  # as dict(zip(...)) did
        registered = values["la_code"].map(names).where(well_formed)
        unknown = values[well_formed & registered.isna()]
        named = well_formed & registered.notna() & values["la_name"].notna()
        differs = values[named & (_name_key(values["la_name"]) != _name_key(registered)).fillna(False)]
        by_row = list(
            zip(unknown.index, make_findings("unknown_authority", unknown, "la_code", unknown["la_code"]))
        ) + list(
            zip(
                differs.index,
                make_findings("la_name_mismatch", differs, "la_name", differs["la_name"], registered[differs.index]),
            )
        )
        findings += in_row_order(values.index, by_row)
    if populations is not None and not populations.empty:
        findings += _population_findings(
            values[well_formed & valid_period & values["population_0_17"].notna()], populations
        )
    return findings


def _name_key(names: pd.Series) -> pd.Series:
    """Names compared without case, '&' for 'and', commas or runs of spaces."""
    text = names.astype("string").str.lower().str.replace("&", "and", regex=False).str.replace(",", " ", regex=False)
    return text.str.split().str.join(" ")


def _population_findings(rows: pd.DataFrame, populations: pd.DataFrame) -> list[Finding]:
    """Each row's population against the mid-year estimate in force for its month: mid-(Y-1) for a
    month in the financial year ending March Y (as DfE computes rates), falling back to the latest
    earlier estimate when ONS has not published one yet (an as-of join on authority and year)."""
    if rows.empty:
        return []
    year, month = rows["period"].str[:4].astype("int64"), rows["period"].str[5:7].astype("int64")
    wanted = pd.DataFrame(
        {
            "label": rows.index,
            "la_code": rows["la_code"].astype(str).to_numpy(),
            "wanted": np.where(month >= 4, year, year - 1).astype("int64"),
        }
    )
    official = pd.DataFrame(
        {
            "la_code": populations["new_la_code"].astype(str).to_numpy(),
            "estimate_year": populations["year"].astype("int64").to_numpy(),
            "official": populations["population"].astype("float64").to_numpy(),
        }
    )
    matched = pd.merge_asof(
        wanted.sort_values("wanted"),
        official.sort_values("estimate_year"),
        left_on="wanted",
        right_on="estimate_year",
        by="la_code",
        direction="backward",
    )
    matched = matched.dropna(subset=["official"]).set_index("label").reindex(rows.index).dropna(subset=["official"])
    reported = rows.loc[matched.index, "population_0_17"].astype("float64")
    share = (reported - matched["official"]).abs() / matched["official"]
    findings: list[tuple[object, Finding]] = []
    for rule, mask in (
        ("population_implausible", share > POPULATION_ERROR_SHARE),
        ("population_differs", (share > POPULATION_WARNING_SHARE) & (share <= POPULATION_ERROR_SHARE)),
    ):
        flagged = matched[mask]
        detail = [f"mid-{int(y)}, {s:.1%} apart" for y, s in zip(flagged["estimate_year"], share[mask])]
        made = make_findings(
            rule, rows.loc[flagged.index], "population_0_17", reported[mask], flagged["official"], detail
        )
        findings += zip(flagged.index, made)
    return in_row_order(rows.index, findings)


def plausibility_findings(values: pd.DataFrame) -> list[Finding]:
    findings = []
    for column, (low, high) in plausibility_bands().items():
        outside = values[values[column].notna() & ((values[column] < low) | (values[column] > high)).fillna(False)]
        findings += make_findings(
            "implausible_value", outside, column, outside[column], expected=f"{low:g} to {high:g}"
        )
    return findings
