"""The wide layout: an authority's own dashboard, indicators down the side and months across.

```
Blackpool Council: performance dashboard              <- title rows, any number
la_code: E06000009                                     <- the authority (or a row `la_code | E06000009`)
Indicator        2016/17  Apr-17  May-17 ... Target    <- the header: the first row with two months
Contacts                                               <- a section heading (no figures): skipped
Num (monthly)       -      995    1160  ...  850       <- a row label: the catalogue, or the mapping file
cla                 ...    529     531  ...
```

The sheet becomes the standard's long shape (one record per month column), so a wide file goes
through exactly the same rules, storage and publication as a long one. Each record remembers
where its cells are (`SheetColumn`), so every finding names the sheet's own cell.

The mapping file `<home>/reference/row_labels.csv` (columns `la_code, section, label, column`)
maps an authority's own row labels to catalogue columns; a blank `la_code` or `section` applies
to any. docs/standard.md documents both, with the seed's Blackpool dashboard as the example.
"""

from __future__ import annotations

import calendar
import csv
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from pipelines.ingest.grid import Grid, Row, SheetColumn, cell_address, column_letter
from schemas.catalogue import indicators_by_column
from schemas.findings import Finding
from schemas.rules import new_finding

MAPPING_COLUMNS = ("la_code", "section", "label", "column")
HEADER_SEARCH_ROWS = 50  # title rows above a header: a header further down is not looked for
_MONTH_NUMBERS = {name.lower(): number for number, name in enumerate(calendar.month_name) if name}
_MONTH_NUMBERS.update({name.lower(): number for number, name in enumerate(calendar.month_abbr) if name})
_MONTH_NUMBERS["sept"] = 9
_YEAR_MONTH = re.compile(r"(\d{4})-(\d{1,2})")
_NAMED_MONTH = re.compile(r"([A-Za-z]{3,9})\.?[\s\-/'’]*(\d{4}|\d{2})")
_TITLE_CODE = re.compile(r"la[\s_-]*code\s*[:=]\s*([A-Za-z]\d{8})\b", re.IGNORECASE)


def month_of(text: str) -> str | None:
    """`2017-12` for a month header (`2017-12`, `Dec-17`, `Dec 2017`, `December 2017`, an Excel date), else None."""
    text = text.strip()
    if match := _YEAR_MONTH.fullmatch(text):
        year, month = int(match[1]), int(match[2])
    elif match := _NAMED_MONTH.fullmatch(text):
        named = _MONTH_NUMBERS.get(match[1].lower())
        if named is None:
            return None
        month, year = named, int(match[2]) + (2000 if len(match[2]) == 2 else 0)
    else:
        return None
    return f"{year:04d}-{month:02d}" if month and 1 <= month <= 12 else None


def label_key(label: str) -> str:
    """A label as matched: case, spaces and punctuation ignored (`Num (12 mnth)` -> `num12mnth`),
    but not a percent sign: `Within 15 days (%)` is not `Within 15 days`."""
    return re.sub(r"[^a-z0-9]", "", label.lower().replace("%", "percent"))


@lru_cache(maxsize=1)
def catalogue_labels() -> dict[str, str]:
    """Every catalogue column name and label, as matched, -> its column."""
    names: dict[str, str] = {}
    for indicator in indicators_by_column().values():
        names.setdefault(label_key(indicator.label), indicator.column)
    names.update({label_key(column): column for column in indicators_by_column()})
    return names


def find_wide_header(grid: Grid) -> int | None:
    """Index in `grid.rows` of the first row whose later cells hold at least two months."""
    for index, (_, cells) in enumerate(grid.rows[:HEADER_SEARCH_ROWS]):
        if sum(month_of(cell) is not None for cell in cells[1:]) >= 2:
            return index
    return None


@dataclass(frozen=True)
class RowLabels:
    """The mapping file: (la_code or '', section key or '', label key) -> catalogue column."""

    columns: dict[tuple[str, str, str], str] = field(default_factory=dict)
    findings: tuple[Finding, ...] = ()

    def column_for(self, la_code: str, section: str, label: str) -> str | None:
        section, label = label_key(section), label_key(label)
        for key in ((la_code, section, label), (la_code, "", label), ("", section, label), ("", "", label)):
            if key in self.columns:
                return self.columns[key]
        return catalogue_labels().get(label)


def load_row_labels(path: Path | None) -> RowLabels:
    """The mapping file at `path` (absent: no mapping). A line naming no catalogue column is a warning."""
    if path is None or not path.is_file():
        return RowLabels()
    columns, findings = {}, []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in MAPPING_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            return RowLabels(
                findings=(
                    new_finding(
                        "wide_unknown_label",
                        file=path.name,
                        message=(f"the row-label mapping has no column {', '.join(missing)}: it was not used"),
                    ),
                )
            )
        for line, entry in enumerate(reader, start=2):
            column = (entry["column"] or "").strip().lower()
            if column not in indicators_by_column():
                findings.append(
                    new_finding(
                        "wide_unknown_label",
                        file=path.name,
                        row=line,
                        message=(
                            f"the row-label mapping maps '{entry['label']}' to '{entry['column']}', which is not a column "
                            "of the standard: that line was not used"
                        ),
                    )
                )
                continue
            key = (
                (entry["la_code"] or "").strip().upper(),
                label_key(entry["section"] or ""),
                label_key(entry["label"] or ""),
            )
            columns[key] = column
    return RowLabels(columns, tuple(findings))


@dataclass
class WideSheet:
    """A wide sheet read into the standard's long shape: one text record per month column."""

    header_row: int
    records: list[dict[str, object]]
    locators: list[SheetColumn]
    findings: list[Finding]


def _authority(grid: Grid) -> tuple[str, str] | None:
    """(la_code, its cell) from a title cell `la_code: E06000009` or a row `la_code | E06000009`."""
    for number, cells in grid.rows:
        filled = [(position, cell.strip()) for position, cell in enumerate(cells) if cell.strip()]
        for position, cell in filled:
            if match := _TITLE_CODE.search(cell):
                return match[1].upper(), cell_address(grid.sheet, number, position)
        if len(filled) >= 2 and catalogue_labels().get(label_key(filled[0][1])) == "la_code":
            position, code = filled[1]
            return code.upper(), cell_address(grid.sheet, number, position)
    return None


def _header_finding(rule: str, name: str, grid: Grid, number: int, position: int, message: str) -> Finding:
    # About the sheet, not one month: no row (so it applies to every return the file gives), the cell says where.
    return new_finding(rule, file=name, message=message, cell=cell_address(grid.sheet, number, position))


def read_wide(name: str, grid: Grid, header_index: int, row_labels: RowLabels) -> WideSheet:
    header_row, header = grid.rows[header_index]
    body = grid.rows[header_index + 1 :]
    findings: list[Finding] = list(row_labels.findings)
    authority = _authority(grid)
    if authority is None:
        findings.append(
            new_finding(
                "wide_authority_missing",
                file=name,
                message=(
                    "a wide sheet names its authority in a title cell 'la_code: E06000009' or a row 'la_code | E06000009'; "
                    "this one does neither"
                ),
            )
        )
        return WideSheet(header_row, [], [], findings)
    la_code, _ = authority

    months: dict[int, str] = {}  # position -> month
    seen_months: dict[str, int] = {}
    width = max(len(header), *(len(cells) for _, cells in body)) if body else len(header)
    filled_positions = {p for _, cells in body for p, cell in enumerate(cells) if cell.strip()}
    label_position = next(
        (p for p in range(width) if p in filled_positions or (p < len(header) and header[p].strip())), 0
    )
    for position in range(label_position + 1, width):
        text = header[position].strip() if position < len(header) else ""
        month = month_of(text) if text else None
        if month is None:
            if text or position in filled_positions:
                described = f"'{text}'" if text else f"column {column_letter(position)} (no header)"
                findings.append(
                    _header_finding(
                        "wide_column_ignored",
                        name,
                        grid,
                        header_row,
                        position,
                        f"{described} is not a month: its cells were not read",
                    )
                )
            continue
        if month in seen_months:
            findings.append(
                _header_finding(
                    "duplicate_column",
                    name,
                    grid,
                    header_row,
                    position,
                    (
                        f"month {month} has two columns ({column_letter(seen_months[month])} and {column_letter(position)}); "
                        "only the first was read"
                    ),
                )
            )
            continue
        seen_months[month] = position
        months[position] = month

    section = ""
    rows_of: dict[str, Row] = {}  # catalogue column -> the sheet row that gives it
    for number, cells in body:
        label = cells[label_position].strip() if label_position < len(cells) else ""
        has_figures = any(position < len(cells) and cells[position].strip() for position in months)
        if not has_figures:
            section = label or section  # a heading (or a row of notes) starts a section
            continue
        column = row_labels.column_for(la_code, section, label) if label else None
        if column is None:
            shown = (
                f"'{label}'" + (f" under '{section}'" if section and label else "") if label else "a row with no label"
            )
            findings.append(
                _header_finding(
                    "wide_unknown_label",
                    name,
                    grid,
                    number,
                    label_position,
                    (
                        f"{shown} has figures but is not a column of the standard nor in the row-label mapping: "
                        "it was not read"
                    ),
                )
            )
            continue
        if column in ("la_code", "period"):
            continue  # the authority is read above; the months are the header
        if column in rows_of:
            findings.append(
                _header_finding(
                    "duplicate_column",
                    name,
                    grid,
                    number,
                    label_position,
                    (f"rows {rows_of[column][0]} and {number} both give {column}; only the first was read"),
                )
            )
            continue
        rows_of[column] = (number, cells)

    row_numbers = {column: number for column, (number, _) in rows_of.items()}
    records, locators = [], []
    for position, month in months.items():
        cells = {column: (row[position].strip() if position < len(row) else "") for column, (_, row) in rows_of.items()}
        if not any(cells.values()):
            continue  # a month column not filled in yet (Jan-Mar of a dashboard in December)
        records.append({"file": name, "row": header_row, "la_code": la_code, "period": month, **cells})
        locators.append(SheetColumn(grid.sheet, position, header_row, row_numbers))
    return WideSheet(header_row, records, locators, findings)
