"""The release calls the attacker's audit (issue 20): the example return's Halton, whose November
`cla_ceased` the stock and flow of children looked after gave back (298 + 7 - 301), is published
through the real publishing path, and afterwards no attacker holding every file published and
assuming every declared identity can pin it. The figures are the shared example return's (SYNTHETIC,
../shared/examples)."""

from __future__ import annotations

import json

import pandas as pd

from pipelines.home import DataHome
from pipelines.publish.audit import Layout, MonthRelease, audit_releases
from pipelines.publish.ees import ENGLAND_CODE, is_number, published_indicators
from pipelines.publish.files import MANIFEST, SERIES_FILE, release_metadata
from pipelines.publish.release import publish_months
from pipelines.steps.monthly import published_audits
from pipelines.store.disclosed import read_disclosed
from pipelines.store.warehouse import connect
from schemas.catalogue import numeric_columns

from .synthetic import HALTON, NORTH_WEST, accept_returns, register_of

MONTHS = ("2024-10", "2024-11")
SUMMARY_KEYS = {"cells_audited", "narrowest_interval_width", "protected", "identities_broken_by_real_figures"}


def accept_the_example(home: DataHome, example_rows: list[dict[str, str]]) -> None:
    numeric = set(numeric_columns())
    for month in MONTHS:
        figures = {
            row["la_code"]: {column: float(value) for column, value in row.items() if column in numeric and value}
            for row in example_rows
            if row["period"] == month
        }
        accept_returns(home, month, figures)


def what_the_files_show(home: DataHome) -> list[MonthRelease]:
    """Each month as an attacker holds it: the cells the published series prints as numbers (with
    the exact figures the private record keeps, which the attacker's interval is checked against)."""
    series = pd.read_csv(home.publish / SERIES_FILE, dtype=str, keep_default_na=False)
    counts = [i.column for i in published_indicators() if i.is_count]
    releases = []
    for month in MONTHS:
        with connect(home, read_only=True) as connection:
            record = read_disclosed(connection, month)
        year, name = month[:4], pd.Timestamp(month + "-01").strftime("%B")
        rows = series[(series["time_period"] == year) & (series["time_identifier"] == name)]
        printed = {
            (row["new_la_code"] or row["region_code"] or row["country_code"], column)
            for row in rows.to_dict("records")
            for column in counts
            if is_number(row[column])
        }
        figures = {(g, i): int(f) for g, i, f in zip(record["geography"], record["indicator"], record["figure"])}
        releases.append(MonthRelease(month, figures, frozenset(printed & set(figures))))
    return releases


def test_the_release_withholds_what_the_stock_and_flow_would_give_back(tmp_path, example_rows):
    from .synthetic import make_home

    home = make_home(tmp_path, register_of([NORTH_WEST]))
    accept_the_example(home, example_rows)

    for month in MONTHS:  # released in turn, as `run` releases each month
        [summary] = publish_months(home, [month])
        assert summary.screen_passed and not summary.refusal, (summary.refusal, summary.screen_findings)

    october, november = what_the_files_show(home)
    assert (HALTON, "cla_ceased") not in november.published  # 4: `c`
    layout = Layout({NORTH_WEST: tuple(sorted(register_of([NORTH_WEST])["new_la_code"]))}, ENGLAND_CODE)
    found = audit_releases(layout, [october, november], "2024-11")
    ceased = next(i for i in found.intervals if i.cell[:3] == ("2024-11", HALTON, "cla_ceased"))
    assert ceased.least <= 0 and ceased.most >= 6, ceased  # neither 0 nor 6 can be ruled out
    assert not found.failures
    # what gave it back is no longer all printed: October's and November's stock and November's starts
    printed = {(HALTON, "cla") in october.published, (HALTON, "cla") in november.published}
    assert not (printed == {True} and (HALTON, "cla_started") in november.published)

    manifest = json.loads((home.publish / MANIFEST).read_text())
    release = json.loads((home.publish / release_metadata("2024-11")).read_text())
    for summary in (manifest["disclosure_audits"]["2024-11"], release["disclosure_audit"]):
        assert set(summary) == SUMMARY_KEYS
        assert summary["protected"] is True and summary["cells_audited"] >= 1
        assert isinstance(summary["narrowest_interval_width"], int) and summary["narrowest_interval_width"] >= 6
    assert set(manifest["disclosure_audits"]) == set(MONTHS)  # October's kept from its own release
    # what the release check's metadata reads (assets/release.py: release_screen)
    assert published_audits(home, ["2024-11"])["2024-11"] == release["disclosure_audit"]


def test_the_same_months_in_one_range_are_protected_alike(tmp_path, example_rows):
    from .synthetic import make_home

    home = make_home(tmp_path, register_of([NORTH_WEST]))
    accept_the_example(home, example_rows)

    summaries = publish_months(home, list(MONTHS))

    assert all(s.screen_passed and s.audit["protected"] for s in summaries)
    october, november = what_the_files_show(home)
    layout = Layout({NORTH_WEST: tuple(sorted(register_of([NORTH_WEST])["new_la_code"]))}, ENGLAND_CODE)
    assert not audit_releases(layout, [october, november], "2024-11").failures


def test_a_month_published_again_unchanged_reports_what_its_release_reported(tmp_path, example_rows):
    """October published again after November (nothing of it changed) keeps its release's bytes: its
    summary comes from the private record, not from an audit over November's release too."""
    from .synthetic import make_home

    home = make_home(tmp_path, register_of([NORTH_WEST]))
    accept_the_example(home, example_rows)
    [first] = publish_months(home, ["2024-10"])
    october_file = home.publish / release_metadata("2024-10")
    before = october_file.read_bytes()
    publish_months(home, ["2024-11"])

    [again] = publish_months(home, ["2024-10"])

    assert again.screen_passed and again.audit == first.audit
    assert october_file.read_bytes() == before
    with connect(home, read_only=True) as connection:
        recorded = connection.execute("SELECT period, summary FROM disclosed_audits ORDER BY period").fetchall()
    assert [period for period, _ in recorded] == list(MONTHS)  # one per release: October's not twice
    assert json.loads(recorded[0][1]) == first.audit


def test_a_month_whose_release_changed_reports_a_new_audit_and_records_it(tmp_path, example_rows):
    from .synthetic import make_home

    home = make_home(tmp_path, register_of([NORTH_WEST]))
    accept_the_example(home, example_rows)
    publish_months(home, list(MONTHS))
    numeric = set(numeric_columns())
    corrected = {
        row["la_code"]: {column: float(value) for column, value in row.items() if column in numeric and value}
        for row in example_rows
        if row["period"] == "2024-10"
    }
    corrected[HALTON]["cla"] += 1  # a resubmission: one more child looked after at the end of October
    accept_returns(home, "2024-10", corrected)

    [again] = publish_months(home, ["2024-10"])

    assert again.screen_passed and set(again.audit) == SUMMARY_KEYS
    with connect(home, read_only=True) as connection:
        periods = [
            p for (p,) in connection.execute("SELECT period FROM disclosed_audits ORDER BY recorded_at").fetchall()
        ]
    assert periods.count("2024-10") == 2  # the new release's summary beside the first's
