"""A CSV as Excel and people really write it: UTF-8 (with or without a byte-order mark),
Windows-1252 (Excel's plain "CSV"), UTF-16 with a byte-order mark; CRLF; quoted numbers.

Nothing here decides what the rows mean: that is the layouts' work (`pipelines/ingest/layouts.py`).
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator
from pathlib import Path

from pipelines.ingest.grid import Grid, Row, RowTable
from pipelines.ingest.limits import (
    LimitExceeded,
    Limits,
    check_cell_length,
    check_file_size,
    check_row_count,
    check_width,
)
from schemas.rules import new_finding

WINDOWS_1252 = "cp1252"


def decode_text(raw: bytes, name: str) -> tuple[str, list]:
    """The file's text and, when its encoding had to be guessed, a warning saying so.

    Raises ValueError with a one-line reason when the bytes are not text we can read.
    """
    if raw.startswith(codecs.BOM_UTF8):
        try:
            return raw[len(codecs.BOM_UTF8) :].decode("utf-8"), []
        except UnicodeDecodeError as exc:
            raise ValueError(f"starts as UTF-8 but is not (byte {exc.start + 3})") from None
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = raw.decode("utf-16")
        except UnicodeDecodeError:
            raise ValueError("starts as UTF-16 text but cannot be read as it: save it as 'CSV UTF-8'") from None
        if "\x00" in text:
            raise ValueError("is UTF-16 text holding binary data: save it as 'CSV UTF-8'")
        return text, []
    if b"\x00" in raw:
        raise ValueError("holds NUL bytes: it is binary, or UTF-16 without a byte-order mark; save it as 'CSV UTF-8'")
    try:
        return raw.decode("utf-8"), []
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    try:
        text = raw.decode(WINDOWS_1252)
    except UnicodeDecodeError:
        raise ValueError(f"is neither UTF-8 nor Windows-1252 text (byte {first_bad}): save it as 'CSV UTF-8'") from None
    line = raw.count(b"\n", 0, first_bad) + 1
    warning = new_finding(
        "encoding_guessed",
        file=name,
        message=(
            f"not UTF-8 (first at line {line}): read as Windows-1252, Excel's plain 'CSV'; "
            "check the text, or save as 'CSV UTF-8' to be sure"
        ),
    )
    return text, [warning]


def _dialect(text: str) -> str:
    """Comma, unless the first line holds tabs and no comma (Excel's 'Unicode Text')."""
    first_line = text.split("\n", 1)[0]
    return "\t" if "\t" in first_line and "," not in first_line else ","


# Lines as `io.StringIO(text, newline="")` gives them to the csv module (split after \r\n, \r or
# \n, endings kept), without StringIO's copy of the whole text at four bytes a character.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


def text_lines(text: str) -> Iterator[str]:
    return (match.group() for match in _LINE.finditer(text))


def read_csv_grid(path: Path, name: str, limits: Limits) -> Grid:
    """The CSV's non-blank rows, numbered as its lines; raises ValueError (or LimitExceeded) with one line."""
    check_file_size(path, limits)
    text, warnings = decode_text(path.read_bytes(), name)
    reader = csv.reader(text_lines(text), delimiter=_dialect(text))

    def nonblank_rows() -> Iterator[Row]:
        for number, record in enumerate(reader, start=1):
            check_row_count(number, limits)
            check_width(number, len(record), limits)
            check_cell_length(number, record, limits)
            if any(cell.strip() for cell in record):
                yield number, record

    try:
        rows = RowTable.from_rows(nonblank_rows())
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise LimitExceeded(
                f"a cell near line {reader.line_num} is over the limit of "
                f"{limits.max_cell_chars:,} characters (max_cell_chars)"
            ) from None
        raise ValueError(f"line {reader.line_num}: {exc}") from None
    return Grid(None, rows, warnings)
