"""The Great Expectations engine and the pandas engine give the same findings.

GX costs seconds to import, so every test here shares the runs made once in module fixtures.
"""
from __future__ import annotations

import pandas as pd
import pytest
from conftest import synthetic_months
from test_real_returns import plant_defects

from pipelines.validate.cross_column import cross_column_findings, derived_frame
from pipelines.validate.rulebook import validate_rows
from schemas.catalogue import derived_indicators, strict_parts

pytestmark = pytest.mark.filterwarnings("ignore")


def _synthetic_defects() -> pd.DataFrame:
    """SYNTHETIC months, one cross-column mistake per row (and two clean rows)."""
    frame = synthetic_months(months=10)
    edits = [
        {"re_referrals": "300"},                                   # part above its whole
        {"assessments_within_15wd": "200"},                        # 15 wd above 45 wd
        {"icpcs_within_15wd": "40"},                               # part above its whole
        {"referral_to_assessment_percent": "58.1"},                # percentage inconsistent
        {"contacts": "", "contacts_12m": ""},                      # percentage without its denominator
        {"contacts": "0"},                                         # percentage over zero (and referrals > contacts)
        {"cp_plans": "1500"},                                      # plans + looked after above cin, rate off
        {"cin": "x", "cin_rate_per_10k": "610.5"},                # rate without its count
    ]
    for position, edit in enumerate(edits):
        for column, value in edit.items():
            frame.iloc[position, frame.columns.get_loc(column)] = value
    return frame


@pytest.fixture(scope="module")
def planted(real_returns, real_reference, read_frame):
    populations = {(c, int(y)): float(p) for c, y, p in zip(real_reference.populations["new_la_code"],
                                                            real_reference.populations["year"],
                                                            real_reference.populations["population"])}
    frame, _ = plant_defects(real_returns, populations)
    return read_frame(frame, "planted_gx")


@pytest.fixture(scope="module")
def synthetic(read_frame):
    return read_frame(_synthetic_defects(), "synthetic_gx")


@pytest.fixture(scope="module")
def gx_runs(planted, synthetic, real_reference):
    from pipelines.validate.expectations import gx_cross_column_findings

    return {
        "planted": validate_rows(planted.values, planted.text, reference=real_reference, engine="gx"),
        "synthetic": gx_cross_column_findings(synthetic.values, synthetic.text),
    }


def test_suite_covers_every_rate_and_part_whole_pair(gx_runs):
    from pipelines.validate.expectations import _shared_validator, suite_entries

    columns = {e.column for e in suite_entries()}
    assert columns == ({f"excess__{i.column}" for i in derived_indicators()}
                       | {f"slack__{part}" for part, _ in strict_parts()})
    derived = derived_frame(pd.DataFrame(columns=synthetic_months(months=1).columns).astype("Float64"),
                            pd.DataFrame(columns=synthetic_months(months=1).columns))
    assert columns <= set(derived.columns)
    suite = _shared_validator().validation.suite
    assert {e.column for e in suite.expectations} == columns
    assert {e.meta["rule"] for e in suite.expectations} == {"derived_inconsistent", "part_exceeds_whole"}


def test_gx_and_pandas_agree_on_real_returns_with_planted_mistakes(gx_runs, planted, real_reference):
    pandas_findings = validate_rows(planted.values, planted.text, reference=real_reference, engine="pandas")
    assert gx_runs["planted"] == pandas_findings
    assert sum(f.rule == "derived_inconsistent" for f in pandas_findings) >= 8


def test_gx_and_pandas_agree_on_synthetic_cross_column_mistakes(gx_runs, synthetic):
    values, text = synthetic.values.reset_index(drop=True), synthetic.text.reset_index(drop=True)
    pandas_findings = cross_column_findings(values, text)
    assert gx_runs["synthetic"] == pandas_findings
    rules = {f.rule for f in pandas_findings}
    assert {"part_exceeds_whole", "derived_inconsistent", "derived_without_components", "derived_undefined",
            "plans_and_looked_after_exceed_cin", "referrals_exceed_contacts"} <= rules


def test_gx_engine_on_clean_rows_finds_nothing(gx_runs, read_frame):
    from pipelines.validate.expectations import gx_cross_column_findings

    clean = read_frame(synthetic_months(months=3), "clean_gx")
    assert gx_cross_column_findings(clean.values.reset_index(drop=True), clean.text.reset_index(drop=True)) == []


def test_data_docs_are_written_for_a_run(gx_runs, synthetic, tmp_path):
    from pipelines.validate.expectations import data_docs_index, gx_cross_column_findings

    folder = tmp_path / "reports" / "gx" / "2024-11"
    with_docs = gx_cross_column_findings(synthetic.values, synthetic.text, docs_folder=folder)
    assert with_docs == gx_cross_column_findings(synthetic.values, synthetic.text)  # one run, same verdicts
    index = data_docs_index(folder)
    assert index == (folder / "index.html").resolve() and index.exists()
    pages = list(index.parent.glob("validations/**/*.html"))
    assert len(pages) == 1
    page = pages[0].read_text(encoding="utf-8")
    assert "excess__referral_to_assessment_percent" in page and "slack__re_referrals" in page
    assert "E06000009" in page  # failing rows are named by authority, not only by position
    assert not (tmp_path / "uncommitted").exists()
