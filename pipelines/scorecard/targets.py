"""Improvement board targets, as data: the file format and its checks.

Targets are data, one CSV (per authority or for many), with these columns:

| column | meaning |
| --- | --- |
| `la_code` | the authority the target belongs to |
| `indicator` | a column of the return standard (`cla`, `referral_to_assessment_percent`, ...) |
| `target` | the figure to reach, in the indicator's own unit |
| `polarity` | `high` (at or above the target is met) or `low` (at or below is met) |
| `amber_tolerance` | how far on the wrong side of the target, in the indicator's unit, is still amber |
| `from_month` | `YYYY-MM`: the target applies from this month until a later row for the same indicator |
| `source` | optional: where the target comes from |
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from schemas.catalogue import PERIOD_PATTERN, indicators_by_column

TARGET_COLUMNS = ["la_code", "indicator", "target", "polarity", "amber_tolerance", "from_month"]
POLARITIES = ("high", "low")


class TargetsError(ValueError):
    """A targets file that cannot be used; the message says which row and why."""


def load_targets(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    frame.columns = [c.strip().lower() for c in frame.columns]
    return validate_targets(frame, Path(path).name)


def validate_targets(frame: pd.DataFrame, name: str = "targets") -> pd.DataFrame:
    missing = [c for c in TARGET_COLUMNS if c not in frame.columns]
    if missing:
        raise TargetsError(f"{name}: missing column(s) {', '.join(missing)}")
    out = frame.copy()
    known = indicators_by_column()
    for number, row in enumerate(out.to_dict(orient="records"), start=2):
        where = f"{name} row {number}"
        if (
            row["indicator"] not in known
            or not known[row["indicator"]].is_numeric
            or known[row["indicator"]].kind == "population"
        ):
            raise TargetsError(f"{where}: '{row['indicator']}' is not an indicator of the return standard")
        if str(row["polarity"]).strip().lower() not in POLARITIES:
            raise TargetsError(f"{where}: polarity '{row['polarity']}' must be high or low")
        if not re.fullmatch(PERIOD_PATTERN, str(row["from_month"]).strip()):
            raise TargetsError(f"{where}: from_month '{row['from_month']}' is not a month written YYYY-MM")
        for column in ("target", "amber_tolerance"):
            number_value = pd.to_numeric(pd.Series([row[column]]), errors="coerce").iloc[0]
            if pd.isna(number_value) or number_value < 0:
                raise TargetsError(f"{where}: {column} '{row[column]}' is not a number >= 0")
    out["polarity"] = out["polarity"].str.strip().str.lower()
    out["from_month"] = out["from_month"].str.strip()
    out["target"] = pd.to_numeric(out["target"])
    out["amber_tolerance"] = pd.to_numeric(out["amber_tolerance"])
    duplicated = out.duplicated(["la_code", "indicator", "from_month"])
    if duplicated.any():
        row = out[duplicated].iloc[0]
        raise TargetsError(f"{name}: two targets for {row['la_code']} {row['indicator']} from {row['from_month']}")
    return out
