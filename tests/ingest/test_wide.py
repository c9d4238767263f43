"""The wide layout: a council's own dashboard read as the standard return, findings at its own cells."""

from __future__ import annotations

import csv
import datetime as dt

import openpyxl
import pandas as pd
import pytest

from pipelines.cli import main
from pipelines.ingest.readers import read_return
from pipelines.ingest.wide import label_key, month_of
from pipelines.reference import load_reference
from pipelines.store.warehouse import connect
from pipelines.validate.rulebook import validate_rows
from schemas.findings import ERROR
from tests.ingest import blackpool

pytestmark = pytest.mark.xdist_group("dagster")


@pytest.mark.parametrize(
    "header, month",
    [
        ("2017-12", "2017-12"),
        ("Dec-17", "2017-12"),
        ("Dec 2017", "2017-12"),
        ("December 2017", "2017-12"),
        ("dec17", "2017-12"),
        ("Sept-17", "2017-09"),
        (" Apr 17 ", "2017-04"),
        ("2017-4", "2017-04"),
        ("Target", None),
        ("2016/17", None),
        ("YTD", None),
        ("Decimal 2017", None),
        ("2017-13", None),
        ("", None),
    ],
)
def test_month_headers(header, month):
    assert month_of(header) == month


def test_labels_match_ignoring_case_spaces_and_punctuation_but_not_percent():
    assert label_key("Num (12 mnth)") == label_key("num 12-MNTH") == "num12mnth"
    assert label_key("Within 15 days (%)") != label_key("Within 15 days")


def _read_pair(tmp_path, home):
    blackpool.write_row_labels(home.row_labels)
    wide = read_return(blackpool.write_dashboard(tmp_path / "dashboard.xlsx"), home=home)
    long = read_return(blackpool.write_long(tmp_path / "blackpool.csv"), home=home)
    return wide, long


def test_the_blackpool_dashboard_reads_as_the_long_return_does(tmp_path, home):
    wide, long = _read_pair(tmp_path, home)

    assert long.findings == []
    # Earlier years and the target are not months: said once each, at the header cell, and not read.
    assert [(f.rule, f.severity, f.cell, f.row) for f in wide.findings] == [
        ("wide_column_ignored", "warning", f"Dashboard!{letter}5", None) for letter in "BCDEO"
    ]
    assert "'Target' is not a month" in wide.findings[-1].message
    figures = [c for c in long.values.columns if c not in ("file", "row", "cell_of")]
    pd.testing.assert_frame_equal(wide.values[figures], long.values[figures])
    pd.testing.assert_frame_equal(
        wide.text.drop(columns=["file", "row"]).fillna(""), long.text.drop(columns=["file", "row"]).fillna("")
    )
    december = wide.values.set_index("period").loc["2017-12"]
    # The report's figures, read through the mapping, number formats and date headers.
    assert (december["contacts"], december["cla"], december["cin"], december["cp_plans"]) == (447, 537, 1881, 356)
    assert wide.text.set_index("period").loc["2017-12", "referral_to_assessment_percent"] == "87.2"  # 0.872 as 0.0%
    assert wide.text.set_index("period").loc["2017-12", "contacts_to_referral_percent"] == "45"  # 0.45 as 0%


def test_a_finding_on_a_wide_figure_names_its_cell_and_its_month(tmp_path, home):
    blackpool.write_row_labels(home.row_labels)
    path = blackpool.write_dashboard(tmp_path / "dashboard.xlsx")
    workbook = openpyxl.load_workbook(path)
    sheet = workbook["Dashboard"]
    sheet["N24"] = 1234.5  # cla in December (row 24, column N): a rate-sized mistake, not the count's
    sheet["G8"] = "N/A"  # contacts in May (F is April)
    workbook.save(path)

    parsed = read_return(path, home=home)
    findings = parsed.findings + validate_rows(parsed.values, parsed.text, load_reference(home), None, engine="pandas")

    errors = {(f.rule, f.period, f.column, f.cell) for f in findings if f.severity == ERROR}
    assert ("invalid_value", "2017-05", "contacts", "Dashboard!G8") in errors
    assert ("not_whole_number", "2017-12", "cla", "Dashboard!N24") in errors
    assert ("derived_inconsistent", "2017-12", "cla_rate_per_10k", "Dashboard!N25") in errors
    assert all(f.la_code == "E06000009" for f in findings if f.severity == ERROR)
    line = next(f for f in findings if f.rule == "invalid_value").one_line()
    assert line.startswith("dashboard.xlsx Dashboard!G8 [contacts] error invalid_value")


def _wide_csv(path, lines):
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(lines)
    return path


def test_a_wide_csv_with_an_la_code_row_unknown_labels_and_headings(tmp_path, home):
    path = _wide_csv(
        tmp_path / "wide.csv",
        [
            ["SYNTHETIC wide return"],
            [],
            ["la_code", "E06000009"],
            ["", "Oct-24", "Nov-24", "Notes"],
            ["Stocks"],
            ["population_0_17", "28630", "28630", ""],
            ["Children looked after at the end of the month", "529", "531", "from the case system"],
            ["cp_plans", "247", "250", ""],
            ["cin", "1748", "1750", ""],
            ["Favourite colour", "3", "4", ""],
            ["", "7", "", ""],
        ],
    )

    parsed = read_return(path, home=home)

    assert list(parsed.values["period"]) == ["2024-10", "2024-11"]
    assert list(parsed.values["cla"]) == [529, 531] and list(parsed.values["la_code"]) == ["E06000009"] * 2
    found = [(f.rule, f.cell) for f in parsed.findings]
    assert found == [("wide_column_ignored", "D4"), ("wide_unknown_label", "A10"), ("wide_unknown_label", "A11")]
    assert "'Favourite colour' under 'Stocks'" in parsed.findings[1].message


def test_a_wide_sheet_naming_no_authority_is_refused_in_one_line(tmp_path, home):
    path = _wide_csv(tmp_path / "anonymous.csv", [["", "2024-10", "2024-11"], ["cla", "529", "531"]])

    parsed = read_return(path, home=home)

    [finding] = parsed.findings
    assert (finding.rule, finding.severity, parsed.readable) == ("wide_authority_missing", "error", False)


def test_a_month_given_twice_and_an_indicator_given_twice_are_errors_about_the_sheet(tmp_path, home):
    path = _wide_csv(
        tmp_path / "twice.csv",
        [
            ["la_code: E06000009"],
            ["", "2024-10", "Oct 2024"],
            ["population_0_17", "28630", "28630"],
            ["cla", "529", "531"],
            ["CLA", "530", "530"],
        ],
    )

    parsed = read_return(path, home=home)

    assert [(f.rule, f.severity, f.row, f.cell) for f in parsed.findings] == [
        ("duplicate_column", "error", None, "C2"),
        ("duplicate_column", "error", None, "A5"),
    ]
    assert list(parsed.values["cla"]) == [529]


def test_a_mapping_line_naming_no_catalogue_column_is_reported(tmp_path, home):
    home.row_labels.write_text("la_code,section,label,column\n,,Looked after,looked_after_children\n")
    path = _wide_csv(
        tmp_path / "w.csv",
        [
            ["la_code: E06000009"],
            ["", "2024-10", "2024-11"],
            ["population_0_17", "28630", "28630"],
            ["Looked after", "529", "531"],
        ],
    )

    rules = [(f.rule, f.file, f.row) for f in read_return(path, home=home).findings]

    assert rules == [("wide_unknown_label", "row_labels.csv", 2), ("wide_unknown_label", "w.csv", None)]


def _published_series(home) -> list[dict[str, str]]:
    with (home.publish / "children_social_care_monthly.csv").open(newline="", encoding="utf-8") as handle:
        return [row for row in csv.DictReader(handle) if row.get("new_la_code") == blackpool.LA_CODE]


def _run_home(tmp_path, name, write_file) -> tuple:
    from pipelines.home import DataHome
    from pipelines.reference import import_demo_reference

    home = DataHome(tmp_path / name).ensure()
    import_demo_reference(home)
    blackpool.write_row_labels(home.row_labels)
    write_file(home.landing)
    assert main(["--home", str(home.root), "run"]) == 0
    with connect(home, read_only=True) as connection:
        stored = connection.execute("SELECT * EXCLUDE (sha256) FROM indicator_values ORDER BY period").df()
        statuses = connection.execute("SELECT period, status FROM returns ORDER BY period").fetchall()
        errors = connection.execute("SELECT count(*) FROM findings WHERE severity = 'error'").fetchone()[0]
    return home, stored, statuses, errors


def test_blackpool_2017_as_a_dashboard_is_validated_stored_and_published_as_the_long_return(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    monkeypatch.setenv("CSC_HOME", str(tmp_path / "wide"))  # main() sets it per home; restored after the test
    (tmp_path / "dagster").mkdir()
    wide_home, wide_stored, wide_status, wide_errors = _run_home(
        tmp_path, "wide", lambda landing: blackpool.write_dashboard(landing / "blackpool-dashboard-2017.xlsx")
    )
    long_home, long_stored, long_status, long_errors = _run_home(
        tmp_path, "long", lambda landing: blackpool.write_long(landing / "blackpool-2017.csv")
    )

    assert wide_status == long_status == [(month, "accepted") for month in blackpool.MONTHS]
    assert wide_errors == long_errors == 0
    pd.testing.assert_frame_equal(wide_stored, long_stored)
    wide_published, long_published = _published_series(wide_home), _published_series(long_home)
    assert len(wide_published) == len(blackpool.MONTHS)
    assert wide_published == long_published
    december = next(r for r in wide_published if r["time_identifier"] == "December")
    assert (december["contacts"], december["cla"], december["cin"]) == ("447", "537", "1881")


def test_dates_typed_as_month_headers_are_months(tmp_path, home):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "LA dashboard"
    sheet.append(["la_code", "E06000009"])
    sheet.append(["Indicator", dt.datetime(2024, 10, 1), dt.datetime(2024, 11, 1)])
    sheet.append(["population_0_17", 28630, 28630])
    sheet.append(["cla", 529, "531a"])
    path = tmp_path / "dates.xlsx"
    workbook.save(path)

    parsed = read_return(path, home=home)

    assert list(parsed.values["period"]) == ["2024-10", "2024-11"]
    [finding] = parsed.findings
    assert (finding.rule, finding.period, finding.cell) == ("invalid_value", "2024-11", "'LA dashboard'!C4")
