"""Fuzzing the reader and `validate`: nothing a file holds makes them raise, and any consistent
SYNTHETIC return, written in either layout and either container, reads to the same figures with
no error finding."""

from __future__ import annotations

import csv
import datetime as dt
import io
import tempfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.home import DataHome
from pipelines.ingest.readers import read_return
from pipelines.reference import import_demo_reference, load_reference
from pipelines.validate.rulebook import validate_rows
from schemas.catalogue import all_columns, indicators_by_column
from schemas.findings import ERROR
from tests.validate.conftest import synthetic_months

FUZZ = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


@pytest.fixture(scope="module")
def fuzz_home(tmp_path_factory):
    home = DataHome(tmp_path_factory.mktemp("fuzz") / "home").ensure()
    import_demo_reference(home)
    return home


@pytest.fixture(scope="module")
def reference(fuzz_home):
    return load_reference(fuzz_home)


def _validate(path: Path, home: DataHome, reference) -> list:
    """What `csc-returns validate` does with one file (without printing)."""
    parsed = read_return(path, home=home)
    findings = list(parsed.findings)
    if parsed.readable:
        findings += validate_rows(parsed.values, parsed.text, reference, None, engine="pandas")
    assert all(f.file == path.name and "\n" not in f.message for f in findings)
    return findings


def _write(content: bytes, suffix: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="fuzz-"))
    path = folder / f"fuzzed{suffix}"
    path.write_bytes(content)
    return path


@FUZZ
@given(content=st.binary(max_size=2000), suffix=st.sampled_from([".csv", ".xlsx"]))
def test_arbitrary_bytes_never_raise(content, suffix, fuzz_home, reference):
    _validate(_write(content, suffix), fuzz_home, reference)


_cells = st.one_of(
    st.text(max_size=12),
    st.integers(-(10**6), 10**7).map(str),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(repr),
    st.sampled_from(["x", "N/A", "-", "1,043", "E06000009", "2024-10", "Oct-24", "=A1*2", "la_code", "period", ""]),
)
_headers = st.lists(
    st.one_of(st.sampled_from(all_columns()), st.text(max_size=10), st.sampled_from(["Oct-24", "2024-11"])),
    min_size=1,
    max_size=8,
)


@FUZZ
@given(
    header=_headers,
    rows=st.lists(st.lists(_cells, max_size=9), max_size=8),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]),
)
def test_arbitrary_csv_text_never_raises(header, rows, encoding, fuzz_home, reference):
    buffer = io.StringIO()
    csv.writer(buffer).writerows([header, *rows])
    content = buffer.getvalue().encode(encoding, errors="replace")
    _validate(_write(content, ".csv"), fuzz_home, reference)


_workbook_cells = st.one_of(
    st.none(),
    st.integers(-(10**6), 10**7),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=10),
    st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2030, 1, 1)),
    st.sampled_from(["=1+1", "=B2/C2*10000", "la_code: E06000009", "la_code", "period", "population_0_17", "cla"]),
)


@FUZZ
@given(
    sheets=st.lists(st.lists(st.lists(_workbook_cells, max_size=6), max_size=8), min_size=1, max_size=3),
    names=st.lists(
        st.sampled_from(["Return", "Notes", "Dashboard", "Sheet 1", "return"]), min_size=3, max_size=3, unique=True
    ),
)
def test_arbitrary_small_workbooks_never_raise(sheets, names, fuzz_home, reference):
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, rows in zip(names, sheets):
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    path = _write(b"", ".xlsx")
    workbook.save(path)
    _validate(path, fuzz_home, reference)


def _month_header(month: str, style: str) -> object:
    stamp = dt.datetime.strptime(month, "%Y-%m")
    return {"iso": month, "abbr": stamp.strftime("%b-%y"), "full": stamp.strftime("%B %Y"), "date": stamp}[style]


def _wide_lines(frame: pd.DataFrame, style: str, label_style: str) -> list[list[object]]:
    labels = {column: indicator.label for column, indicator in indicators_by_column().items()}
    lines: list[list[object]] = [
        ["SYNTHETIC dashboard"],
        [f"la_code: {frame['la_code'].iloc[0]}"],
        [],
        ["Indicator", *[_month_header(m, style) for m in frame["period"]], "Target"],
    ]
    for column in all_columns():
        if column in ("la_code", "la_name", "period"):
            continue
        label = {"column": column, "label": labels[column], "shouted": labels[column].upper()}[label_style]
        lines.append([label, *frame[column], ""])
    return lines


def _save(lines: list[list[object]], suffix: str) -> Path:
    path = _write(b"", suffix)
    if suffix == ".csv":
        with path.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows([["" if c is None else c for c in line] for line in lines])
    else:
        workbook = openpyxl.Workbook()
        for line in lines:
            workbook.active.append([int(c) if isinstance(c, str) and c.isdigit() else c for c in line])
        workbook.save(path)
    return path


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(
    end=st.sampled_from(["2023-06", "2024-03", "2024-11", "2025-01"]),
    months=st.integers(1, 4),
    layout=st.sampled_from(["long", "wide"]),
    suffix=st.sampled_from([".csv", ".xlsx"]),
    style=st.sampled_from(["iso", "abbr", "full", "date"]),
    label_style=st.sampled_from(["column", "label", "shouted"]),
)
def test_a_consistent_return_in_either_layout_reads_the_same_with_no_error(
    end, months, layout, suffix, style, label_style, fuzz_home, reference
):
    if layout == "wide":
        months = max(months, 2)  # a wide header is a row with at least two months (docs/standard.md)
    frame = synthetic_months(end=end, months=months).drop(columns=["la_name"]).reindex(columns=all_columns())
    frame["la_name"] = ""
    long_path = _save([list(frame.columns), *frame.fillna("").values.tolist()], ".csv")
    if layout == "long":
        lines = [list(frame.columns), *frame.fillna("").values.tolist()]
    else:
        lines = _wide_lines(frame.fillna(""), "iso" if suffix == ".csv" and style == "date" else style, label_style)
    path = _save(lines, suffix)

    findings = _validate(path, fuzz_home, reference)
    expected = read_return(long_path, home=fuzz_home)

    assert [f.one_line() for f in findings if f.severity == ERROR] == []
    got = read_return(path, home=fuzz_home)
    figures = [c for c in expected.values.columns if c not in ("file", "row", "cell_of")]
    pd.testing.assert_frame_equal(got.values[figures].reset_index(drop=True), expected.values[figures])
