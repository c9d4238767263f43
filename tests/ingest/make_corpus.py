"""Write the reader's corpus: small messy and hostile files as councils and tools really produce them.

    python -m tests.ingest.make_corpus            # rewrites tests/ingest/corpus/

Every file is SYNTHETIC (Blackpool's made-up consistent months from tests/validate/conftest.py).
The verdict and the findings each file must produce are in tests/ingest/test_corpus.py. The
files are committed so that a reviewer can open them; this script is how they were made.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import zipfile
from pathlib import Path

import openpyxl

from tests.validate.conftest import synthetic_months

CORPUS = Path(__file__).with_name("corpus")
TITLE = "SYNTHETIC return – Blackpool, £ figures none"  # an en dash and a pound sign, as Excel users type


def _rows() -> list[list[str]]:
    frame = synthetic_months(end="2024-11", months=2)
    return [list(frame.columns), *frame.astype(str).values.tolist()]


def _csv_text(rows: list[list[str]], line_end: str = "\n", delimiter: str = ",") -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=line_end, delimiter=delimiter).writerows(rows)
    return buffer.getvalue()


def workbook_of(sheets: dict[str, list[list[object]]]) -> openpyxl.Workbook:
    """A workbook of these sheets (title: rows), in order, and nothing else."""
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    return workbook


def workbook_bytes_of(sheets: dict[str, list[list[object]]]) -> bytes:
    """`workbook_of(sheets)` as the bytes of an .xlsx file."""
    buffer = io.BytesIO()
    workbook_of(sheets).save(buffer)
    return buffer.getvalue()


def _typed(rows: list[list[str]]) -> list[list[object]]:
    """Cells as Excel holds them: numbers as numbers."""

    def typed(cell: str) -> object:
        try:
            return int(cell)
        except ValueError:
            try:
                return float(cell)
            except ValueError:
                return cell

    return [rows[0], *[[typed(c) for c in row] for row in rows[1:]]]


def _wide_rows(rows: list[list[str]]) -> list[list[str]]:
    header, *records = rows
    wide = [
        ["SYNTHETIC dashboard"],
        ["la_code: E06000009"],
        ["Indicator", *[r[header.index("period")] for r in records], "Target"],
    ]
    for position, column in enumerate(header):
        if column in ("la_code", "la_name", "period"):
            continue
        wide.append([column, *[r[position] for r in records], ""])
    wide.insert(3, ["Population and flows"])
    wide[5][-1] = "500"  # a target beside the months
    return wide


def write_corpus(folder: Path = CORPUS) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rows = _rows()
    header = rows[0]
    files: dict[str, bytes] = {}
    files["standard.csv"] = _csv_text(rows).encode("utf-8")
    files["excel-utf8-bom-crlf.csv"] = codecs.BOM_UTF8 + _csv_text(rows, "\r\n").encode("utf-8")
    files["excel-windows-1252-title-row.csv"] = _csv_text([[TITLE], *rows], "\r\n").encode("cp1252")
    files["excel-unicode-text-utf16.csv"] = codecs.BOM_UTF16_LE + _csv_text(rows, "\r\n", "\t").encode("utf-16-le")
    files["utf16-without-bom.csv"] = _csv_text(rows).encode("utf-16-le")
    # Excel writes every column to the widest row: trailing empty columns, then empty last rows.
    padded = [row + ["", ""] for row in rows] + [[""] * (len(header) + 2)] * 2
    files["trailing-empty-columns-and-rows.csv"] = _csv_text(padded, "\r\n").encode("utf-8")
    quoted = [rows[0], *[[f"{int(c):,}" if c.isdigit() and int(c) >= 1000 else c for c in row] for row in rows[1:]]]
    files["quoted-thousands.csv"] = _csv_quoted(quoted).encode("utf-8")
    files["symbols.csv"] = _csv_text(
        [header, rows[1], [("N/A" if c == "cla" else v) for c, v in zip(header, rows[2])]]
    ).encode()
    files["ragged-row.csv"] = (_csv_text(rows[:2]) + ",".join(rows[2][:5]) + "\n").encode()
    files["header-only.csv"] = _csv_text([header]).encode()
    files["empty.csv"] = b""
    files["binary.csv"] = bytes(range(256)) * 4
    files["notes.txt"] = _csv_text(rows).encode()
    files["broken.xlsx"] = b"PK\x03\x04 not really a workbook"
    files["wide-dashboard.csv"] = _csv_text(_wide_rows(rows)).encode()
    files["cell-too-long.csv"] = _csv_text([header, rows[1][:-1] + ["9" * 2000]]).encode()
    files["too-many-columns.csv"] = _csv_text([header + [f"extra_{i}" for i in range(600)], rows[1]]).encode()
    for name, content in files.items():
        (folder / name).write_bytes(content)

    typed = _typed(rows)
    workbook_of({"Return": [["SYNTHETIC monthly return"], ["Blackpool Council"], [], *typed]}).save(
        folder / "title-rows.xlsx"
    )
    workbook_of({"Notes": [["Read me first"], ["This workbook is SYNTHETIC."]], "Data": typed}).save(
        folder / "notes-sheet-first.xlsx"
    )
    workbook = workbook_of({"return": typed})
    sheet = workbook["return"]
    period, percent = header.index("period") + 1, header.index("contacts_to_referral_percent") + 1
    for row in range(2, sheet.max_row + 1):
        cell = sheet.cell(row, period)
        cell.value = dt.datetime.strptime(cell.value, "%Y-%m")
        cell.number_format = "mmm-yy"
        rate = sheet.cell(row, percent)
        rate.value, rate.number_format = rate.value / 100, "0.0%"
    workbook.save(folder / "date-period-and-percent-format.xlsx")
    workbook = workbook_of({"return": typed})
    rate_column = header.index("cla_rate_per_10k") + 1
    letter = openpyxl.utils.get_column_letter
    workbook["return"].cell(
        3, rate_column
    ).value = f"={letter(header.index('cla') + 1)}3/{letter(header.index('population_0_17') + 1)}3*10000"
    workbook.save(folder / "formula-without-value.xlsx")  # openpyxl saves formulas without cached values
    workbook_of({"Dashboard": _typed(_wide_rows(rows))}).save(folder / "wide-dashboard.xlsx")
    write_zip_bomb(folder / "zip-bomb-small.xlsx", 120 * 1024 * 1024)
    return sorted(folder.iterdir())


def _csv_quoted(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def write_zip_bomb(path: Path, inflated_bytes: int, level: int = 9) -> Path:
    """A zip named .xlsx whose one member inflates to `inflated_bytes` of zeros, written streaming
    (a megabyte at a time), so that making a 900 MB bomb costs seconds and a few MB of memory
    (level 1: 3 s and 4 MB on disk; level 9: 7 s and 0.9 MB)."""
    block = b"\0" * (1 << 20)
    with (
        zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=level) as archive,
        archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member,
    ):
        written = 0
        while written < inflated_bytes:
            chunk = block[: min(len(block), inflated_bytes - written)]
            member.write(chunk)
            written += len(chunk)
    return path


if __name__ == "__main__":
    for written in write_corpus():
        print(written.relative_to(CORPUS.parent), written.stat().st_size)
