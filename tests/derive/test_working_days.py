"""Working days against a FIXED list of England and Wales bank holidays 2012-2028, written here by
hand from GOV.UK's announcements (2027 and 2028 as the usual rules give them, not yet announced)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from pipelines.derive.working_days import bank_holidays, working_days_after

D = dt.date
ENGLAND_AND_WALES_BANK_HOLIDAYS = [
    # 2012: spring bank holiday moved to 4 June, and 5 June for the Diamond Jubilee
    D(2012, 1, 2), D(2012, 4, 6), D(2012, 4, 9), D(2012, 5, 7), D(2012, 6, 4), D(2012, 6, 5), D(2012, 8, 27), D(2012, 12, 25), D(2012, 12, 26),
    D(2013, 1, 1), D(2013, 3, 29), D(2013, 4, 1), D(2013, 5, 6), D(2013, 5, 27), D(2013, 8, 26), D(2013, 12, 25), D(2013, 12, 26),
    D(2014, 1, 1), D(2014, 4, 18), D(2014, 4, 21), D(2014, 5, 5), D(2014, 5, 26), D(2014, 8, 25), D(2014, 12, 25), D(2014, 12, 26),
    D(2015, 1, 1), D(2015, 4, 3), D(2015, 4, 6), D(2015, 5, 4), D(2015, 5, 25), D(2015, 8, 31), D(2015, 12, 25), D(2015, 12, 28),
    D(2016, 1, 1), D(2016, 3, 25), D(2016, 3, 28), D(2016, 5, 2), D(2016, 5, 30), D(2016, 8, 29), D(2016, 12, 26), D(2016, 12, 27),
    D(2017, 1, 2), D(2017, 4, 14), D(2017, 4, 17), D(2017, 5, 1), D(2017, 5, 29), D(2017, 8, 28), D(2017, 12, 25), D(2017, 12, 26),
    D(2018, 1, 1), D(2018, 3, 30), D(2018, 4, 2), D(2018, 5, 7), D(2018, 5, 28), D(2018, 8, 27), D(2018, 12, 25), D(2018, 12, 26),
    D(2019, 1, 1), D(2019, 4, 19), D(2019, 4, 22), D(2019, 5, 6), D(2019, 5, 27), D(2019, 8, 26), D(2019, 12, 25), D(2019, 12, 26),
    # 2020: the early May bank holiday moved to Friday 8 May (VE Day)
    D(2020, 1, 1), D(2020, 4, 10), D(2020, 4, 13), D(2020, 5, 8), D(2020, 5, 25), D(2020, 8, 31), D(2020, 12, 25), D(2020, 12, 28),
    D(2021, 1, 1), D(2021, 4, 2), D(2021, 4, 5), D(2021, 5, 3), D(2021, 5, 31), D(2021, 8, 30), D(2021, 12, 27), D(2021, 12, 28),
    # 2022: spring bank holiday moved to 2 June, 3 June (Platinum Jubilee), 19 September (the Queen's funeral)
    D(2022, 1, 3), D(2022, 4, 15), D(2022, 4, 18), D(2022, 5, 2), D(2022, 6, 2), D(2022, 6, 3), D(2022, 8, 29), D(2022, 9, 19), D(2022, 12, 26), D(2022, 12, 27),
    # 2023: 8 May for the Coronation
    D(2023, 1, 2), D(2023, 4, 7), D(2023, 4, 10), D(2023, 5, 1), D(2023, 5, 8), D(2023, 5, 29), D(2023, 8, 28), D(2023, 12, 25), D(2023, 12, 26),
    D(2024, 1, 1), D(2024, 3, 29), D(2024, 4, 1), D(2024, 5, 6), D(2024, 5, 27), D(2024, 8, 26), D(2024, 12, 25), D(2024, 12, 26),
    D(2025, 1, 1), D(2025, 4, 18), D(2025, 4, 21), D(2025, 5, 5), D(2025, 5, 26), D(2025, 8, 25), D(2025, 12, 25), D(2025, 12, 26),
    D(2026, 1, 1), D(2026, 4, 3), D(2026, 4, 6), D(2026, 5, 4), D(2026, 5, 25), D(2026, 8, 31), D(2026, 12, 25), D(2026, 12, 28),
    D(2027, 1, 1), D(2027, 3, 26), D(2027, 3, 29), D(2027, 5, 3), D(2027, 5, 31), D(2027, 8, 30), D(2027, 12, 27), D(2027, 12, 28),
    D(2028, 1, 3), D(2028, 4, 14), D(2028, 4, 17), D(2028, 5, 1), D(2028, 5, 29), D(2028, 8, 28), D(2028, 12, 25), D(2028, 12, 26),
]  # fmt: skip


def test_the_bank_holidays_on_weekdays_2012_to_2028_are_exactly_the_fixed_list():
    days = [d.astype(dt.date) for d in bank_holidays()]
    weekdays = sorted(d for d in days if 2012 <= d.year <= 2028 and d.weekday() < 5)
    assert weekdays == sorted(ENGLAND_AND_WALES_BANK_HOLIDAYS)


def _after(start: dt.date, end: dt.date) -> int:
    return int(working_days_after(pd.Series([pd.Timestamp(start)]), pd.Series([pd.Timestamp(end)])).iloc[0])


@pytest.mark.parametrize(
    ("start", "end", "days"),
    [
        (D(2024, 1, 8), D(2024, 1, 15), 5),  # Monday to the next Monday, the standard's example
        (D(2024, 1, 8), D(2024, 1, 8), 0),
        (D(2024, 1, 12), D(2024, 1, 15), 1),  # Friday to Monday
        (D(2024, 1, 13), D(2024, 1, 14), 0),  # a weekend
        (D(2022, 9, 16), D(2022, 9, 20), 1),  # over the Queen's funeral
        (D(2022, 6, 1), D(2022, 6, 6), 1),  # over the Platinum Jubilee
        (D(2023, 12, 22), D(2024, 1, 2), 4),  # Christmas, Boxing Day, New Year's Day
        (D(2012, 6, 1), D(2012, 6, 8), 3),  # the Diamond Jubilee
    ],
)
def test_working_days_after_a_start_up_to_and_including_the_end(start, end, days):
    assert _after(start, end) == days


def test_every_weekday_of_the_fixed_years_counts_unless_the_list_names_it():
    """Day by day over 2012-2028 (one day at a time, against the fixed list) equals the column count."""
    fixed = set(ENGLAND_AND_WALES_BANK_HOLIDAYS)
    starts = pd.Series(pd.date_range("2012-01-01", "2028-11-20", freq="17D"))
    ends = starts + pd.Timedelta(days=40)
    counted = working_days_after(starts, ends)
    for start, end, days in zip(starts, ends, counted):
        day, expected = start.date(), 0
        while day < end.date():
            day += dt.timedelta(days=1)
            expected += day.weekday() < 5 and day not in fixed
        assert days == expected, (start, end)


def test_a_missing_date_gives_no_count():
    counted = working_days_after(
        pd.Series([pd.NaT, pd.Timestamp("2024-01-08")]), pd.Series([pd.Timestamp("2024-01-09"), pd.NaT])
    )
    assert counted.isna().all()
    assert np.issubdtype(bank_holidays().dtype, np.datetime64)
