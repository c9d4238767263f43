"""Benchmarks as an improvement board reads them: each authority's rate against England, its
region, its statistical neighbours, and its quartile and band among the authorities that returned.

One row per authority, month and rate or percentage of the catalogue (an indicator with a
numerator, a denominator and a multiplier):

- `value`: the authority's figure recomputed from its components, one decimal place;
- `england`, `region`: summed numerators over summed denominators of every authority whose accepted
  return for the month carries both components (as DfE computes national rates), with how many
  authorities that covers;
- `neighbours`: the mean of the statistical neighbours' values among those that returned, with how
  many; blank with 0 when none returned, never a mean of nothing;
- `quartile`: 1 (lowest value) to 4 among the authorities that returned; `band`: A (best) to D by
  the indicator's polarity, as LAIT bands it, blank when the indicator has no polarity;
- `source`: `returns` when England and the region come from the month's returns; when the month
  holds fewer than `min_authorities` authorities with the indicator, they come from the latest
  published annual figures (LAIT) for a year ending on or before the month, `LAIT <year>`
  (`england_authorities`/`region_authorities` then count the authorities the imported file
  gives a value for, blank when it holds only the totals), or `none` when none are imported.

Pure pandas; no loop over rows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from schemas.catalogue import Indicator, load_catalogue

BENCHMARK_COLUMNS = [
    "la_code",
    "period",
    "indicator",
    "value",
    "england",
    "england_authorities",
    "region",
    "region_authorities",
    "neighbours",
    "neighbours_authorities",
    "quartile",
    "band",
    "source",
]
# Part of what every stored month's benchmarks were built on: bump it when `build_benchmarks` computes
# differently, and every month is built again on the next run.
BUILD_VERSION = 1
# The columns' types where a reader would guess otherwise (whole numbers with blanks, codes, months).
BENCHMARK_DTYPES = {
    "la_code": str,
    "period": str,
    "indicator": str,
    "band": str,
    "source": str,
    "quartile": "Int64",
    "england_authorities": "Int64",
    "region_authorities": "Int64",
    "neighbours_authorities": "Int64",
}
MIN_AUTHORITIES = 20  # fewer authorities in a month than this: England and the region from annual figures
SOURCE_RETURNS = "returns"
SOURCE_NONE = "none"
BANDS_BEST_FIRST = np.array(["A", "B", "C", "D"])


def benchmarked_indicators() -> list[Indicator]:
    """The catalogue's rates and percentages: computed from a numerator and a denominator."""
    return [i for i in load_catalogue() if i.numerator and i.denominator and i.multiplier]


def round_half_up(values: pd.Series, places: int = 1) -> pd.Series:
    """Half away from zero at `places` decimals (as DfE rounds), robust to binary fractions like 0.15."""
    scale = 10**places
    scaled = values * scale
    return np.sign(scaled) * np.floor(np.abs(scaled) + 0.5 + 1e-9) / scale


def indicator_components(values: pd.DataFrame, indicators: list[Indicator] | None = None) -> pd.DataFrame:
    """Long (la_code, period, indicator, numerator, denominator, multiplier, exact, value) from wide
    monthly figures; an authority-month without both components, or with a zero denominator, is left out."""
    indicators = benchmarked_indicators() if indicators is None else indicators
    parts = []
    for indicator in indicators:  # one column operation per indicator, not per row
        if indicator.numerator not in values.columns or indicator.denominator not in values.columns:
            continue
        parts.append(
            pd.DataFrame(
                {
                    "la_code": values["la_code"],
                    "period": values["period"],
                    "indicator": indicator.column,
                    "numerator": pd.to_numeric(values[indicator.numerator], errors="coerce"),
                    "denominator": pd.to_numeric(values[indicator.denominator], errors="coerce"),
                    "multiplier": float(indicator.multiplier or 1),
                }
            )
        )
    if not parts:
        return pd.DataFrame(
            columns=["la_code", "period", "indicator", "numerator", "denominator", "multiplier", "exact", "value"]
        )
    long = pd.concat(parts, ignore_index=True)
    long = long[long["numerator"].notna() & (long["denominator"] > 0)].reset_index(drop=True)
    long["exact"] = long["numerator"] / long["denominator"] * long["multiplier"]
    long["value"] = round_half_up(long["exact"])
    return long


def _pooled(long: pd.DataFrame, keys: list[str], name: str) -> pd.DataFrame:
    """Summed numerators over summed denominators per group, and how many authorities."""
    pooled = long.groupby(keys, as_index=False).agg(
        numerator=("numerator", "sum"),
        denominator=("denominator", "sum"),
        multiplier=("multiplier", "first"),
        count=("la_code", "nunique"),
    )
    pooled[name] = round_half_up(pooled["numerator"] / pooled["denominator"] * pooled["multiplier"])
    return pooled[[*keys, name, "count"]].rename(columns={"count": f"{name}_authorities"})


def quartiles(long: pd.DataFrame) -> pd.Series:
    """1 (lowest) to 4 per month and indicator, by rank: n authorities split into four groups whose
    sizes differ by at most one; tied values share the quartile of their lowest rank."""
    groups = long.groupby(["period", "indicator"])["value"]
    rank = groups.rank(method="min")
    count = groups.transform("size")
    return (np.floor((rank - 1) * 4 / count) + 1).astype("int64")


def bands(quartile: pd.Series, polarity: pd.Series) -> pd.Series:
    """A (best) to D: the lowest quartile is A where low is good, the highest where high is good."""
    best_first = quartile.where(polarity == "low", 5 - quartile).where(polarity.isin(["low", "high"]))
    band = pd.Series(pd.NA, index=quartile.index, dtype="object")
    known = best_first.notna()
    band[known] = BANDS_BEST_FIRST[best_first[known].astype(int).to_numpy() - 1]
    return band


def _neighbour_means(long: pd.DataFrame, neighbours: pd.DataFrame | None) -> pd.DataFrame:
    if neighbours is None or neighbours.empty:
        return pd.DataFrame(columns=["la_code", "period", "indicator", "neighbours", "neighbours_authorities"])
    pairs = neighbours[["la_code", "neighbour_code"]].drop_duplicates()
    theirs = long[["la_code", "period", "indicator", "value"]].rename(columns={"la_code": "neighbour_code"})
    joined = pairs.merge(theirs, on="neighbour_code")
    means = joined.groupby(["la_code", "period", "indicator"], as_index=False).agg(
        neighbours=("value", "mean"), neighbours_authorities=("neighbour_code", "nunique")
    )
    means["neighbours"] = round_half_up(means["neighbours"])
    return means


def _annual_comparators(frame: pd.DataFrame, annual: pd.DataFrame | None) -> pd.DataFrame:
    """England and region from the latest annual figure for a year ending (31 March) on or before
    the month, for the rows in `frame` (index kept)."""
    out = pd.DataFrame(
        np.nan, index=frame.index, columns=["england", "england_authorities", "region", "region_authorities"]
    )
    out["source"] = SOURCE_NONE
    if annual is None or annual.empty or frame.empty:
        return out
    period = pd.PeriodIndex(frame["period"], freq="M")
    wanted = frame[["indicator", "region_code"]].assign(
        year=np.where(period.month >= 4, period.year, period.year - 1).astype("int64"), row=frame.index
    )
    authorities = annual[annual["level"] == "authority"]
    for level, key, name in (("england", None, "england"), ("region", "region_code", "region")):
        totals = annual[annual["level"] == level][["indicator", "year", "area_code", "value"]]
        counted = authorities.groupby(["indicator", "year"] + ([key] if key else []), as_index=False).agg(
            authorities=("area_code", "nunique")
        )
        if key:
            totals = totals.rename(columns={"area_code": key})
            totals = totals.merge(counted, on=["indicator", "year", key], how="left")
        else:
            totals = totals.drop(columns="area_code").merge(counted, on=["indicator", "year"], how="left")
        by = ["indicator"] + ([key] if key else [])
        found = pd.merge_asof(
            wanted.dropna(subset=by).sort_values("year"),
            totals.rename(columns={"year": "published"}).sort_values("published"),
            left_on="year",
            right_on="published",
            by=by,
            direction="backward",
        )
        found = found.dropna(subset=["published"]).set_index("row")
        out.loc[found.index, name] = found["value"]
        out.loc[found.index, f"{name}_authorities"] = found["authorities"]
        if level == "england":
            out.loc[found.index, "source"] = "LAIT " + found["published"].astype("int64").astype(str)
    return out


def build_benchmarks(
    values: pd.DataFrame,
    register: pd.DataFrame | None,
    neighbours: pd.DataFrame | None = None,
    annual: pd.DataFrame | None = None,
    min_authorities: int = MIN_AUTHORITIES,
) -> pd.DataFrame:
    """The benchmarks table (BENCHMARK_COLUMNS) from accepted wide monthly figures (la_code, period,
    indicators...), the register (new_la_code, region_code), the neighbour pairs (la_code,
    neighbour_code) and the annual figures as `reference` normalises them."""
    long = indicator_components(values)
    if long.empty:
        return pd.DataFrame(columns=BENCHMARK_COLUMNS)
    regions = (
        register[["new_la_code", "region_code"]].rename(columns={"new_la_code": "la_code"})
        if register is not None
        else pd.DataFrame(columns=["la_code", "region_code"])
    )
    long = long.merge(regions.drop_duplicates("la_code"), on="la_code", how="left")

    table = long.merge(_pooled(long, ["period", "indicator"], "england"), on=["period", "indicator"], how="left")
    table = table.merge(
        _pooled(long.dropna(subset=["region_code"]), ["period", "indicator", "region_code"], "region"),
        on=["period", "indicator", "region_code"],
        how="left",
    )
    table["source"] = SOURCE_RETURNS
    too_few = table["england_authorities"] < min_authorities
    comparators = ["england", "england_authorities", "region", "region_authorities", "source"]
    table[["england_authorities", "region_authorities"]] = table[["england_authorities", "region_authorities"]].astype(
        "float64"
    )
    table.loc[too_few, comparators] = _annual_comparators(table[too_few], annual)[comparators]

    table = table.merge(_neighbour_means(long, neighbours), on=["la_code", "period", "indicator"], how="left")
    table["neighbours_authorities"] = pd.to_numeric(table["neighbours_authorities"]).fillna(0)
    table["quartile"] = quartiles(table)
    polarity = table["indicator"].map({i.column: i.polarity for i in load_catalogue()})
    table["band"] = bands(table["quartile"], polarity)
    for column in ("england_authorities", "region_authorities", "neighbours_authorities"):
        table[column] = pd.to_numeric(table[column]).astype("Int64")
    for column in ("england", "region", "neighbours"):
        table[column] = pd.to_numeric(table[column]).astype("float64")
    return table[BENCHMARK_COLUMNS].sort_values(["la_code", "period", "indicator"]).reset_index(drop=True)


BENCHMARKS_FILE = "benchmarks.csv"


def read_benchmarks(folder: Path) -> pd.DataFrame | None:
    """The benchmarks CSV (`store.benchmarks.export_benchmarks`), or None when there are none yet."""
    path = Path(folder) / BENCHMARKS_FILE
    if not path.exists():
        return None
    return pd.read_csv(path, dtype=BENCHMARK_DTYPES)
