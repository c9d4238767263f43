"""Read a monthly return (CSV or XLSX) into a typed table that remembers each cell's text.

One reader per container. Nothing here raises on bad input: whatever cannot be read
becomes a finding naming the file, row and column, and reading goes on where it can.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pandas as pd

from schemas.catalogue import REQUIRED_COLUMNS, all_columns, indicators_by_column
from schemas.findings import Finding
from schemas.rules import RULES, new_finding

NOT_AVAILABLE = "x"
_NUMBER = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$")
SOURCE_COLUMNS = ["file", "row"]
# Findings after which nothing of the file can be read: the file is not a return.
UNREADABLE_RULES = ("file_unreadable", "missing_required_column")


@dataclass
class ParsedReturn:
    """A return as read: `text` holds every known cell as submitted, `values` the typed figures."""

    file: str
    text: pd.DataFrame
    values: pd.DataFrame
    findings: list[Finding] = field(default_factory=list)

    @property
    def readable(self) -> bool:
        return self.problem is None

    @property
    def problem(self) -> str | None:
        """Why nothing of the file can be read, in one line; None when it can be."""
        return next((f.message for f in self.findings if f.rule in UNREADABLE_RULES), None)


def parse_number(text: str) -> float | None:
    """The number in a cell as Excel exports it (`1,043`, `184`, `935.9`), or None."""
    text = text.strip()
    if not _NUMBER.match(text):
        return None
    return float(text.replace(",", ""))


def read_return(path: Path, display_name: str | None = None) -> ParsedReturn:
    name = display_name or Path(path).name
    suffix = Path(name).suffix.lower()
    try:
        if suffix == ".csv":
            header, rows, ragged = _read_csv_cells(Path(path))
        elif suffix == ".xlsx":
            (header, rows), ragged = _read_xlsx_cells(Path(path)), {}
        else:
            return _unreadable(name, f"'{suffix or 'no extension'}' is not a return: send CSV or XLSX")
    except Exception as exc:  # noqa: BLE001 - any corrupt container (bad zip, bad XML, bad encoding) is a finding
        return _unreadable(name, f"cannot be opened as {suffix[1:].upper()}: {_short(exc)}")
    return _tabulate(name, header, rows, ragged)


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:160]


def _unreadable(name: str, message: str) -> ParsedReturn:
    finding = new_finding("file_unreadable", file=name, message=message)
    return ParsedReturn(file=name, text=empty_frame(), values=empty_frame(), findings=[finding])


def empty_frame() -> pd.DataFrame:
    return pd.DataFrame(columns=[*SOURCE_COLUMNS, *all_columns()])


def _read_csv_cells(path: Path) -> tuple[list[str], list[tuple[int, list[str]]], dict[int, int]]:
    """Header, rows numbered as the file's lines, and {line: cell count} of rows of the wrong width.

    A row of the wrong width is kept, cut or padded to the header, so that its authority and
    month can be named and the return held back: its cells cannot be trusted, but dropping it
    would let an older submission stand in silence.
    """
    raw = path.read_bytes()
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text (byte {exc.start})") from None
    records = list(csv.reader(io.StringIO(content, newline="")))
    if not records or not any(cell.strip() for cell in records[0]):
        raise ValueError("the file is empty or has no header row")
    header, rows, ragged = records[0], [], {}
    for line_number, record in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in record):
            continue  # blank lines at the end of Excel exports
        if len(record) != len(header):
            ragged[line_number] = len(record)
            record = (record + [""] * len(header))[: len(header)]
        rows.append((line_number, record))
    return header, rows, ragged


def _excel_cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, (dt.datetime, dt.date)):
        return value.strftime("%Y-%m")  # a period typed into Excel becomes a date
    if isinstance(value, float):
        # Plain decimals, as Excel shows them: repr would write 1e-05.
        return str(int(value)) if value.is_integer() else format(Decimal(repr(value)), "f")
    return str(value)


def _read_xlsx_cells(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    import openpyxl  # only XLSX needs it

    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        sheets = {ws.title.strip().lower(): ws for ws in workbook.worksheets}
        sheet = sheets.get("return", workbook.worksheets[0])
        cells = [[_excel_cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()
    # Leading blank rows are skipped; row numbers stay the sheet's own.
    header_row = next((i for i, row in enumerate(cells, start=1) if any(c.strip() for c in row)), None)
    if header_row is None:
        raise ValueError("the sheet is empty")
    header = cells[header_row - 1]
    rows = [(number, row) for number, row in enumerate(cells[header_row:], start=header_row + 1)
            if any(c.strip() for c in row)]
    return header, rows


def _tabulate(name: str, header: list[str], rows: list[tuple[int, list[str]]], ragged: dict[int, int]) -> ParsedReturn:
    known = indicators_by_column()
    findings: list[Finding] = []
    normalised = [h.strip().lower() for h in header]
    seen: dict[str, int] = {}
    keep: dict[str, int] = {}
    for position, column in enumerate(normalised):
        if not column:
            if any(row[position].strip() for _, row in rows if position < len(row)):
                findings.append(new_finding("unknown_column", file=name, row=1,
                                            message=f"column {position + 1} has figures but no header: it was not read"))
            continue
        if column in seen:
            findings.append(new_finding("duplicate_column", file=name, row=1, column=column,
                                        message=f"column '{column}' appears twice; only the first was read"))
            continue
        seen[column] = position
        if column in known:
            keep[column] = position
        else:
            findings.append(new_finding("unknown_column", file=name, row=1, column=column,
                                        message=f"column '{header[position].strip()}' is not in the return standard: it was not read"))
    for column in REQUIRED_COLUMNS:
        if column not in keep:
            findings.append(new_finding("missing_required_column", file=name, row=1, column=column))
    if not all(c in keep for c in REQUIRED_COLUMNS):
        return ParsedReturn(file=name, text=empty_frame(), values=empty_frame(), findings=findings)

    columns = all_columns()
    text_records = []
    for line_number, row in rows:
        record = {"file": name, "row": line_number}
        for column in columns:
            position = keep.get(column)
            record[column] = row[position].strip() if position is not None and position < len(row) else None
        text_records.append(record)
    text = pd.DataFrame.from_records(text_records, columns=[*SOURCE_COLUMNS, *columns])
    values, cell_findings = _typed_values(name, text)
    if values.empty:
        findings.append(new_finding("no_data_rows", file=name, row=1,
                                    message="the file has a header but no returns under it"))
    for line_number, width in sorted(ragged.items()):
        record = values.loc[values["row"] == line_number].iloc[0]
        findings.append(new_finding(
            "ragged_row", file=name, row=line_number,
            la_code=None if pd.isna(record["la_code"]) else record["la_code"],
            period=None if pd.isna(record["period"]) else record["period"],
            message=f"row has {width} cells but the header has {len(header)}: its figures cannot be placed in columns"))
    # The cells of a row of the wrong width are misplaced: ragged_row says it once, not per cell.
    findings += [f for f in cell_findings if f.row not in ragged]
    return ParsedReturn(file=name, text=text, values=values, findings=findings)


def _typed_values(name: str, text: pd.DataFrame) -> tuple[pd.DataFrame, list[Finding]]:
    findings: list[Finding] = []
    values = pd.DataFrame({"file": text["file"], "row": text["row"].astype("int64")})
    for column in ("la_code", "la_name", "period"):
        values[column] = text[column].astype("string").str.strip().replace("", pd.NA)
    values["la_code"] = values["la_code"].str.upper()
    for indicator in indicators_by_column().values():
        if not indicator.is_numeric:
            continue
        parsed = []
        for row_number, la_code, period, cell in zip(text["row"], text["la_code"], text["period"], text[indicator.column]):
            if cell is None or cell == "" or cell.lower() == NOT_AVAILABLE:
                parsed.append(None)
                continue
            number = parse_number(cell)
            if number is None:
                findings.append(new_finding(
                    "invalid_value", file=name, row=int(row_number), la_code=la_code or None,
                    period=period or None, column=indicator.column, value=cell, expected=RULES["invalid_value"].expected))
            parsed.append(number)
        values[indicator.column] = pd.array(parsed, dtype="Float64")
    return values, findings
