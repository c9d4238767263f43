"""The plausibility bands (`plausibility_bands.csv`): the published range of each banded column.

Written by `python -m schemas.calibrate_bands`; read by the plausibility rule.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

BANDS_PATH = Path(__file__).with_name("plausibility_bands.csv")


@lru_cache(maxsize=1)
def plausibility_bands() -> dict[str, tuple[float, float]]:
    with BANDS_PATH.open(newline="", encoding="utf-8") as handle:
        return {row["column"]: (float(row["low"]), float(row["high"])) for row in csv.DictReader(handle)}
