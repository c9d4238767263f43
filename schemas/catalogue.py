"""The return standard as data: the indicator catalogue in `indicators.csv`.

Adding an indicator is a new row in the CSV, not new code: the pandera schema, the
consistency rules, the published columns and the metadata are all built from it.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

CATALOGUE_PATH = Path(__file__).with_name("indicators.csv")

REQUIRED_COLUMNS = ("la_code", "period", "population_0_17")
# Whole-value patterns (use with fullmatch): an upper-tier authority's ONS code, a month.
LA_CODE_PATTERN = r"E(06|08|09|10)\d{6}"
PERIOD_PATTERN = r"\d{4}-(0[1-9]|1[0-2])"


@dataclass(frozen=True)
class Indicator:
    column: str
    label: str
    unit: str  # code | text | month | count | percent | rate_per_10k
    kind: str  # identity | population | flow | rolling12 | stock | derived
    numerator: str | None
    denominator: str | None
    multiplier: int | None
    sums: str | None  # for a rolling twelve-month column: the monthly flow it sums
    part_of: str | None  # a whole this count is part of
    part_check: str | None  # error: part_exceeds_whole applies; warning: a named rule queries it
    polarity: str | None  # high | low | none (as in DfE's LAIT)
    mandatory: bool
    publish_dp: int | None

    @property
    def is_numeric(self) -> bool:
        return self.unit in ("count", "percent", "rate_per_10k")

    @property
    def is_count(self) -> bool:
        return self.unit == "count"

    @property
    def is_derived(self) -> bool:
        return self.kind == "derived"


def _blank_to_none(value: str) -> str | None:
    value = value.strip()
    return value or None


@lru_cache(maxsize=1)
def load_catalogue() -> tuple[Indicator, ...]:
    with CATALOGUE_PATH.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    indicators = []
    for row in rows:
        multiplier = _blank_to_none(row["multiplier"])
        publish_dp = _blank_to_none(row["publish_dp"])
        indicators.append(
            Indicator(
                column=row["column"],
                label=row["label"],
                unit=row["unit"],
                kind=row["kind"],
                numerator=_blank_to_none(row["numerator"]),
                denominator=_blank_to_none(row["denominator"]),
                multiplier=int(multiplier) if multiplier else None,
                sums=_blank_to_none(row["sums"]),
                part_of=_blank_to_none(row["part_of"]),
                part_check=_blank_to_none(row["part_check"]),
                polarity=_blank_to_none(row["polarity"]),
                mandatory=row["mandatory"] == "yes",
                publish_dp=int(publish_dp) if publish_dp else None,
            )
        )
    return tuple(indicators)


@lru_cache(maxsize=1)
def indicators_by_column() -> dict[str, Indicator]:
    return {indicator.column: indicator for indicator in load_catalogue()}


def all_columns() -> list[str]:
    return [indicator.column for indicator in load_catalogue()]


def numeric_columns() -> list[str]:
    return [i.column for i in load_catalogue() if i.is_numeric]


def strict_parts() -> list[tuple[str, str]]:
    """(part, whole) pairs where a part above its whole is an error (`part_check` = error)."""
    return [(i.column, i.part_of) for i in load_catalogue() if i.part_of and i.part_check == "error"]


def derived_indicators() -> list[Indicator]:
    return [i for i in load_catalogue() if i.is_derived]


def mandatory_indicators() -> list[str]:
    return [i.column for i in load_catalogue() if i.mandatory and i.kind not in ("identity", "population")]
