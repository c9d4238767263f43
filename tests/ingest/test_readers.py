"""Reading returns: every cell kept as text, bad input as findings naming file, row and column."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.ingest.delimited import text_lines
from pipelines.ingest.grid import RowTable
from pipelines.ingest.readers import parse_number, read_return
from tests.conftest import write_return


def test_csv_with_bom_thousands_separators_and_loose_headers(tmp_path, example_rows):
    row = dict(example_rows[0], contacts="1,043", cin="x", icpcs="")
    path = write_return(tmp_path / "r.csv", [row])
    raw = path.read_text(encoding="utf-8")
    header, body = raw.split("\n", 1)
    path.write_bytes(b"\xef\xbb\xbf" + (header.replace("la_code", " LA_Code ") + "\n" + body).encode())

    parsed = read_return(path)

    assert parsed.findings == []
    assert parsed.values.loc[0, "la_code"] == "E06000009"
    assert parsed.values.loc[0, "contacts"] == 1043
    assert parsed.values["cin"].isna().all() and parsed.text.loc[0, "cin"] == "x"
    assert parsed.values["icpcs"].isna().all()
    assert parsed.text.loc[0, "cla_rate_per_10k"] == example_rows[0]["cla_rate_per_10k"]
    assert parsed.values.loc[0, "row"] == 2


@pytest.mark.parametrize("symbol", ["N/A", "-", ".", "..", ":", "~", "NULL", "12a"])
def test_symbols_other_than_x_are_errors_naming_file_row_and_column(tmp_path, example_rows, symbol):
    rows = [example_rows[0], dict(example_rows[1], cla=symbol)]
    parsed = read_return(write_return(tmp_path / "bad.csv", rows))

    [finding] = parsed.findings
    assert (finding.rule, finding.severity, finding.file, finding.row, finding.column) == (
        "invalid_value",
        "error",
        "bad.csv",
        3,
        "cla",
    )
    assert finding.value == symbol
    assert finding.one_line().startswith("bad.csv:3 [cla] error invalid_value:")


def test_unknown_and_missing_columns_are_reported_not_dropped_silently(tmp_path, example_rows):
    columns = [c for c in example_rows[0] if c != "population_0_17"] + ["favourite_colour"]
    parsed = read_return(write_return(tmp_path / "r.csv", example_rows, columns))

    rules = {(f.rule, f.column) for f in parsed.findings}
    assert ("unknown_column", "favourite_colour") in rules
    assert ("missing_required_column", "population_0_17") in rules
    assert not parsed.readable


@pytest.mark.parametrize(
    "content, name",
    [
        (b"", "empty.csv"),
        (b"\xff\xfe\x00garbage\x00", "binary.csv"),
        (b"PK\x03\x04 not really a workbook", "broken.xlsx"),
        (b"la_code,period\n", "notes.txt"),
    ],
)
def test_unreadable_files_become_one_finding_not_a_traceback(tmp_path, content, name):
    path = tmp_path / name
    path.write_bytes(content)

    parsed = read_return(path)

    [finding] = parsed.findings
    assert finding.rule == "file_unreadable" and finding.file == name
    assert "\n" not in finding.message


def test_a_row_of_the_wrong_width_is_an_error_on_its_authority_and_month(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("la_code,period,population_0_17,cla\nE06000009,2024-10,28630,529\nE06000006,2024-10\n")

    parsed = read_return(path)

    [finding] = parsed.findings
    assert (finding.rule, finding.row, finding.la_code, finding.period) == ("ragged_row", 3, "E06000006", "2024-10")
    assert list(parsed.values["la_code"]) == ["E06000009", "E06000006"]  # kept, so it can be held back


def test_a_header_without_returns_is_reported(tmp_path):
    path = tmp_path / "empty-return.csv"
    path.write_text("la_code,period,population_0_17,cla\n\n")

    assert [(f.rule, f.severity) for f in read_return(path).findings] == [("no_data_rows", "error")]


def test_xlsx_rows_are_numbered_as_in_the_sheet_after_leading_blank_rows(tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append([None])
    sheet.append([None])
    sheet.append(["la_code", "period", "population_0_17", "cla", "cla_rate_per_10k"])
    sheet.append(["E06000009", "2024-10", 28630, "N/A", 0.00001])
    path = tmp_path / "return.xlsx"
    workbook.save(path)

    parsed = read_return(path)

    assert [(f.rule, f.row, f.column) for f in parsed.findings] == [("invalid_value", 4, "cla")]
    assert parsed.text.loc[0, "cla_rate_per_10k"] == "0.00001"


def test_xlsx_reads_the_return_sheet_and_dates_typed_as_periods(tmp_path, example_rows):
    workbook = openpyxl.Workbook()
    workbook.active.title = "notes"
    workbook.active.append(["this sheet is not the return"])
    sheet = workbook.create_sheet("Return")
    header = list(example_rows[0])
    sheet.append(header)
    row = [example_rows[0][c] for c in header]
    row[header.index("period")] = dt.datetime(2024, 10, 1)
    row[header.index("cla")] = 529
    row[header.index("cla_rate_per_10k")] = 184.8
    sheet.append(row)
    path = tmp_path / "return.xlsx"
    workbook.save(path)

    parsed = read_return(path)

    assert parsed.findings == []
    assert parsed.values.loc[0, "period"] == "2024-10"
    assert parsed.values.loc[0, "cla"] == 529
    assert parsed.text.loc[0, "cla_rate_per_10k"] == "184.8"


def test_number_parsing():
    assert parse_number("1,043") == 1043 and parse_number("935.9") == 935.9
    assert parse_number("1,04") is None and parse_number("x") is None


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet='ab,"\r\n\t \x0b\x85\u2028x', max_size=40))
def test_csv_lines_are_split_as_stringio_splits_them(text):
    """The reader splits lines itself (StringIO would copy the text at four bytes a character)."""
    assert list(text_lines(text)) == list(io.StringIO(text, newline=""))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.text(max_size=4), min_size=1, max_size=6), max_size=40), st.integers(1, 7))
def test_rows_held_column_by_column_read_back_as_given(cells, batch):
    rows = [(number * 2 + 1, row) for number, row in enumerate(cells)]
    table = RowTable.from_rows(iter(rows), batch=batch)
    assert list(table) == rows and len(table) == len(rows)
    assert list(table[1:]) == rows[1:] and table.width == max((len(r) for r in cells), default=0)
