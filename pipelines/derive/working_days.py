"""Working days: Monday to Friday except the bank holidays of England and Wales (the `holidays`
package, offline; years not yet announced are its projections), counted over whole columns."""

from __future__ import annotations

from functools import lru_cache

import holidays
import numpy as np
import pandas as pd

FIRST_YEAR, LAST_YEAR = 2000, 2040


@lru_cache(maxsize=1)
def bank_holidays() -> np.ndarray:
    """England and Wales bank holidays FIRST_YEAR to LAST_YEAR, moved and one-off days included (datetime64[D])."""
    days = holidays.country_holidays("GB", subdiv="ENG", years=range(FIRST_YEAR, LAST_YEAR + 1))
    return np.array(sorted(days), dtype="datetime64[D]")


def working_days_after(start: pd.Series, end: pd.Series) -> pd.Series:
    """Working days after each `start` up to and including its `end` (Int64; missing where either
    date is): started on a Monday and ended on the next Monday is 5."""
    known = (start.notna() & end.notna()).to_numpy(dtype=bool)
    first = start.to_numpy(dtype="datetime64[D]")[known] + np.timedelta64(1, "D")
    last = end.to_numpy(dtype="datetime64[D]")[known] + np.timedelta64(1, "D")
    counts = np.zeros(len(start), dtype="int64")
    counts[known] = np.busday_count(first, last, holidays=bank_holidays())
    return pd.Series(counts, index=start.index, dtype="Int64").where(known)
