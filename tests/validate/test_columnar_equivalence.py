"""The columnar rule book gives the findings the row-by-row one gave, and one wrong month no longer cascades.

The oracle is `legacy_rules.py`: the old evaluation copied verbatim. Where no month with an
error stands in another's history, the two must agree finding for finding (messages included,
in the same order); where one does, the old code reported the later months too and the new
code reports the wrong month alone.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from conftest import synthetic_months
from legacy_rules import legacy_validate_rows
from test_gx_engine import _synthetic_defects
from test_real_returns import plant_defects

from pipelines.validate.rulebook import validate_rows
from schemas.findings import ERROR

TODAY = dt.date(2026, 11, 23)


def _both(parsed, reference=None, history=None):
    new = validate_rows(parsed.values, parsed.text, reference=reference, history=history, today=TODAY)
    old = legacy_validate_rows(parsed.values, parsed.text, reference=reference, history=history, today=TODAY)
    return new, old


def test_real_returns_give_the_old_findings(real_returns, real_reference, read_frame):
    new, old = _both(read_frame(real_returns, "equivalence_real"), real_reference)
    assert new == old
    assert len(new) > 100  # mandatory_not_available on every real return: the comparison is not vacuous


def test_planted_defects_give_the_old_findings(real_returns, real_reference, read_frame):
    populations = {
        (c, int(y)): float(p)
        for c, y, p in zip(
            real_reference.populations["new_la_code"],
            real_reference.populations["year"],
            real_reference.populations["population"],
        )
    }
    frame, _ = plant_defects(real_returns, populations)
    new, old = _both(read_frame(frame, "equivalence_planted"), real_reference)
    assert new == old
    assert {f.rule for f in new if f.severity == ERROR} >= {
        "derived_inconsistent",
        "population_implausible",
        "negative_count",
        "unknown_authority",
    }


# The months before its own that each history rule reads.
LOOKBACK = {"rolling_sum_mismatch": range(1, 13), "flow_outlier": range(1, 13), "stock_jump": range(1, 2)}


def _without_cascade(old: list, new: list) -> list:
    """The old findings less those of history rules on a month that read a month held in error (by the
    new evaluation): there the old code compared against a month that is not history."""
    wrong = {(f.la_code, pd.Period(f.period, freq="M")) for f in new if f.severity == ERROR}

    def downstream(f) -> bool:
        month = pd.Period(f.period, freq="M")
        return any((f.la_code, month - k) in wrong for k in LOOKBACK[f.rule])

    return [f for f in old if not (f.rule in LOOKBACK and downstream(f))]


def test_synthetic_cross_column_defects_give_the_old_findings(read_frame):
    """Eight months with errors in a row: the old code also compared their neighbours against them."""
    new, old = _both(read_frame(_synthetic_defects(), "equivalence_synthetic"))
    assert new == _without_cascade(old, new)
    assert len(_without_cascade(old, new)) < len(old)  # the fixture does involve the cascade
    assert len({f.rule for f in new}) >= 6


def _history_slips() -> pd.DataFrame:
    """SYNTHETIC: two authorities, 15 consistent months each, history-rule slips in the newest month only."""
    first = synthetic_months(months=15)
    second = synthetic_months(la_code="E06000008", la_name="Blackburn with Darwen", months=15, population=37000)
    last = len(first) - 1
    first.iloc[last, first.columns.get_loc("contacts_12m")] = str(int(first["contacts_12m"].iloc[last]) + 50)
    first.iloc[last, first.columns.get_loc("cla")] = str(int(first["cla"].iloc[last]) * 2)
    second.iloc[last, second.columns.get_loc("referrals")] = str(int(second["referrals"].iloc[last]) * 4)
    return pd.concat([first, second], ignore_index=True)


def test_history_rules_give_the_old_findings_where_no_error_is_history(read_frame):
    new, old = _both(read_frame(_history_slips(), "equivalence_history"))
    assert new == old
    assert {f.rule for f in new} >= {"rolling_sum_mismatch", "stock_jump", "flow_outlier"}


def test_history_rules_against_stored_months_give_the_old_findings(read_frame):
    months = _history_slips()
    stored = read_frame(months[months["period"] < months["period"].max()], "equivalence_stored").values
    latest = read_frame(months[months["period"] == months["period"].max()], "equivalence_latest")
    new, old = _both(latest, history=stored)
    assert new == old
    assert {f.rule for f in new} >= {"rolling_sum_mismatch", "stock_jump", "flow_outlier"}


def test_gappy_history_gives_the_old_findings(read_frame):
    """Every third month missing: the rolling rule falls back to last month and twelve months ago."""
    months = synthetic_months(months=30)
    months = months[[k % 3 != 0 for k in range(len(months))]].copy()  # m-1 and m-12 of the newest kept
    months.iloc[-1, months.columns.get_loc("contacts_12m")] = str(int(months["contacts_12m"].iloc[-1]) - 9)
    new, old = _both(read_frame(months, "equivalence_gappy"))
    assert new == old
    assert any("last month's" in f.message for f in new)


# ---- the cascade ------------------------------------------------------------------------------

AUTHORITIES = [
    ("E06000009", "Blackpool", 28630),
    ("E06000008", "Blackburn with Darwen", 37000),
    ("E08000025", "Birmingham", 31000),
    ("E09000002", "Barking and Dagenham", 33000),
    ("E10000003", "Cambridgeshire", 35000),
]


@pytest.fixture(scope="module")
def ten_years(read_frame):
    """SYNTHETIC national-ish file: five authorities x 120 months, one month with contacts and referrals swapped."""
    frames = [
        synthetic_months(la_code=code, la_name=name, end="2025-12", months=120, population=population)
        for code, name, population in AUTHORITIES
    ]
    frame = pd.concat(frames, ignore_index=True)
    swapped = (frame["la_code"] == "E08000025") & (frame["period"] == "2020-06")
    assert swapped.sum() == 1
    frame.loc[swapped, ["contacts", "referrals"]] = frame.loc[swapped, ["referrals", "contacts"]].to_numpy()
    return read_frame(frame, "ten_years")


def test_ten_years_correct_but_one_month_raise_errors_on_that_month_only(ten_years):
    findings = validate_rows(ten_years.values, ten_years.text, today=TODAY)
    errors = [f for f in findings if f.severity == ERROR]
    assert errors, "the swapped month must be caught"
    assert {(f.la_code, f.period) for f in errors} == {("E08000025", "2020-06")}
    later = [f for f in findings if f.la_code == "E08000025" and f.period > "2020-06"]
    assert later == []  # no warning either: the wrong month is no one's history
    # Reported once: one error per rule and column on the month that caused it.
    keys = [(f.rule, f.column) for f in errors]
    assert len(keys) == len(set(keys))
    assert ("rolling_sum_mismatch", "referrals_12m") in keys and ("rolling_sum_mismatch", "contacts_12m") in keys


def test_the_old_evaluation_cascaded(ten_years):
    """Why the test above matters: the old code held back the eleven months after the wrong one."""
    old = legacy_validate_rows(ten_years.values, ten_years.text, today=TODAY)
    months = {f.period for f in old if f.severity == ERROR}
    assert len(months) >= 12 and min(months) == "2020-06"


def test_a_month_with_an_error_is_not_history_for_a_later_one_in_the_file(read_frame):
    """Last month had an error: this month's rolling sum has no accepted last month, so it is not checked
    against it; a wrong month two before the end still leaves the newest month checkable when m-1 and
    m-12 are accepted."""
    months = synthetic_months(months=14)
    wrong = len(months) - 2
    months.iloc[wrong, months.columns.get_loc("cla")] = "-1"  # a structure error on month m-1
    findings = validate_rows(*(lambda p: (p.values, p.text))(read_frame(months, "not_history")), today=TODAY)
    newest = months["period"].iloc[-1]
    assert not [f for f in findings if f.period == newest]
    assert {f.period for f in findings if f.severity == ERROR} == {months["period"].iloc[wrong]}


# ---- property: the columnar history rules are the row loop when every month is history ---------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from pipelines.validate.rulebook import history_findings  # noqa: E402
from schemas.catalogue import indicators_by_column, numeric_columns  # noqa: E402


def _history_columns() -> list[str]:
    catalogue = indicators_by_column().values()
    rolling = [i for i in catalogue if i.kind == "rolling12"]
    return sorted(
        {
            *(i.column for i in rolling),
            *(i.sums for i in rolling),
            *(i.column for i in catalogue if i.kind in ("stock", "flow")),
        }
    )


# Mostly given (so that twelve months in a row are often all held), small or wild.
_FIGURE = st.integers(0, 9).flatmap(
    lambda k: st.none() if k == 0 else st.integers(0, 60) if k < 6 else st.integers(0, 3000)
)


@st.composite
def _months(draw):
    """SYNTHETIC typed rows: one or two authorities, up to 30 months with gaps, figures small or wild."""
    columns = _history_columns()
    records = []
    for code in draw(st.sampled_from([["E06000009"], ["E06000009", "E06000008"]])):
        start = pd.Period("2022-01", freq="M") + draw(st.integers(0, 6))
        if draw(st.booleans()):  # a run of months, a few missing
            missing = draw(st.sets(st.integers(0, 29), max_size=3))
            offsets = [k for k in range(draw(st.integers(12, 30))) if k not in missing]
        else:
            offsets = draw(st.lists(st.integers(0, 29), min_size=1, max_size=22, unique=True))
        for offset in sorted(offsets):
            record = {"la_code": code, "period": (start + offset).strftime("%Y-%m"), "file": "synthetic.csv"}
            record.update({column: draw(_FIGURE) for column in columns})
            records.append(record)
    frame = pd.DataFrame.from_records(records)
    frame["row"] = range(2, len(frame) + 2)
    for column in numeric_columns():
        frame[column] = (
            frame[column].astype("Float64") if column in frame else pd.array([pd.NA] * len(frame), "Float64")
        )
    frame["la_code"], frame["period"] = frame["la_code"].astype("string"), frame["period"].astype("string")
    split = draw(st.integers(0, len(frame)))
    return frame.iloc[split:].reset_index(drop=True), frame.iloc[:split].reset_index(drop=True)


@settings(max_examples=60, deadline=None)
@given(_months())
def test_columnar_history_is_the_row_loop_when_every_month_is_history(months):
    """Rolling sums (full and from last month's), stock jumps and flow outliers, on any pattern of
    gaps and figures: the columnar rules give the row loop's findings, in its order."""
    from legacy_rules import history_findings as legacy_history_findings

    values, stored = months
    assert history_findings(values, stored) == legacy_history_findings(values, stored)
