"""Reading Annex A workbooks: lists by their headings, every cell form of child-level.md, one finding
per unreadable cell naming Sheet!Cell and never its value. All workbooks here are SYNTHETIC."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.demo.annex_a_synthetic import synthetic_annex_a, workbook_bytes
from pipelines.derive.months import derive_return
from pipelines.ingest.annex_a import folded, parse_dates, parse_ids, read_annex_a
from pipelines.ingest.pseudonyms import ephemeral_key, pseudonyms
from tests.ingest.make_corpus import workbook_bytes_of

KEY = b"k" * 32
NAME = "E06000009_annex_a_2024-01-31_SYNTHETIC.xlsx"
CONTACT_HEADINGS = [
    "Child Unique ID",
    "Gender",
    "Ethnicity",
    "Date of Birth",
    "Age of Child (Years)",
    "Date of Contact",
]


def _workbook(sheets: dict[str, list[list]]) -> bytes:
    return workbook_bytes_of(sheets)


def _contacts(rows: list[list], headings: list[str] = CONTACT_HEADINGS, title: str = "List_1") -> bytes:
    return _workbook({title: [headings, *rows]})


def test_headings_are_compared_without_case_spacing_quotes_or_brackets():
    assert folded("Child\u2019s Legal Status ") == folded("child's legal status")
    assert folded("(Y/N))") == folded("(Y/N)")
    assert folded("CHILD  UNIQUE ID") == folded("Child Unique ID")


def test_a_list_is_found_by_its_headings_under_a_title_row_whatever_the_sheet_is_called():
    data = _workbook(
        {
            "SYNTHETIC notes": [["nothing here"]],
            "Sheet7": [
                ["SYNTHETIC contacts, extracted for inspection"],
                [],
                ["child unique id ", "Gender", "Ethnicity", "Date of birth", "Age", "date of contact"],
                ["1001", "a) Male", "WBRI", dt.date(2015, 3, 1), 8, dt.date(2024, 1, 5)],
                [],
                ["Total", None, None, None, None, None],
            ],
        }
    )
    read = read_annex_a(data, NAME, KEY)
    assert list(read.lists) == [1]
    contacts = read.lists[1]
    assert contacts["row"].tolist() == [4]
    assert contacts["contact_date"].tolist() == [pd.Timestamp("2024-01-05")]
    assert contacts["birth_month"].tolist() == [2015 * 12 + 2]
    rules = [f.rule for f in read.findings]
    assert rules.count("child_level_totals_row") == 1 and rules.count("child_level_list_missing") == 1


def test_dates_in_every_form_read_to_the_same_day_and_blanks_are_blank():
    forms = [dt.date(2024, 1, 5), dt.datetime(2024, 1, 5, 13, 0), 45296.0, 45296, "05/01/2024", " 2024-01-05 "]
    forms += ["05/01/2024 00:00:00", "45296"]
    blanks = ["", "#N/A", None, float("nan")]
    dates, unreadable = parse_dates(pd.Series(forms + blanks, dtype=object))
    assert dates[: len(forms)].tolist() == [pd.Timestamp("2024-01-05")] * len(forms)
    assert dates[len(forms) :].isna().all() and not unreadable.any()
    _, bad = parse_dates(pd.Series(["20240105", "5 Jan 2024", "31/02/2024", True, 1e9], dtype=object))
    assert bad.all()


def test_ids_keep_leading_zeros_of_text_and_drop_the_trailing_point_zero_of_numbers():
    ids, unreadable = parse_ids(
        pd.Series([9212044, 9212044.0, " 9212044", "9212044.0", "\u00a09212044 ", "0012", 12, ""], dtype=object)
    )
    assert ids[:5].tolist() == ["9212044"] * 5
    assert ids[5] == "0012" and ids[6] == "12"
    assert unreadable.tolist() == [False] * 7 + [True]
    assert pseudonyms(KEY, "E06000009", ids[:5]).nunique() == 1


def test_an_unreadable_cell_is_one_finding_naming_the_cell_and_never_its_value():
    rows = [
        ["7701", "a) Male", "WBRI", dt.date(2015, 3, 1), 8, "31/02/2024"],
        ["7702", "a) Male", "WBRI", "not a date 1966", 8, dt.date(2024, 1, 9)],
        ["", "a) Male", "WBRI", dt.date(2015, 3, 1), 8, dt.date(2024, 1, 10)],
        ["7704", "a) Male", "WBRI", dt.date(2015, 3, 1), 8, dt.date(2024, 1, 11)],
    ]
    read = read_annex_a(_contacts(rows, title="My list"), NAME, KEY)
    unreadable = [f for f in read.findings if f.rule == "child_level_unreadable_cell"]
    assert sorted((f.cell, f.column) for f in unreadable) == [
        ("'My list'!A4", "Child Unique ID"),
        ("'My list'!D3", "Date of Birth"),
        ("'My list'!F2", "Date of Contact"),
    ]
    for finding in read.findings:
        text = " ".join(str(v) for v in vars(finding).values())
        assert "7701" not in text and "1966" not in text and "31/02" not in text
    # Each bad cell leaves its row out only of what needs it: the contact with no readable date.
    derived = derive_return([read]).rows.set_index("period")
    assert derived.loc["2024-01", "contacts"] == 3


@settings(max_examples=25, deadline=None)
@given(secret=st.from_regex(r"Zq[A-Za-z0-9 /.\-]{2,20}", fullmatch=True), as_number=st.booleans())
def test_findings_never_quote_what_a_cell_holds(secret, as_number):
    """The attacker's view: whatever an ID, date of birth or staff name cell holds, no finding repeats it."""
    headings = [*CONTACT_HEADINGS, "Allocated Worker"]
    rows = [
        [secret, "a) Male", "WBRI", secret, 8, secret, secret],
        ["   ", None, None, secret, None, dt.date(2024, 1, 2), secret],
        [secret, None, None, 3.5 if as_number else "#REF", None, "31/13/2023", secret],
    ]
    read = read_annex_a(_contacts(rows, headings), NAME, KEY)
    assert read.findings
    for finding in read.findings:
        assert secret.strip() not in " ".join(str(v) for v in vars(finding).values())


def test_the_authority_and_extract_date_from_a_front_sheet_else_the_file_name_else_the_caller():
    body = [["7701", "a) Male", "WBRI", dt.date(2015, 3, 1), 8, dt.date(2024, 1, 5)]]
    front = {"Cover": [["SYNTHETIC extract"], ["LA code", "E08000012"], ["Extract date", "29/02/2024"]]}
    stated = read_annex_a(
        _workbook({**front, "List_1": [CONTACT_HEADINGS, *body]}), NAME, KEY, "E10000017", dt.date(2020, 1, 1)
    )
    assert (stated.la_code, stated.extract_date) == ("E08000012", dt.date(2024, 2, 29))
    named = read_annex_a(_contacts(body), NAME, KEY, "E10000017", dt.date(2020, 1, 1))
    assert (named.la_code, named.extract_date) == ("E06000009", dt.date(2024, 1, 31))
    given = read_annex_a(_contacts(body), "annex.xlsx", KEY, "E10000017", dt.date(2024, 3, 31))
    assert (given.la_code, given.extract_date) == ("E10000017", dt.date(2024, 3, 31))
    unknown = read_annex_a(_contacts(body), "annex.xlsx", KEY)
    assert not unknown.derivable and not unknown.lists


def test_a_file_that_is_no_workbook_or_holds_no_list_is_one_finding():
    [broken] = read_annex_a(b"PK\x03\x04 not really", NAME, KEY).findings
    assert broken.rule == "child_level_unreadable" and broken.severity == "error"
    nothing = read_annex_a(_workbook({"Sheet1": [["a", "b"], [1, 2]]}), NAME, KEY)
    assert [f.rule for f in nothing.findings] == ["child_level_no_lists"] and not nothing.lists


def test_a_formula_saved_without_its_value_is_a_finding_naming_its_cell():
    rows = [
        ["7701", "a) Male", "WBRI", dt.date(2015, 3, 1), 8, dt.date(2024, 1, 5)],
        ["7702", None, None, None, None, "=F2+5"],
    ]
    read = read_annex_a(_contacts(rows), NAME, KEY)  # openpyxl saves formulas without values
    [formula] = [f for f in read.findings if f.rule == "child_level_formula_without_value"]
    assert formula.cell == "List_1!F3" and formula.severity == "error"
    assert read.lists[1]["contact_date_unreadable"].tolist() == [False, True]


def test_a_notes_row_with_no_id_and_no_date_is_not_a_record_but_a_dated_row_with_no_id_is():
    rows = [
        ["7701", "a) Male", "WBRI", dt.date(2015, 3, 1), 8, dt.date(2024, 1, 5)],
        [None, None, None, None, None, None, None],
        [None, "Count of contacts", None, None, None, None, 1],
        [None, "a) Male", "WBRI", dt.date(2015, 3, 1), 8, dt.date(2024, 1, 6)],
    ]
    read = read_annex_a(_contacts(rows, [*CONTACT_HEADINGS, "Notes"]), NAME, KEY)
    assert [(f.rule, f.row) for f in read.findings if f.rule != "child_level_list_missing"] == [
        ("child_level_totals_row", 4),
        ("child_level_unreadable_cell", 5),
    ]
    assert derive_return([read]).rows.set_index("period").loc["2024-01", "contacts"] == 2


def test_exact_duplicate_rows_count_once_with_a_finding():
    row = ["7701", "a) Male", "WBRI", dt.date(2015, 3, 1), 8, dt.date(2024, 1, 5)]
    read = read_annex_a(
        _contacts([row, list(row), ["7701", "a) Male", "WBRI", dt.date(2015, 3, 1), 8, dt.date(2024, 1, 6)]]), NAME, KEY
    )
    [duplicates] = [f for f in read.findings if f.rule == "child_level_duplicate_rows"]
    assert "rows 3" in duplicates.message
    assert derive_return([read]).rows.set_index("period").loc["2024-01", "contacts"] == 2


def test_dates_after_the_extract_date_are_a_finding():
    read = read_annex_a(
        _contacts([["7701", "a) Male", "WBRI", dt.date(2015, 3, 1), 8, dt.date(2024, 2, 5)]]), NAME, KEY
    )
    [late] = [f for f in read.findings if f.rule == "child_level_date_after_extract"]
    assert late.cell == "List_1!F2"


def test_only_the_columns_the_definitions_need_leave_the_reader():
    synthetic = synthetic_annex_a(8, children=60)
    read = read_annex_a(workbook_bytes(synthetic, messy=True, seed=8), synthetic.file_name, ephemeral_key())
    kept = {column for rows in read.lists.values() for column in rows.columns}
    assert kept <= {
        "child", "birth_month", "birth_unreadable", "row", "sheet", "contact_date", "referral_date", "referrals_before",
        "assessment_start", "assessment_authorised", "strategy_date", "icpc_date", "cin_start", "cin_end", "cp_start",
        "cp_end", "cla_start", "cla_end", "legal_status",
    } | {f"{c}_unreadable" for c in ("contact_date", "referral_date", "assessment_start", "assessment_authorised", "strategy_date", "icpc_date", "cin_start", "cin_end", "cp_start", "cp_end", "cla_start", "cla_end")}  # fmt: skip
    ids = {row["Child Unique ID"] for rows in synthetic.lists.values() for row in rows}
    births = {row["Date of Birth"] for rows in synthetic.lists.values() for row in rows}
    for rows in read.lists.values():
        assert not set(rows["child"].dropna()) & ids
        assert not any(isinstance(v, dt.date) and v in births for v in rows.to_numpy().ravel())


@pytest.mark.parametrize("title", ["List_8", "List 8", "List8", "Looked after", "Sheet3"])
def test_legal_status_with_or_without_the_ordering_prefix_leaves_short_breaks_out(title):
    headings = [
        "Child Unique ID",
        "Date of Birth",
        "Date Started to be Looked After",
        "Child\u2019s Legal Status",
        "Date Ceased to be Looked After",
    ]
    rows = [
        ["1", dt.date(2010, 1, 1), dt.date(2023, 1, 1), "a) V3", None],
        ["2", dt.date(2010, 1, 1), dt.date(2023, 1, 1), "C2", None],
        ["3", dt.date(2010, 1, 1), dt.date(2023, 1, 1), " v4 ", None],
    ]
    read = read_annex_a(_workbook({title: [headings, *rows]}), NAME, KEY)
    assert read.lists[8]["legal_status"].tolist() == ["V3", "C2", "V4"]
    assert derive_return([read]).rows.set_index("period").loc["2024-01", "cla"] == 1


def test_a_list_without_a_column_leaves_what_needs_it_blank_and_a_list_with_no_rows_counts_zero():
    data = _workbook(
        {
            "List_3": [["Child Unique ID", "Date of Referral"], ["12", dt.date(2023, 12, 4)]],
            "List_1": [CONTACT_HEADINGS],
        }
    )
    read = read_annex_a(data, NAME, KEY)
    assert not read.lists[3]["birth_unreadable"].any()  # no such column: unknown, not unreadable
    missing = sorted(f.column for f in read.findings if f.rule == "child_level_list_missing" and f.column)
    assert missing == ["Date of Birth", "Number of Referrals in Last 12 Months"]
    rows = derive_return([read]).rows.set_index("period")
    assert rows.loc["2023-12", "referrals"] == 1 and rows["re_referrals"].isna().all()
    assert (rows["contacts"] == 0).all()


_CELLS = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=False, width=32),
    st.booleans(),
    st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)),
    st.sampled_from(["#N/A", "31/02/2024", "05/01/2024", "=A1+1", "Total", " ", "\u00a0", "0012", "9212044.0"]),
)
_LIST_HEADINGS = {
    "List_1": CONTACT_HEADINGS,
    "List_3": ["Child Unique ID", "Date of Birth", "Date of Referral", "Number of Referrals in Last 12 Months"],
    "List_4": [
        "Child Unique ID",
        "Date of Birth",
        "Continuous Assessment Start Date",
        "Continuous Assessment Date of Authorisation",
    ],
    "List_8": [
        "Child Unique ID",
        "Date of Birth",
        "Date Started to be Looked After",
        "Legal Status",
        "Date Ceased to be Looked After",
    ],
}


@settings(max_examples=40, deadline=None)
@given(
    rows=st.dictionaries(
        st.sampled_from(sorted(_LIST_HEADINGS)),
        st.lists(st.lists(_CELLS, min_size=0, max_size=7), max_size=8),
        min_size=1,
    )
)
def test_any_cells_under_the_headings_read_and_derive_without_a_traceback(rows):
    """The attacker's workbook: whatever the cells hold, reading and deriving end with figures and
    findings, every finding about a cell naming it."""
    sheets = {title: [_LIST_HEADINGS[title], *body] for title, body in rows.items()}
    try:
        data = _workbook(sheets)
    except Exception:  # openpyxl refuses some values itself (characters XML cannot hold)
        return
    read = read_annex_a(data, NAME, KEY)
    derived = derive_return([read])
    assert set(derived.rows["period"]) <= {"2023-08", "2023-09", "2023-10", "2023-11", "2023-12", "2024-01"}
    for finding in read.findings:
        if finding.rule in ("child_level_unreadable_cell", "child_level_formula_without_value"):
            assert finding.cell and "!" in finding.cell


def test_the_child_level_limits_are_checked_before_reading():
    from pipelines.ingest.limits import Limits

    data = _contacts([["7701", "a) Male", "WBRI", dt.date(2015, 3, 1), 8, dt.date(2024, 1, 5)]])
    [inflated] = read_annex_a(data, NAME, KEY, limits=Limits(max_child_level_uncompressed_bytes=1000)).findings
    assert inflated.rule == "child_level_unreadable" and "max_child_level_uncompressed_bytes" in inflated.message
    [large] = read_annex_a(data, NAME, KEY, limits=Limits(max_child_level_file_bytes=100)).findings
    assert "max_child_level_file_bytes" in large.message


@settings(max_examples=30, deadline=None)
@given(data=st.binary(max_size=2000))
def test_any_bytes_are_one_finding_never_a_traceback(data):
    read = read_annex_a(data, NAME, KEY)
    assert [f.rule for f in read.findings] in (["child_level_unreadable"], ["child_level_no_lists"])
    assert derive_return([read]).rows.empty


def test_a_list_starting_below_and_right_of_a1_names_its_cells_where_excel_shows_them():
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Contacts extract"
    sheet["C3"], sheet["D3"], sheet["C4"], sheet["D4"] = "Child Unique ID", "Date of Contact", "77", "not a date"
    buffer = io.BytesIO()
    workbook.save(buffer)
    read = read_annex_a(buffer.getvalue(), NAME, KEY)
    assert [f.cell for f in read.findings if f.rule == "child_level_unreadable_cell"] == ["'Contacts extract'!D4"]
    assert read.lists[1]["row"].tolist() == [4]
