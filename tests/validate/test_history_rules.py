"""Rolling sums and continuity against a stored history of more than a year (SYNTHETIC figures).

The history is what the warehouse holds: typed monthly figures per authority, passed to
`validate_rows` as a DataFrame; the month being validated is a new return on top of it.
"""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import synthetic_months

from pipelines.validate.rulebook import validate_rows
from schemas.findings import ERROR


@pytest.fixture(scope="module")
def months():
    return synthetic_months(end="2024-11", months=15)  # 15 stored months + 11 earlier in the rolling sums


@pytest.fixture(scope="module")
def stored(months, read_frame):
    """The 14 months before the newest, as the warehouse returns them (typed values)."""
    return read_frame(months.iloc[:-1], "history").values


def _validate(read_frame, latest: pd.DataFrame, history: pd.DataFrame | None):
    parsed = read_frame(latest, "latest")
    return parsed.findings + validate_rows(parsed.values, parsed.text, history=history)


def _rules(findings, rule):
    return [f for f in findings if f.rule == rule]


def test_history_is_longer_than_a_year(stored):
    assert stored["period"].nunique() >= 13


def test_consistent_month_on_full_history_raises_nothing(months, stored, read_frame):
    assert _validate(read_frame, months.iloc[[-1]], stored) == []


def test_rolling_sum_that_disagrees_with_the_twelve_months_held_is_an_error(months, stored, read_frame):
    latest = months.iloc[[-1]].copy()
    latest["referrals_12m"] = str(int(latest["referrals_12m"].iloc[0]) + 40)
    latest = latest.assign(referral_rate_per_10k="")  # keep the slip to the one rule under test
    findings = _validate(read_frame, latest, stored)
    errors = [f for f in findings if f.severity == ERROR]
    assert [(f.rule, f.column) for f in errors] == [("rolling_sum_mismatch", "referrals_12m")]
    expected = sum(int(v) for v in months["referrals"].iloc[-12:])
    assert errors[0].expected == f"{expected:,}"
    assert "12 monthly referrals figures held" in errors[0].message


def test_monthly_figure_in_the_rolling_column_is_caught(months, stored, read_frame):
    latest = months.iloc[[-1]].copy()
    latest["s47_enquiries_12m"] = latest["s47_enquiries"]
    latest = latest.assign(s47_rate_per_10k="")
    findings = _validate(read_frame, latest, stored)
    assert [(f.rule, f.column) for f in findings if f.severity == ERROR] == [
        ("rolling_sum_mismatch", "s47_enquiries_12m")
    ]


def test_with_gaps_the_rule_uses_last_month_and_twelve_months_ago(months, stored, read_frame):
    """Only m-1 and m-12 held: x_12m(m) - x_12m(m-1) must equal x(m) - x(m-12)."""
    latest_period = months["period"].iloc[-1]
    keep = {(pd.Period(latest_period, freq="M") - k).strftime("%Y-%m") for k in (1, 12)}
    gappy = stored[stored["period"].isin(keep)]
    assert len(gappy) == 2
    assert _rules(_validate(read_frame, months.iloc[[-1]], gappy), "rolling_sum_mismatch") == []
    latest = months.iloc[[-1]].copy()
    latest["contacts_12m"] = str(int(latest["contacts_12m"].iloc[0]) - 7)
    found = _rules(_validate(read_frame, latest, gappy), "rolling_sum_mismatch")
    assert [(f.column, f.severity) for f in found] == [("contacts_12m", ERROR)]
    assert "last month's" in found[0].message


def test_too_little_history_checks_nothing(months, stored, read_frame):
    """Without month m-12 the rolling sum cannot be checked: no finding, right or wrong."""
    latest = months.iloc[[-1]].copy()
    latest["contacts_12m"] = str(int(latest["contacts_12m"].iloc[0]) + 1000)
    latest = latest.assign(contacts_to_referral_percent="")
    recent = stored[stored["period"] >= months["period"].iloc[-6]]
    assert _rules(_validate(read_frame, latest, recent), "rolling_sum_mismatch") == []


def test_resubmission_overrides_the_stored_month(months, stored, read_frame):
    """A corrected month in the same file as the new one is used instead of the stored figure."""
    both = months.iloc[[-2, -1]].copy()
    both.iloc[0, both.columns.get_loc("referrals")] = str(int(both["referrals"].iloc[0]) + 3)
    both.iloc[0, both.columns.get_loc("referrals_12m")] = str(int(both["referrals_12m"].iloc[0]) + 3)
    both = both.assign(
        referral_rate_per_10k="",
        contacts_to_referral_percent="",
        referral_to_assessment_percent="",
        re_referral_percent="",
    )
    # The newest month's rolling sum now disagrees with the corrected previous month.
    found = _rules(_validate(read_frame, both, stored), "rolling_sum_mismatch")
    assert [(f.period, f.column) for f in found] == [(months["period"].iloc[-1], "referrals_12m")]


@pytest.mark.parametrize("change, flagged", [(0.30, True), (-0.25, True), (0.15, False), (-0.10, False)])
def test_stock_jump_is_a_warning_beyond_a_fifth(months, stored, read_frame, change, flagged):
    latest = months.iloc[[-1]].copy()
    previous = int(stored["cla"].iloc[-1])
    latest["cla"] = str(round(previous * (1 + change)))
    latest = latest.assign(cla_rate_per_10k="")
    found = _rules(_validate(read_frame, latest, stored), "stock_jump")
    assert [(f.column, f.severity) for f in found] == ([("cla", "warning")] if flagged else [])


def test_small_stock_moves_by_a_few_children_without_a_query(read_frame):
    small = synthetic_months(la_code="E06000053", la_name="Isles of Scilly", months=3, population=400)
    small["cp_plans"] = ["4", "6", "12"]  # +50 % and +100 %, but fewer than 10 children
    small = small.assign(cin="30", cla="3", cin_rate_per_10k="", cp_rate_per_10k="", cla_rate_per_10k="")
    parsed = read_frame(small, "small")
    assert _rules(validate_rows(parsed.values, parsed.text), "stock_jump") == []


@pytest.mark.parametrize("factor, flagged", [(3.0, True), (0.3, True), (1.8, False), (0.6, False)])
def test_flow_far_from_its_own_history_is_a_query(months, stored, read_frame, factor, flagged):
    latest = months.iloc[[-1]].copy()
    usual = float(stored["contacts"].iloc[-12:].median())
    latest["contacts"] = str(round(usual * factor))
    latest = latest.assign(contacts_to_referral_percent="", contacts_12m="")  # one rule under test
    found = _rules(_validate(read_frame, latest, stored), "flow_outlier")
    assert [(f.column, f.severity) for f in found] == ([("contacts", "warning")] if flagged else [])
    if flagged:
        assert found[0].expected == f"{usual:,.0f}" or found[0].expected == f"{usual:,.4f}".rstrip("0").rstrip(".")


def test_history_rules_give_the_same_findings_whatever_the_block_of_rows(months, stored, read_frame, monkeypatch):
    """A million rows are evaluated a block of rows at a time (memory); blocks must not change a finding."""
    import pipelines.validate.history as history

    two = pd.concat(
        [months, synthetic_months(la_code="E06000008", la_name="Blackburn with Darwen", months=15)], ignore_index=True
    )
    two.loc[13, "contacts"] = str(int(two.loc[13, "contacts"]) * 4)  # a flow outlier
    two.loc[28, "referrals_12m"] = str(int(two.loc[28, "referrals_12m"]) + 40)  # a rolling sum that disagrees
    two.loc[25, "cla"] = str(int(two.loc[25, "cla"]) * 2)  # a stock jump
    parsed = read_frame(two, "two_authorities")
    whole = validate_rows(parsed.values, parsed.text)
    monkeypatch.setattr(history, "HISTORY_BLOCK_ROWS", 4)
    blocks = validate_rows(parsed.values, parsed.text)
    assert {"flow_outlier", "rolling_sum_mismatch", "stock_jump"} <= {f.rule for f in whole}
    assert blocks == whole
