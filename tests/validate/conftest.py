"""Fixtures for the rule-book tests: real published figures shaped into returns.

The real figures are read from `../shared/reference/` beside the checkout (never copied into
the repository); tests that need them skip with the reason when the folder is absent.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pipelines.home import DataHome
from pipelines.ingest.readers import read_return
from pipelines.reference import import_reference, load_reference
from schemas.catalogue import all_columns

REPO = Path(__file__).resolve().parents[2]
REFERENCE = REPO / ".." / "shared" / "reference"
LAIT = "lait_csc_indicators_2016_to_2022.csv"
REGISTER = "la_register_2025.csv"
POPULATION = "ons_population_0_17_2012_to_2024.csv"
YEARS = range(2016, 2023)
# Looked-after rates for 2016-2018 were computed on population estimates ONS has since revised
# (reference README): a return carries its own denominator, so those rates are left out.
FIRST_YEAR_LAC_RATE = 2019
# LAIT indicator -> return column, for the pairs a return can carry with their components.
LAIT_COLUMNS = {
    "CPP_Num": "cp_plans",
    "CPP_rate": "cp_rate_per_10k",
    "LACnum": "cla",
    "LAC": "cla_rate_per_10k",
    "CPP_Total_NumRef": "referrals_12m",
    "CPP_Total_Rateper10,000": "referral_rate_per_10k",
}


def reference_folder() -> Path:
    if not (REFERENCE / LAIT).exists():
        pytest.skip(f"real reference data not found at {REFERENCE.resolve()} (the shared folder beside the checkout)")
    return REFERENCE


def published_text(raw: str) -> str | None:
    """A published value as an authority would type it: '609.70000000000005' is 609.7."""
    raw = raw.strip().replace(",", "")
    if raw in ("", "-", "c", "x", "z", "NA"):
        return None
    if "." not in raw:
        return raw
    text = repr(float(raw))
    return text[:-2] if text.endswith(".0") else text


def shape_real_returns(reference: Path) -> pd.DataFrame:
    """One return row (cell text) per registered authority and year ending March, 2016-2022.

    Stocks at 31 March (CPP_Num / CPP_rate, LACnum / LAC) and the financial year's referrals
    (CPP_Total_NumRef / rate) as the rolling 12 months to March, with the ONS mid-(Y-1) estimate
    as denominator. LAIT publishes no count of children in need, only its rate, so `cin` is
    `x` (not available): a rate without its count could not be checked.
    """
    lait = pd.read_csv(reference / LAIT, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    lait = lait[lait["short_desc"].isin(LAIT_COLUMNS)]
    wide = lait.pivot_table(index=["new_la_code", "year"], columns="short_desc", values="value", aggfunc="first")
    register = pd.read_csv(reference / REGISTER, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    names = dict(zip(register["new_la_code"], register["la_name"]))
    ons = pd.read_csv(reference / POPULATION, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    ons = ons[ons["geographic_level"] == "Local authority"]
    population = {
        (code, int(year)): value
        for code, year, value in zip(ons["new_la_code"], ons["time_period"].str[:4], ons["population_estimate"])
    }
    records = []
    for (code, year), figures in wide.iterrows():
        year = int(year)
        if code not in names or (code, year - 1) not in population:
            continue
        cell = {column: published_text(figures.get(indicator, "") or "") for indicator, column in LAIT_COLUMNS.items()}
        if year < FIRST_YEAR_LAC_RATE:
            cell["cla_rate_per_10k"] = None
        for count, rate in (
            ("cp_plans", "cp_rate_per_10k"),
            ("cla", "cla_rate_per_10k"),
            ("referrals_12m", "referral_rate_per_10k"),
        ):
            if cell[count] is None:
                cell[rate] = None  # a rate is only given with its count
        for mandatory in ("cp_plans", "cla"):
            cell[mandatory] = cell[mandatory] or "x"
        records.append(
            {
                "la_code": code,
                "la_name": names[code],
                "period": f"{year}-03",
                "population_0_17": population[(code, year - 1)],
                "cin": "x",
                **cell,
            }
        )
    frame = pd.DataFrame.from_records(records)
    return frame.reindex(columns=[c for c in all_columns() if c in frame.columns]).fillna("")


def write_return(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def real_reference_folder() -> Path:
    return reference_folder()


@pytest.fixture(scope="session")
def real_returns(real_reference_folder) -> pd.DataFrame:
    """Cell text of the real returns (all authorities, 2016-2022)."""
    return shape_real_returns(real_reference_folder)


@pytest.fixture(scope="session")
def real_reference(real_reference_folder, tmp_path_factory):
    """The register and populations imported the way `csc-returns reference import` does."""
    home = DataHome(tmp_path_factory.mktemp("home"))
    import_reference(real_reference_folder / REGISTER, home)
    import_reference(real_reference_folder / POPULATION, home)
    return load_reference(home)


@pytest.fixture(scope="session")
def read_frame(tmp_path_factory):
    """Write cell text as a CSV return and read it back through the real reader."""
    folder = tmp_path_factory.mktemp("returns")
    counter = iter(range(10**6))

    def read(frame: pd.DataFrame, name: str = "return"):
        return read_return(write_return(frame, folder / f"{name}_{next(counter)}.csv"))

    return read


# SYNTHETIC figures (made up, internally consistent), for rules the real figures cannot exercise:
# monthly flows, part-whole pairs, percentages and a stored history.
SYNTHETIC_FLOWS = {
    "contacts": 520,
    "referrals": 231,
    "referrals_to_assessment": 198,
    "re_referrals": 52,
    "assessments_completed": 214,
    "assessments_within_15wd": 61,
    "assessments_within_45wd": 186,
    "s47_enquiries": 78,
    "icpcs": 29,
    "icpcs_within_15wd": 26,
    "cp_plans_started": 27,
    "cla_started": 14,
    "cla_ceased": 11,
}
SYNTHETIC_STOCKS = {"cin": 1748, "cp_plans": 247, "cla": 529}


def derive_figures(row: dict) -> dict:
    """Fill every derived figure at one decimal place from the counts in `row` (text cells)."""
    from schemas.catalogue import derived_indicators

    out = dict(row)
    for indicator in derived_indicators():
        numerator, denominator = row.get(indicator.numerator, ""), row.get(indicator.denominator, "")
        if str(numerator) in ("", "x") or str(denominator) in ("", "x", "0"):
            out[indicator.column] = ""
            continue
        out[indicator.column] = f"{float(numerator) / float(denominator) * indicator.multiplier:.1f}"
    return out


def synthetic_months(
    la_code: str = "E06000009",
    la_name: str = "Blackpool",
    end: str = "2024-11",
    months: int = 15,
    population: int = 28630,
) -> pd.DataFrame:
    """SYNTHETIC: `months` consecutive consistent monthly returns ending with `end`.

    Flows vary from month to month; the rolling sums are the true sums of the flows over the
    previous 12 months (generated 11 months further back than the first row returned).
    """
    periods = pd.period_range(end=pd.Period(end, freq="M"), periods=months + 11, freq="M")
    flows = []
    for k, _ in enumerate(periods):
        wiggle = 1 + 0.08 * ((k * 7) % 5 - 2) / 2  # deterministic month-to-month variation
        flows.append({column: round(value * wiggle) for column, value in SYNTHETIC_FLOWS.items()})
    records = []
    for k in range(11, len(periods)):
        window = flows[k - 11 : k + 1]
        row = {
            "la_code": la_code,
            "la_name": la_name,
            "period": periods[k].strftime("%Y-%m"),
            "population_0_17": population,
            **flows[k],
        }
        row.update({f"{flow}_12m": sum(m[flow] for m in window) for flow in ("contacts", "referrals", "s47_enquiries")})
        row.update({stock: value + (k % 3) for stock, value in SYNTHETIC_STOCKS.items()})
        records.append(derive_figures({key: str(value) for key, value in row.items()}))
    return pd.DataFrame.from_records(records).reindex(columns=all_columns()).fillna("")
