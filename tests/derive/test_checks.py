"""Child-level checks over SYNTHETIC lists: warnings naming rows, never a child."""

from __future__ import annotations

import datetime as dt

from pipelines.derive.months import derive_return
from pipelines.ingest.annex_a import read_annex_a
from tests.ingest.make_corpus import workbook_bytes_of

NAME = "E06000009_annex_a_2024-01-31_SYNTHETIC.xlsx"
D = dt.date


def _read(sheets: dict[str, list[list]]):
    return read_annex_a(workbook_bytes_of(sheets), NAME, b"k" * 32)


def test_each_check_is_one_warning_per_list_naming_its_rows_and_no_child():
    read = _read(
        {
            "List_8": [
                [
                    "Child Unique ID",
                    "Date of Birth",
                    "Date Started to be Looked After",
                    "Child's Legal Status",
                    "Date Ceased to be Looked After",
                ],
                ["8811223", D(2012, 1, 1), D(2023, 3, 1), "C2", None],
                ["8811223", D(2012, 1, 1), D(2023, 5, 1), "C2", D(2023, 4, 1)],  # twice, and ceased before it started
                ["8811224", D(2012, 1, 1), None, "C2", None],  # no start
            ],
            "List_5": [
                [
                    "Child Unique ID",
                    "Date of Birth",
                    "Strategy discussion initiating Section 47 Enquiry Start Date",
                    "Date of Initial Child Protection Conference",
                ],
                ["8811225", D(2015, 1, 1), None, D(2023, 10, 2)],  # a conference with no enquiry
                ["8811226", D(2015, 1, 1), D(2023, 10, 9), D(2023, 10, 2)],  # held before the enquiry
            ],
            "List_4": [
                [
                    "Child Unique ID",
                    "Date of Birth",
                    "Continuous Assessment Start Date",
                    "Continuous Assessment Date of Authorisation",
                ],
                [
                    "8811227",
                    "31/31/2015",
                    D(2023, 10, 9),
                    D(2023, 10, 2),
                ],  # authorised before it started; birth unreadable
            ],
        }
    )
    findings = derive_return([read]).findings
    said = sorted((f.rule, f.message.split(":")[0], f.cell) for f in findings if f.rule != "child_level_rows_left_out")
    assert said == [
        ("child_level_child_twice", "list 8 (children looked after)", "List_8!A2"),
        ("child_level_conference_without_enquiry", "list 5 (section 47 enquiries and ICPCs)", "List_5!A2"),
        ("child_level_end_before_start", "list 4 (assessments)", "List_4!A2"),
        ("child_level_end_before_start", "list 5 (section 47 enquiries and ICPCs)", "List_5!A3"),
        ("child_level_end_before_start", "list 8 (children looked after)", "List_8!A3"),
        ("child_level_no_start", "list 8 (children looked after)", "List_8!A4"),
    ]
    twice = next(f for f in findings if f.rule == "child_level_child_twice")
    assert twice.message.endswith("(rows 2, 3)") and twice.severity == "warning"
    [left_out] = [f for f in findings if f.rule == "child_level_rows_left_out"]
    assert (
        left_out.message
        == "list 4 (assessments): of 1 rows, 1 with a date of birth that cannot be read (left out of the counts of children)"
    )
    assert not any("88112" in f.message for f in findings)
