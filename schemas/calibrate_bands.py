"""Calibrate the plausibility bands (`schemas/plausibility_bands.csv`) on published figures.

    python -m schemas.calibrate_bands [REFERENCE_FOLDER]    # default ../shared/reference

Method, per banded column:
1. Take every published local-authority value (regions and England left out) of the LAIT
   indicator that measures the same thing, 2016 to 2022, and the 2025 spread across
   authorities that the return standard quotes (min / max).
2. Scale to the return's unit. Stock rates (children on a plan, in need, looked after at
   the end of a month, per 10,000) compare directly with the 31 March stock rates. Flow rates
   in a return are over the rolling 12 months ending with the month, so they compare directly
   with annual (financial-year) rates; a monthly flow rate would be about 1/12 of them.
   Percentages compare directly.
3. Widen the observed min / max by WIDEN (10 %) of the value and round outward to a whole
   number, so that a real return a little beyond anything published yet only raises a query
   when it is clearly odd; percentages never go beyond 0 and 100.

The bands include the smallest authorities (City of London, Isles of Scilly): their returns
are real returns, so their published extremes are what a band must admit. A unit mistake
(a rate per 100,000, a count typed into a rate) still lands far outside.
"""

from __future__ import annotations

import csv
import io
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from schemas.bands import BANDS_PATH
from schemas.catalogue import indicators_by_column

DEFAULT_REFERENCE = Path(__file__).resolve().parents[1] / ".." / "shared" / "reference"
LAIT_FILE = "lait_csc_indicators_2016_to_2022.csv"
WIDEN = 0.10
LA_CODE_PREFIXES = ("E06", "E08", "E09", "E10")
BAND_COLUMNS = ["column", "low", "high", "basis", "source", "method"]


@dataclass(frozen=True)
class BandSource:
    column: str
    lait_indicator: str
    basis: str  # stock | rolling12 | percent: how the return's figure compares with the published one
    spread_2025: tuple[float, float] | None  # min / max quoted in the return standard, if any


# Published 2025 spread across authorities as the return standard quotes it (min, max).
SOURCES = [
    BandSource("referral_rate_per_10k", "CPP_Total_Rateper10,000", "rolling12", (173, 2083)),
    BandSource("s47_rate_per_10k", "Section_47", "rolling12", (43, 541)),
    BandSource("cp_rate_per_10k", "CPP_rate", "stock", (14, 99)),
    BandSource("cin_rate_per_10k", "CIN", "stock", (178, 815)),
    BandSource("cla_rate_per_10k", "LAC", "stock", (27, 184)),
    BandSource("re_referral_percent", "ReReferral", "percent", (0, 47)),
    BandSource("assessments_within_45wd_percent", "Continue_Assess_Comp", "percent", (54, 100)),
]
# Not banded: conferences within 15 working days (LAIT CP_conf_15days) spans 0 to 100 among
# real authorities, so its band would say no more than the structural 0-100 rule.
BASIS_NOTE = {
    "stock": "stock rate at the end of the month compared directly with the 31 March rate",
    "rolling12": "rolling 12-month rate compared directly with the financial-year rate",
    "percent": "percentage compared directly",
}


def published_values(reference: Path, indicator: str) -> pd.Series:
    """Every local-authority value of one LAIT indicator, 2016-2022 (missing `-` dropped)."""
    lait = pd.read_csv(reference / LAIT_FILE, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    rows = lait[(lait["short_desc"] == indicator) & lait["new_la_code"].str[:3].isin(LA_CODE_PREFIXES)]
    return pd.to_numeric(rows["value_num"], errors="coerce").dropna()


def calibrate(reference: Path) -> pd.DataFrame:
    records = []
    for source in SOURCES:
        unit = indicators_by_column()[source.column].unit
        values = published_values(reference, source.lait_indicator)
        if values.empty:
            raise ValueError(f"{LAIT_FILE} holds no local-authority values of {source.lait_indicator}")
        observed_low, observed_high = float(values.min()), float(values.max())
        low, high = observed_low, observed_high
        sources = [f"DfE LAIT {source.lait_indicator} 2016-2022 ({len(values)} authority-years)"]
        if source.spread_2025:
            low, high = min(low, source.spread_2025[0]), max(high, source.spread_2025[1])
            sources.append("published 2025 spread quoted in the return standard")
        low, high = math.floor(low * (1 - WIDEN)), math.ceil(high * (1 + WIDEN))
        if unit == "percent":
            low, high = max(low, 0), min(high, 100)
        records.append(
            {
                "column": source.column,
                "low": low,
                "high": high,
                "basis": source.basis,
                "source": "; ".join(sources),
                "method": (
                    f"{BASIS_NOTE[source.basis]}; observed LAIT min {observed_low:g} max {observed_high:g}"
                    + (
                        f", 2025 min {source.spread_2025[0]:g} max {source.spread_2025[1]:g}"
                        if source.spread_2025
                        else ""
                    )
                    + f"; widened by {WIDEN:.0%} and rounded outward"
                    + ("; clamped to 0-100" if unit == "percent" else "")
                ),
            }
        )
    return pd.DataFrame.from_records(records, columns=BAND_COLUMNS)


def bands_csv(bands: pd.DataFrame) -> str:
    buffer = io.StringIO()
    bands.to_csv(buffer, index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    reference = Path(argv[0]) if argv else DEFAULT_REFERENCE
    if not (reference / LAIT_FILE).exists():
        print(f"calibrate_bands: {reference / LAIT_FILE} not found", file=sys.stderr)
        return 2
    BANDS_PATH.write_text(bands_csv(calibrate(reference)), encoding="utf-8")
    print(f"wrote {BANDS_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
