"""Read a monthly return (CSV or XLSX, long or wide) into a typed table that remembers each cell's text.

A container reader (`delimited.py`, `excel.py`) gives the file's cells as a `Grid`, within the
limits of `limits.py`; the layout is then recognised: the standard's header (la_code, period, ...,
title rows above it allowed) or a wide dashboard (`wide.py`, months across). Either way the
result is one `ParsedReturn` in the long shape, so every later stage sees the same thing.
Nothing here raises on bad input: whatever cannot be read becomes a finding naming the file,
row and column (and the cell, in a workbook or a wide sheet), and reading goes on where it can.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.home import DataHome
from pipelines.ingest.cells import arrow_text, as_text_column, python_strings, text_column
from pipelines.ingest.delimited import read_csv_grid
from pipelines.ingest.excel import RETURN_SHEET, Workbook
from pipelines.ingest.grid import Grid, RowTable, SheetRow, cell_address
from pipelines.ingest.limits import LimitExceeded, Limits
from pipelines.ingest.wide import HEADER_SEARCH_ROWS, WideSheet, find_wide_header, load_row_labels, read_wide
from schemas.catalogue import REQUIRED_COLUMNS, all_columns, indicators_by_column
from schemas.findings import Finding
from schemas.rules import LOCATOR_COLUMN, RULES, new_finding

NOT_AVAILABLE = "x"
_NUMBER_TEXT = r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"  # 1,043 or 184 or 935.9
_NUMBER = re.compile(f"^{_NUMBER_TEXT}$")
_TEXT = "string[pyarrow]"  # the dtype figures are parsed from (pd.to_numeric), as they always were
_CELLS_PER_PASS = 1_000_000  # cells parsed in one pass: a small file pays once, not once a column
SOURCE_COLUMNS = ["file", "row"]
# Findings after which nothing of the file can be read: the file is not a return.
UNREADABLE_RULES = ("file_unreadable", "missing_required_column", "limit_exceeded", "wide_authority_missing")


@dataclass
class ParsedReturn:
    """A return as read: `text` holds every known cell as submitted (Arrow strings, `ingest/cells.py`),
    `values` the typed figures."""

    file: str
    text: pd.DataFrame
    values: pd.DataFrame
    findings: list[Finding] = field(default_factory=list)
    # Computed from child-level records (an Annex A workbook), not typed: a typed return of the
    # same authority and month is preferred to it (ingest/received.py).
    child_level: bool = False
    extract_date: dt.date | None = None  # of a child-level workbook: among them, the latest extract decides

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


def read_return(
    path: Path, display_name: str | None = None, home: DataHome | None = None, limits: Limits | None = None
) -> ParsedReturn:
    """The return in `path`, in the standard (long) or the wide layout, CSV or XLSX.

    `home` gives the row-label mapping of wide sheets (none without a home: the standard's labels only);
    `limits` default to `Limits.from_env()`. Never raises on bad input: see the module doc.
    """
    name = display_name or Path(path).name
    suffix = Path(name).suffix.lower()
    limits = limits or Limits.from_env()
    if suffix not in (".csv", ".xlsx"):
        return _unreadable(name, f"'{suffix or 'no extension'}' is not a return: send CSV or XLSX")
    try:
        if suffix == ".csv":
            grid = read_csv_grid(Path(path), name, limits)
        else:
            with Workbook(Path(path), limits) as workbook:
                grid = _return_sheet(workbook)
    except LimitExceeded as exc:
        return _unreadable(name, str(exc), rule="limit_exceeded")
    except Exception as exc:
        return _unreadable(name, f"cannot be opened as {suffix[1:].upper()}: {_short(exc)}")
    try:
        parsed = _read_grid(name, grid, home)
    except Exception as exc:
        return _unreadable(name, f"could not be read: {_short(exc)}")
    parsed.findings[:0] = grid.findings
    return parsed


def parse_table(name: str, header: list[str], rows: list[list[str]]) -> ParsedReturn:
    """Rows of cells as text under `header`, read as a return in the standard layout (rows numbered
    from 2, as in a CSV): how a return computed from child-level records enters the pipeline."""
    grid = Grid(
        None, RowTable.from_rows([(1, list(header)), *((number, cells) for number, cells in enumerate(rows, start=2))])
    )
    return _read_grid(name, grid, None)


def _return_sheet(workbook: Workbook) -> Grid:
    """The sheet named `return`, else the first sheet that holds a return in either layout (a Notes
    sheet first is fine), else the first sheet (whose findings then say what is missing)."""
    first: Grid | None = None
    for sheet in workbook.sheet_names():
        grid = workbook.grid(sheet)
        first = first or grid
        if (
            sheet.strip().lower() == RETURN_SHEET
            or _long_header(grid) is not None
            or find_wide_header(grid) is not None
        ):
            return grid
    if first is None:
        raise ValueError("the workbook has no sheets")
    return first


def _long_header(grid: Grid) -> int | None:
    """Index in `grid.rows` of the standard header: the first row naming la_code and period (title rows above it are skipped)."""
    for index, (_, cells) in enumerate(grid.rows[:HEADER_SEARCH_ROWS]):
        names = {cell.strip().lower() for cell in cells}
        if "la_code" in names and "period" in names:
            return index
    return None


def _read_grid(name: str, grid: Grid, home: DataHome | None) -> ParsedReturn:
    if not grid.rows:
        return _unreadable(
            name, "the sheet is empty" if grid.sheet is not None else "the file is empty or has no header row"
        )
    long_header = _long_header(grid)
    if long_header is None and (wide_header := find_wide_header(grid)) is not None:
        labels = load_row_labels(home.row_labels if home is not None else None)
        return _from_wide(name, read_wide(name, grid, wide_header, labels))
    return _tabulate(name, grid, long_header or 0)


def _from_wide(name: str, sheet: WideSheet) -> ParsedReturn:
    if any(f.rule in UNREADABLE_RULES for f in sheet.findings):
        return ParsedReturn(file=name, text=empty_frame(), values=empty_frame(), findings=sheet.findings)
    columns = all_columns()
    text = pd.DataFrame.from_records(sheet.records, columns=[*SOURCE_COLUMNS, *columns])
    for column in columns:
        text[column] = as_text_column(text[column])
    values, cell_findings = _typed_values(name, text, sheet.locators)
    findings = sheet.findings + cell_findings
    if values.empty:
        findings.append(
            new_finding(
                "no_data_rows",
                file=name,
                message=("the sheet has months across but no figures under them in rows the standard knows"),
            )
        )
    return ParsedReturn(file=name, text=text, values=values, findings=findings)


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:160]


def _unreadable(name: str, message: str, rule: str = "file_unreadable") -> ParsedReturn:
    finding = new_finding(rule, file=name, message=message)
    return ParsedReturn(file=name, text=empty_frame(), values=empty_frame(), findings=[finding])


def empty_frame() -> pd.DataFrame:
    return pd.DataFrame(columns=[*SOURCE_COLUMNS, *all_columns()])


def _header_location(grid: Grid, header_row: int, position: int) -> dict[str, Any]:
    """Where a header finding points. validate.month reads a finding with no row, or row 1, as
    about the whole file: a header below title rows keeps that meaning with no row and its cell."""
    if header_row == 1 and grid.sheet is None:
        return {"row": 1}
    return {"row": 1 if header_row == 1 else None, "cell": cell_address(grid.sheet, header_row, position)}


def _tabulate(name: str, grid: Grid, header_index: int) -> ParsedReturn:
    """The standard layout: a header row naming columns, then one row per authority and month."""
    header_row, header = grid.rows[header_index]
    body = grid.rows[header_index + 1 :]
    # Trailing empty columns (Excel exports them) are not columns.
    width = max((p + 1 for p, cell in enumerate(header) if cell.strip()), default=0)
    known = indicators_by_column()
    findings: list[Finding] = []
    normalised = [h.strip().lower() for h in header[:width]]
    seen: dict[str, int] = {}
    keep: dict[str, int] = {}
    # The body is held column by column (short rows padded): which columns hold anything is a column operation.
    lengths = body.lengths
    filled = {position: body.filled(position) for position in range(max(width, body.width))}
    filled_positions = {position for position, cells in filled.items() if cells.any()}
    for position in range(max(width, max(filled_positions, default=-1) + 1)):
        column = normalised[position] if position < width else ""
        where = _header_location(grid, header_row, position)
        if not column:
            if position in filled_positions and (grid.sheet is not None or position < width):
                findings.append(
                    new_finding(
                        "unknown_column",
                        file=name,
                        **where,
                        message=f"column {position + 1} has figures but no header: it was not read",
                    )
                )
            continue
        if column in seen:
            findings.append(
                new_finding(
                    "duplicate_column",
                    file=name,
                    **where,
                    column=column,
                    message=f"column '{column}' appears twice; only the first was read",
                )
            )
            continue
        seen[column] = position
        if column in known:
            keep[column] = position
        else:
            findings.append(
                new_finding(
                    "unknown_column",
                    file=name,
                    **where,
                    column=column,
                    message=f"column '{header[position].strip()}' is not in the return standard: it was not read",
                )
            )
    for column in REQUIRED_COLUMNS:
        if column not in keep:
            findings.append(
                new_finding(
                    "missing_required_column", file=name, column=column, **_header_location(grid, header_row, 0)
                )
            )
    if not all(c in keep for c in REQUIRED_COLUMNS):
        return ParsedReturn(file=name, text=empty_frame(), values=empty_frame(), findings=findings)

    # A CSV row of the wrong width (cells missing, or figures beyond the header) is kept, cut or
    # padded to the header, so that its authority and month can be named and the return held
    # back: its cells cannot be trusted, but dropping it would let an older submission stand.
    beyond_header = np.zeros(len(body), dtype=bool)
    for position in range(width, max(width, body.width)):
        beyond_header |= filled[position]
    wrong_width = (lengths < width) | beyond_header
    ragged = (
        {} if grid.sheet is not None else dict(zip(body.numbers[wrong_width].tolist(), lengths[wrong_width].tolist()))
    )
    cells = {
        column: text_column(body.column(keep[column]))
        if column in keep
        else text_column(pa.nulls(len(body), pa.string()))
        for column in all_columns()
    }
    text = pd.DataFrame({"file": name, "row": body.numbers, **cells})  # built whole: a column at a time copies
    locators = None
    if grid.sheet is not None:
        positions = dict(keep)  # shared by every row's locator
        locators = [SheetRow(grid.sheet, number, positions) for number in body.numbers.tolist()]
    values, cell_findings = _typed_values(name, text, locators)
    if values.empty:
        findings.append(
            new_finding(
                "no_data_rows",
                file=name,
                **_header_location(grid, header_row, 0),
                message="the file has a header but no returns under it",
            )
        )
    header_width = len(header)
    for line_number, cells_given in sorted(ragged.items()):
        record = values.loc[values["row"] == line_number].iloc[0]
        findings.append(
            new_finding(
                "ragged_row",
                file=name,
                row=line_number,
                la_code=None if pd.isna(record["la_code"]) else record["la_code"],
                period=None if pd.isna(record["period"]) else record["period"],
                message=f"row has {cells_given} cells but the header has {header_width}: its figures cannot be placed in columns",
            )
        )
    # The cells of a row of the wrong width are misplaced: ragged_row says it once, not per cell.
    findings += [f for f in cell_findings if f.row not in ragged]
    pa.default_memory_pool().release_unused()  # Arrow's allocator would keep the work's memory for later
    return ParsedReturn(file=name, text=text, values=values, findings=findings)


def _numbers(cells: pd.Series) -> pd.Series:
    """`pd.to_numeric(cells, errors="coerce")` as Float64, each distinct text parsed once (a column of
    a million cells holds far fewer distinct figures, and is never a million Python strings)."""
    encoded = arrow_text(cells).combine_chunks().dictionary_encode()
    distinct = pd.Series(pd.array(encoded.dictionary.to_pylist(), dtype=_TEXT))
    parsed = pd.to_numeric(distinct, errors="coerce").astype("Float64")
    # A numeral too long for pandas (hundreds of digits) is still a number: infinite as a float, so
    # that a ceiling finds it above, never blank (which would publish as `x`).
    overlong = (parsed.isna() & distinct.notna()).to_numpy(dtype=bool)
    if overlong.any():
        floats = parsed.to_numpy(dtype="float64", na_value=np.nan)
        floats[overlong] = [float(text) for text in distinct[overlong]]
        parsed = pd.Series(pd.array(floats, dtype="Float64"))
    numbers = parsed.array
    codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype("int64")
    return pd.Series(numbers.take(codes, allow_fill=True), index=cells.index)


def _typed_values(name: str, text: pd.DataFrame, locators: list | None = None) -> tuple[pd.DataFrame, list[Finding]]:
    """The figures of `text` as numbers; a cell that is not a number, blank or x is a finding.

    The numeric columns are parsed side by side as one Arrow column, as many at a time as keep a
    pass near `_CELLS_PER_PASS` cells: a file of a few hundred rows is one pass (its cost is a
    file's, not sixty columns'), a million rows one column a pass (its memory a column's)."""
    rows = len(text)
    columns: dict[str, pd.Series] = {"file": text["file"].copy(), "row": text["row"].astype("int64")}
    for column in ("la_code", "la_name", "period"):
        columns[column] = python_strings(text[column], lambda cells: cells.str.strip().replace("", pd.NA))
    columns["la_code"] = python_strings(columns["la_code"], lambda codes: codes.str.upper())
    if locators is not None:
        columns[LOCATOR_COLUMN] = pd.Series(locators, index=text.index, dtype="object")
    numeric = [indicator.column for indicator in indicators_by_column().values() if indicator.is_numeric]
    per_pass = max(1, _CELLS_PER_PASS // max(rows, 1))
    unreadable_cells: list[tuple[str, int, str]] = []  # (column, position, cell), column by column
    for start in range(0, len(numeric), per_pass):
        batch = numeric[start : start + per_pass]
        # In Arrow, as pandas' string methods would do it (fullmatch is `^(...)$` in RE2), without their copies.
        cells = pa.chunked_array(
            [chunk for column in batch for chunk in arrow_text(text[column]).cast(pa.string()).chunks],
            type=pa.string(),
        ).fill_null("")
        given = pc.and_(pc.not_equal(cells, ""), pc.not_equal(pc.utf8_lower(cells), NOT_AVAILABLE))
        number = pc.match_substring_regex(cells, f"^({_NUMBER_TEXT})$")
        figures = pc.if_else(pc.and_(given, number), pc.replace_substring(cells, ",", ""), None)
        parsed = _numbers(pd.Series(text_column(figures))).array
        for offset, column in enumerate(batch):
            columns[column] = pd.Series(parsed[offset * rows : (offset + 1) * rows], index=text.index)
        unreadable = pc.and_(given, pc.invert(number))
        positions = np.flatnonzero(unreadable.to_numpy(zero_copy_only=False).astype(bool))
        for at, cell in zip(positions.tolist(), pc.filter(cells, unreadable).to_pylist()):
            offset, position = divmod(at, rows)
            unreadable_cells.append((batch[offset], position, cell))
    values = pd.DataFrame(columns, index=text.index, copy=False)  # the columns are this frame's own: no second copy
    findings: list[Finding] = []
    for column, position, cell in unreadable_cells:
        record = values.iloc[position]
        rule = "formula_without_value" if cell.startswith("=") else "invalid_value"
        findings.append(
            new_finding(
                rule,
                file=name,
                row=int(record["row"]),
                la_code=None if pd.isna(record["la_code"]) else record["la_code"],
                period=None if pd.isna(record["period"]) else record["period"],
                column=column,
                value=cell,
                expected=RULES[rule].expected,
                cell=locators[position](column) if locators is not None else None,
            )
        )
    return values, findings
