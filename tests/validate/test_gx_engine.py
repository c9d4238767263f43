"""The Great Expectations engine and the pandas engine give the same findings.

Each engine decides for itself: GX's validation results (the rows it reports unexpected) become
failing rows in `engines/gx_engine.py`; the pandas engine evaluates masks in
`engines/pandas_engine.py`. Only the arithmetic and the message texts (written by each rule's
kind) are shared. GX costs seconds to import, so every test here shares the runs made once in
module fixtures.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd
import pytest
from conftest import synthetic_months
from test_real_returns import plant_defects

from pipelines.validate.engines import PANDAS_ENGINE
from pipelines.validate.engines.base import Checked, rules_decided_by
from pipelines.validate.rulebook import validate_rows
from schemas.bands import plausibility_bands
from schemas.catalogue import strict_parts
from schemas.findings import Finding
from schemas.rules.kinds import PANDAS, Reads

pytestmark = pytest.mark.filterwarnings("ignore")


def _synthetic_defects() -> pd.DataFrame:
    """SYNTHETIC months, one cross-column mistake per row (and one clean row)."""
    frame = synthetic_months(months=10)
    edits = [
        {"re_referrals": "300"},  # part above its whole
        {"assessments_within_15wd": "200"},  # 15 wd above 45 wd
        {"icpcs_within_15wd": "40"},  # part above its whole
        {"referral_to_assessment_percent": "58.1"},  # percentage inconsistent
        {"contacts": "", "contacts_12m": ""},  # percentage without its denominator
        {"contacts": "0"},  # percentage over zero (and referrals > contacts)
        {"cp_plans": "1500"},  # plans + looked after above cin, rate off
        {"cin": "x", "cin_rate_per_10k": "610.5"},  # rate without its count
        {"cla": "1200", "cla_rate_per_10k": "419.1"},  # consistent, outside the published band
    ]
    for position, edit in enumerate(edits):
        for column, value in edit.items():
            frame.iloc[position, frame.columns.get_loc(column)] = value
    return frame


@pytest.fixture(scope="module")
def planted(real_returns, real_reference, read_frame):
    populations = {
        (c, int(y)): float(p)
        for c, y, p in zip(
            real_reference.populations["new_la_code"],
            real_reference.populations["year"],
            real_reference.populations["population"],
        )
    }
    frame, _ = plant_defects(real_returns, populations)
    return read_frame(frame, "planted_gx")


@pytest.fixture(scope="module")
def synthetic(read_frame):
    return read_frame(_synthetic_defects(), "synthetic_gx")


@pytest.fixture(scope="module")
def gx_runs(planted, synthetic, real_reference):
    from pipelines.validate.engines.gx_engine import gx_cross_column_findings

    return {
        "planted": validate_rows(planted.values, planted.text, reference=real_reference, engine="gx"),
        "synthetic": gx_cross_column_findings(synthetic.values, synthetic.text),
    }


def _sorted(findings: list[Finding]) -> list[Finding]:
    """The engines list findings in different orders (GX groups them by expectation)."""
    return sorted(findings, key=lambda f: (f.file or "", f.row or 0, f.rule, f.column or "", f.message))


def test_suites_cover_every_rate_part_whole_pair_and_band(gx_runs):
    from pipelines.validate.engines.gx_engine import DERIVED_SUITE, RETURN_SUITE, suite_entries, validations

    entries = suite_entries()
    parts = {e.column for e in entries if e.rule == "part_exceeds_whole"}
    assert parts == {part for part, _ in strict_parts()}
    assert {e.column for e in entries if e.rule == "implausible_value"} == set(plausibility_bands())
    derived = validations()[DERIVED_SUITE].suite.expectations
    assert [type(e).__name__ for e in derived] == ["ExpectDerivedFigureToMatchComponents"]
    figures = validations()[RETURN_SUITE].suite.expectations
    assert len(figures) == sum(e.suite == RETURN_SUITE for e in entries)
    assert {type(e).__name__ for e in figures} == {
        "ExpectColumnPairValuesAToBeGreaterThanB",
        "ExpectColumnValuesToBeBetween",
    }


def test_gx_and_pandas_agree_on_real_returns_with_planted_mistakes(gx_runs, planted, real_reference):
    pandas_findings = validate_rows(planted.values, planted.text, reference=real_reference, engine="pandas")
    assert _sorted(gx_runs["planted"]) == _sorted(pandas_findings)
    assert sum(f.rule == "derived_inconsistent" for f in pandas_findings) >= 8


def test_gx_and_pandas_agree_on_synthetic_cross_column_mistakes(gx_runs, synthetic):
    checked = Checked(synthetic.values.reset_index(drop=True), synthetic.text.reset_index(drop=True))
    pandas_findings = PANDAS_ENGINE.findings(rules_decided_by(PANDAS, (Reads.ROW, Reads.BANDS))[0], checked)
    assert _sorted(gx_runs["synthetic"]) == _sorted(pandas_findings)
    rules = {f.rule for f in pandas_findings}
    assert {
        "part_exceeds_whole",
        "derived_inconsistent",
        "derived_without_components",
        "derived_undefined",
        "plans_and_looked_after_exceed_cin",
        "referrals_exceed_contacts",
        "implausible_value",
    } <= rules


def test_gx_engine_on_clean_rows_finds_nothing(gx_runs, read_frame):
    from pipelines.validate.engines.gx_engine import gx_cross_column_findings

    clean = read_frame(synthetic_months(months=3), "clean_gx")
    assert gx_cross_column_findings(clean.values.reset_index(drop=True), clean.text.reset_index(drop=True)) == []


def _page_text(path) -> str:
    """A Data Docs page as a reader sees it: tags, scripts and styles dropped, entities decoded."""
    import html
    import re

    page = path.read_text(encoding="utf-8")
    page = re.sub(r"<(script|style).*?</\1>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_data_docs_show_a_count_typed_into_a_rate_with_the_authority_and_both_figures(gx_runs, read_frame, tmp_path):
    """The steward's page: Blackpool's looked-after rate given as the count, beside the rate it should be."""
    from pipelines.validate.engines.gx_engine import data_docs_index, gx_cross_column_findings

    month = synthetic_months(months=1).assign(cla_rate_per_10k=lambda f: f["cla"])  # SYNTHETIC
    parsed = read_frame(month, "count_in_rate")
    cla, population = float(month["cla"].iloc[0]), float(month["population_0_17"].iloc[0])
    recomputed = f"{round(cla / population * 10_000, 1):g}"  # one decimal beyond the whole number reported
    folder = tmp_path / "reports" / "gx" / "2024-11"
    findings = gx_cross_column_findings(parsed.values, parsed.text, docs_folder=folder)
    assert [(f.rule, f.column, f.la_code) for f in findings if f.rule == "derived_inconsistent"] == [
        ("derived_inconsistent", "cla_rate_per_10k", "E06000009")
    ]
    index = data_docs_index(folder)
    assert index == (folder / "index.html").resolve() and index.exists()
    pages = {path.stem: _page_text(path) for path in index.parent.glob("validations/**/*.html")}
    derived = next(text for name, text in pages.items() if "derived_figures" in name)
    table = derived[derived.index("each rate or percentage equals") :]
    assert "E06000009" in table and "cla_rate_per_10k" in table
    assert f"{cla:g}" in table  # the rate as reported (the count)
    assert recomputed in table  # the rate recomputed from cla / population x 10,000
    assert "excess__" not in derived and "slack__" not in derived  # no helper numbers
    assert not (tmp_path / "uncommitted").exists()


def test_data_docs_are_written_for_a_run(gx_runs, synthetic, tmp_path):
    from pipelines.validate.engines.gx_engine import data_docs_index, gx_cross_column_findings

    folder = tmp_path / "reports" / "gx" / "2024-11"
    with_docs = gx_cross_column_findings(synthetic.values, synthetic.text, docs_folder=folder)
    assert _sorted(with_docs) == _sorted(gx_cross_column_findings(synthetic.values, synthetic.text))
    pages = list(data_docs_index(folder).parent.glob("validations/**/*.html"))
    assert len(pages) == 2  # the derived figures and the return's figures
    text = " ".join(_page_text(page) for page in pages)
    assert "re_referrals" in text and "E06000009" in text


def test_data_docs_built_again_in_the_same_process_are_the_same_pages(gx_runs, synthetic, tmp_path):
    """Sites built one after another in a process share compiled templates (gx_views.py): a later
    month's pages say exactly what an earlier one's say, but for GX's timestamps and the site id."""
    import re

    from pipelines.validate.engines.gx_engine import data_docs_index, gx_cross_column_findings

    def pages(folder):
        gx_cross_column_findings(synthetic.values, synthetic.text, docs_folder=folder)
        found = sorted(data_docs_index(folder).parent.glob("**/*.html"))
        variable = re.compile(
            r"\d{8}T\d{6}\.\d+Z|_run_time_sort': [\d.]+|\d{4}-\d{2}-\d{2}[T ][\d:.]+(?:\+00:00|Z)?|site_[0-9a-f]{12}|"
            r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
        )
        return [variable.sub("", p.read_text(encoding="utf-8")) for p in found], len(found)

    first, count = pages(tmp_path / "first")
    again, _ = pages(tmp_path / "again")
    assert count >= 3 and again == first  # the index, the suites and the two validation pages


def test_target_bands_ask_the_boards_question_as_warnings_only(gx_runs, read_frame, tmp_path):
    """SYNTHETIC targets for three authorities' cla_rate_per_10k (lower is better): green, amber, red."""
    from pipelines.validate.engines.gx_engine import (
        TARGET_SUITE,
        data_docs_index,
        gx_cross_column_findings,
        target_batch,
    )

    month = pd.concat(
        [
            synthetic_months(la_code=code, la_name=name, months=1)
            for code, name in (
                ("E06000009", "Blackpool"),
                ("E06000008", "Blackburn with Darwen"),
                ("E06000001", "Hartlepool"),
            )
        ],
        ignore_index=True,
    )
    parsed = read_frame(month, "targets")
    rate = float(parsed.values["cla_rate_per_10k"].iloc[0])  # the same SYNTHETIC figures for all three
    targets = pd.DataFrame(
        {
            "la_code": ["E06000009", "E06000008", "E06000001", "E06000001"],
            "indicator": "cla_rate_per_10k",
            "target": [rate + 5, rate - 3, rate - 20, rate + 100],
            "polarity": "low",
            "amber_tolerance": 5.0,
            "from_month": ["2024-01", "2024-01", "2024-06", "2025-01"],
        }
    )  # the last not yet in force
    batch = target_batch(parsed.values, targets, "2024-11")
    assert sorted(batch["la_code"]) == ["E06000001", "E06000008", "E06000009"]
    folder = tmp_path / "docs"
    with_targets = gx_cross_column_findings(
        parsed.values, parsed.text, docs_folder=folder, targets=targets, month="2024-11"
    )
    assert with_targets == gx_cross_column_findings(parsed.values, parsed.text)  # warnings on the page, no findings
    page = next(_page_text(p) for p in data_docs_index(folder).parent.glob(f"validations/{TARGET_SUITE}/**/*.html"))
    green = page[page.index("lower is better, each authority's figure meets its target (green)") :]
    red = page[page.index("lower is better, each authority's figure is not red (within amber)") :]
    green = green[: green.index("is better", 30)] if "is better" in green[30:] else green
    red = red[: red.index("is better", 30)] if "is better" in red[30:] else red
    assert "E06000008" in green and "E06000001" in green and "E06000009" not in green
    assert "E06000001" in red and "E06000008" not in red and "E06000009" not in red


def test_gx_and_pandas_agree_on_rolling_sums_against_history(read_frame, tmp_path):
    """SYNTHETIC: rolling sums checked over the full twelve months and, with gaps, from last month's."""
    from test_columnar_equivalence import _history_slips

    months = _history_slips()
    months.iloc[3, months.columns.get_loc("referrals_12m")] = str(int(months["referrals_12m"].iloc[3]) + 2)
    gappy = synthetic_months(la_code="E06000001", la_name="Hartlepool", months=30)
    gappy = gappy[[k % 3 != 0 for k in range(len(gappy))]].copy()
    gappy.iloc[-1, gappy.columns.get_loc("contacts_12m")] = str(int(gappy["contacts_12m"].iloc[-1]) - 9)
    parsed = read_frame(pd.concat([months, gappy], ignore_index=True), "rolling_gx")
    folder = tmp_path / "docs"
    gx_findings = validate_rows(parsed.values, parsed.text, engine="gx", report_folder=folder)
    pandas_findings = validate_rows(parsed.values, parsed.text)
    assert _sorted(gx_findings) == _sorted(pandas_findings)
    rolling = [f for f in pandas_findings if f.rule == "rolling_sum_mismatch"]
    assert any("12 monthly" in f.message for f in rolling) and any("last month's" in f.message for f in rolling)
    page = next(_page_text(p) for p in folder.resolve().glob("validations/rolling_sums/**/*.html"))
    wrong = next(f for f in rolling if "12 monthly" in f.message)
    assert wrong.la_code in page and wrong.value.replace(",", "") in page and wrong.expected.replace(",", "") in page


def test_gx_assets_are_kept_once_beside_the_months_and_every_page_links_there(gx_runs, synthetic, tmp_path):
    """GX's 4 MB of styles, scripts and fonts: one copy in reports/gx/static/, none in a month's site
    (a copy left by a site built before is removed), every page's links pointing one level up."""
    from pipelines.validate.engines.gx_engine import gx_cross_column_findings

    sites = tmp_path / "reports" / "gx"
    (sites / "2024-10" / "static").mkdir(parents=True)
    (sites / "2024-10" / "static" / "left-by-an-older-build.css").write_text("", encoding="utf-8")
    for month in ("2024-10", "2024-11"):
        gx_cross_column_findings(synthetic.values, synthetic.text, docs_folder=sites / month)
    assert sorted(p.name for p in sites.iterdir()) == ["2024-10", "2024-11", "static"]
    assert (sites / "static" / "styles").is_dir() and not (sites / "2024-10" / "static").exists()
    links = re.compile(r'"((?:\./|(?:\.\./)+)static/[^"?]+)')
    for page in sites.glob("2024-1?/**/*.html"):
        found = links.findall(page.read_text(encoding="utf-8"))
        assert found, page  # GX's favicon: the one asset a page takes from static/ (styles are inline)
        for link in found:
            if page.name == "index.html" or page.parent.name == "expectations":
                target = Path(os.path.normpath(page.parent / link))
                assert target.exists() and target.is_relative_to(sites / "static"), (page, link)
            else:  # GX 1.24 links a result's page to static/ one level short (../../../): kept, one level up
                assert link.startswith("../../../../static/") and not link.startswith("../../../../../"), link
