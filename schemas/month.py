"""The month: the period of a return, written YYYY-MM, and every calculation on months.

One type, `Month`, for every "k months earlier", "the months from A to B", "the last completed
month" and "a span of months in words", scalar or over a column (`ordinals`). Months travel
between stages as their text (partition keys, warehouse columns); arithmetic is done here.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd

# Whole-value pattern of a month (use with fullmatch).
PERIOD_PATTERN = r"\d{4}-(0[1-9]|1[0-2])"
_PERIOD = re.compile(PERIOD_PATTERN)
MONTH_NAMES = tuple(calendar.month_name[1:])


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month as a count of months since year 0 (`year * 12 + month - 1`)."""

    ordinal: int

    @classmethod
    def parse(cls, text: str | Month) -> Month:
        """`Month.parse("2024-06")`; ValueError for anything not written YYYY-MM."""
        if isinstance(text, Month):
            return text
        if not isinstance(text, str) or not _PERIOD.fullmatch(text):
            raise ValueError(f"'{text}' is not a month written YYYY-MM")
        return cls.of(int(text[:4]), int(text[5:7]))

    @classmethod
    def of(cls, year: int, month: int) -> Month:
        if not 1 <= month <= 12:
            raise ValueError(f"month {month} of {year} is not 1 to 12")
        return cls(year * 12 + month - 1)

    @classmethod
    def containing(cls, day: dt.date) -> Month:
        return cls.of(day.year, day.month)

    @classmethod
    def last_completed(cls, today: dt.date | None = None) -> Month:
        """The month before today's: the latest whose figures can be returned."""
        return cls.containing(today or dt.date.today()) - 1

    @property
    def year(self) -> int:
        return self.ordinal // 12

    @property
    def number(self) -> int:
        """1 for January to 12 for December."""
        return self.ordinal % 12 + 1

    @property
    def name(self) -> str:
        """`December`."""
        return MONTH_NAMES[self.number - 1]

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, self.number, 1)

    @property
    def financial_year(self) -> int:
        """The calendar year the financial year holding this month starts in (April to March)."""
        return self.year if self.number >= 4 else self.year - 1

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.number:02d}"

    def __add__(self, months: int) -> Month:
        return Month(self.ordinal + months)

    def __sub__(self, months: int) -> Month:
        return Month(self.ordinal - months)

    def months_since(self, earlier: Month) -> int:
        """How many months after `earlier` this one is (negative when before it)."""
        return self.ordinal - earlier.ordinal

    def through(self, last: Month) -> list[Month]:
        """This month and every one after it up to `last`, in order (empty when `last` is earlier)."""
        return [Month(ordinal) for ordinal in range(self.ordinal, last.ordinal + 1)]


def is_month(text: object) -> bool:
    """Whether `text` is a month written YYYY-MM."""
    return isinstance(text, str) and bool(_PERIOD.fullmatch(text))


def months_after(month: str | Month, count: int) -> list[str]:
    """The `count` months after `month`, as text."""
    start = Month.parse(month)
    return [str(start + k) for k in range(1, count + 1)]


def consecutive_ranges(months: Iterable[str | Month]) -> list[tuple[str, str]]:
    """Runs of consecutive months as (first, last): [2024-01, 2024-02, 2024-05] ->
    [(2024-01, 2024-02), (2024-05, 2024-05)]."""
    ranges: list[tuple[Month, Month]] = []
    for month in sorted({Month.parse(m) for m in months}):
        if ranges and month.months_since(ranges[-1][1]) == 1:
            ranges[-1] = (ranges[-1][0], month)
        else:
            ranges.append((month, month))
    return [(str(first), str(last)) for first, last in ranges]


def span_text(months: Sequence[str | Month]) -> str:
    """A list of months in words as a steward reads it: `none`, `2024-06`, `2024-01 to 2025-03`."""
    ordered = sorted(str(m) for m in months)
    if not ordered:
        return "none"
    return ordered[0] if len(ordered) == 1 else f"{ordered[0]} to {ordered[-1]}"


def ordinals(period: pd.Series) -> pd.Series:
    """Each cell's `Month.ordinal` over a whole column (Int64; missing where not YYYY-MM)."""
    text = period.astype("string")
    valid = text.str.fullmatch(PERIOD_PATTERN).fillna(False).astype(bool)
    text = text.where(valid, "0000-01")
    numbers = text.str[:4].astype("Int64") * 12 + text.str[5:7].astype("Int64") - 1
    return numbers.where(valid, pd.NA)
