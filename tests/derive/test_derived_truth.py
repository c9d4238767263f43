"""Every figure derived from a SYNTHETIC Annex A workbook equals the generator's known truth, over
many seeds and extract dates, clean or in the messy forms real workbooks take."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.demo.annex_a_synthetic import FIGURES, SyntheticAnnexA, synthetic_annex_a, workbook_bytes
from pipelines.derive.months import derive_return
from pipelines.ingest.annex_a import ChildLevel, read_annex_a
from pipelines.ingest.pseudonyms import ephemeral_key


def _derived(synthetic: SyntheticAnnexA, messy: bool, seed: int = 0, name: str | None = None) -> ChildLevel:
    data = workbook_bytes(synthetic, messy=messy, seed=seed)
    return read_annex_a(data, name or synthetic.file_name, ephemeral_key())


def _as_truth(rows: pd.DataFrame) -> dict[str, dict[str, int | None]]:
    return {
        row["period"]: {figure: None if pd.isna(row[figure]) else int(row[figure]) for figure in FIGURES}
        for _, row in rows.iterrows()
    }


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**31),
    extract_date=st.dates(dt.date(2012, 7, 1), dt.date(2028, 6, 30)),
    children=st.integers(20, 200),
)
def test_every_derived_figure_equals_the_truth_clean_and_messy(seed, extract_date, children):
    synthetic = synthetic_annex_a(seed, extract_date=extract_date, children=children)
    clean = _derived(synthetic, messy=False)
    messy = _derived(synthetic, messy=True, seed=seed)
    assert [f for f in clean.findings if f.severity == "error"] == []
    assert [f for f in messy.findings if f.severity == "error"] == []
    for read in (clean, messy):
        rows = derive_return([read]).rows
        assert set(rows["la_code"]) == {synthetic.la_code}
        assert _as_truth(rows) == synthetic.truth


def test_the_latest_extract_covering_a_month_decides_it():
    january = synthetic_annex_a(5, extract_date=dt.date(2024, 1, 31))
    # A month later the authority corrected its records: one December contact was recorded twice.
    corrected_lists = dict(january.lists)
    december = [r for r in january.lists[1] if r["Date of Contact"].month == 12]
    corrected_lists[1] = [r for r in january.lists[1] if r is not december[0]]
    february = dataclasses.replace(january, extract_date=dt.date(2024, 2, 29), lists=corrected_lists)
    rows = derive_return([_derived(february, False), _derived(january, False)]).rows.set_index("period")
    assert list(rows.index) == ["2023-08", "2023-09", "2023-10", "2023-11", "2023-12", "2024-01", "2024-02"]
    assert rows.loc["2023-08", "extract_date"] == "2024-01-31"
    assert set(rows.loc["2023-09":, "extract_date"]) == {"2024-02-29"}
    assert rows.loc["2023-12", "contacts"] == january.truth["2023-12"]["contacts"] - 1
    assert rows.loc["2023-11", "contacts"] == january.truth["2023-11"]["contacts"]


def test_twelve_month_sums_only_where_all_twelve_months_are_derived():
    summer = synthetic_annex_a(11, extract_date=dt.date(2023, 7, 31))
    winter = synthetic_annex_a(12, extract_date=dt.date(2024, 1, 31))
    rows = derive_return([_derived(summer, False), _derived(winter, False)]).rows.set_index("period")
    truth = {**summer.truth, **winter.truth}
    assert list(rows.index) == sorted(truth)
    for figure in ("contacts", "referrals", "s47_enquiries"):
        assert rows.loc["2024-01", f"{figure}_12m"] == sum(month[figure] for month in truth.values())
        assert rows.loc[:"2023-12", f"{figure}_12m"].isna().all()


def test_a_workbook_without_authority_or_extract_date_derives_nothing():
    synthetic = synthetic_annex_a(3)
    data = workbook_bytes(synthetic, front_sheet=False)
    read = read_annex_a(data, "annex_a.xlsx", ephemeral_key())
    assert not read.derivable
    assert {f.rule for f in read.findings} == {"child_level_authority_unknown", "child_level_extract_date_unknown"}
    assert derive_return([read]).rows.empty
    given_by_caller = read_annex_a(
        data, "annex_a.xlsx", ephemeral_key(), la_code="E06000009", extract_date=synthetic.extract_date
    )
    assert _as_truth(derive_return([given_by_caller]).rows) == synthetic.truth


def test_a_missing_list_leaves_its_figures_blank_and_the_others_whole():
    synthetic = synthetic_annex_a(4)
    without_plans = dataclasses.replace(synthetic, lists={n: rows for n, rows in synthetic.lists.items() if n != 7})
    read = _derived(without_plans, False)
    [missing] = [f for f in read.findings if f.rule == "child_level_list_missing"]
    assert "list 7 (child protection plans)" in missing.message
    rows = derive_return([read]).rows
    for figure in ("cp_plans", "cp_plans_started", "cin"):
        assert rows[figure].isna().all(), figure
    truth = _as_truth(rows)
    for period, figures in synthetic.truth.items():
        for figure in ("contacts", "referrals", "cla", "assessments_completed"):
            assert truth[period][figure] == figures[figure]
