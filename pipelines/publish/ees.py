"""The layout of DfE's open-data standard for Explore Education Statistics (EES).

One place for the column names, symbols, metadata and CSV dialect, so that the release
writer, the screener and the data package all agree on what a published file is.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from operator import itemgetter
from pathlib import Path

from pipelines.publish.folder import write_file
from pipelines.shown import looks_like_formula, spreadsheet_cell  # noqa: F401 - looks_like_formula: the screener reads it here
from schemas.catalogue import PERIOD_PATTERN, Indicator, indicators_by_column, load_catalogue
from schemas.month import MONTH_NAMES

TIME_COLUMNS = ("time_period", "time_identifier")
GEOGRAPHY_COLUMNS = (
    "geographic_level",
    "country_code",
    "country_name",
    "region_code",
    "region_name",
    "old_la_code",
    "new_la_code",
    "la_name",
)
LA_COLUMNS = ("old_la_code", "new_la_code", "la_name")
META_COLUMNS = (
    "col_name",
    "col_type",
    "label",
    "indicator_grouping",
    "indicator_unit",
    "indicator_dp",
    "filter_hint",
    "filter_grouping_column",
)
# revisions.csv: one row per published figure changed after publication (written by release.py,
# screened by screener.py).
REVISION_COLUMNS = ("month", "geography", "geography_name", "indicator", "old", "new", "date")

NATIONAL, REGIONAL, LOCAL_AUTHORITY = "National", "Regional", "Local authority"
GEOGRAPHIC_LEVELS = (NATIONAL, REGIONAL, LOCAL_AUTHORITY)
ENGLAND_CODE, ENGLAND_NAME = "E92000001", "England"

SUPPRESSED, NOT_AVAILABLE, NOT_APPLICABLE = "c", "x", "z"
SYMBOLS = ("c", "x", "z", "low", "u")
# EES accepts these indicator units; counts and rates per 10,000 carry none.
INDICATOR_UNITS = ("", "%", "£", "£m", "pp", "numberstring")
UNIT_BY_CATALOGUE = {"count": "", "percent": "%", "rate_per_10k": ""}
GROUPING_BY_KIND = {
    "population": "Population",
    "flow": "Flows in the month",
    "rolling12": "Twelve months to the end of the month",
    "stock": "Children at the end of the month",
}
GROUPING_BY_UNIT = {"percent": "Percentages", "rate_per_10k": "Rates per 10,000 children"}

MONTH_PATTERN = re.compile(PERIOD_PATTERN)
# Tables parsed lately, by the sha256 of their bytes (`parse_table`): two series-sized ones at most.
_PARSED: OrderedDict[str, tuple[list[str], list[list[str]]]] = OrderedDict()
_PARSED_AT_MOST = 2
_KEPT_FROM_ROWS = 1000  # a series is worth keeping; a month's snapshot is parsed again at little cost
# Spreadsheet programs run a cell that starts with one of these as a formula (OWASP CSV injection).
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def published_indicators() -> list[Indicator]:
    """Every numeric column of the return, in catalogue order: the population denominator first."""
    return [i for i in load_catalogue() if i.is_numeric]


def published_columns() -> list[str]:
    return [*TIME_COLUMNS, *GEOGRAPHY_COLUMNS, *(i.column for i in published_indicators())]


def indicator_grouping(indicator: Indicator) -> str:
    return GROUPING_BY_UNIT.get(indicator.unit) or GROUPING_BY_KIND[indicator.kind]


def meta_rows() -> list[dict[str, str]]:
    """One metadata row per indicator. No filters: the data has none with more than one value."""
    return [
        {
            "col_name": i.column,
            "col_type": "Indicator",
            "label": safe_text(i.label),
            "indicator_grouping": indicator_grouping(i),
            "indicator_unit": UNIT_BY_CATALOGUE[i.unit],
            "indicator_dp": str(i.publish_dp if i.publish_dp is not None else 0),
            "filter_hint": "",
            "filter_grouping_column": "",
        }
        for i in published_indicators()
    ]


def time_identifiers(month: str) -> tuple[str, str]:
    """`2025-12` -> (`2025`, `December`): EES monthly data keeps the year and month name apart."""
    return month[:4], MONTH_NAMES[int(month[5:7]) - 1]


def month_words(month: str) -> str:
    """`2025-12` -> `December 2025`, as notes name a month."""
    year, name = time_identifiers(month)
    return f"{name} {year}"


def month_of(time_period: str, time_identifier: str) -> str:
    return f"{time_period}-{MONTH_NAMES.index(time_identifier) + 1:02d}"


def safe_text(value: str) -> str:
    """A text cell a spreadsheet would run as a formula is published with a leading apostrophe
    (`pipelines.shown.spreadsheet_cell`, the one helper for CSV cells)."""
    return spreadsheet_cell(value)


def is_number(text: str | None) -> bool:
    """A cell published as a figure (not a symbol, not blank)."""
    return text is not None and bool(_NUMBER.match(text))


def csv_text(columns: Sequence[str], rows: Iterable[Mapping[str, str]], header: bool = True) -> str:
    """UTF-8 CSV, no byte-order mark, LF line ends: the same rows always give the same bytes.
    Every row has every column (a missing one is a KeyError, never a silent blank). `header=False`:
    the rows' lines alone (a block of a file)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if header:
        writer.writerow(columns)
    if len(columns) == 1:
        writer.writerows([row[columns[0]]] for row in rows)
    else:
        writer.writerows(map(itemgetter(*columns), rows))
    return buffer.getvalue()


def csv_line(cells: Sequence[str]) -> str:
    """One row as `csv_text` writes it, without its line end."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(cells)
    return buffer.getvalue()[:-1]


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[Mapping[str, str]]) -> bool:
    """Write the rows as the file's new content (`folder.write_file`); whether its bytes changed."""
    return write_file(path, csv_text(columns, rows).encode("utf-8"))


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """Every cell as text, exactly as published (no type guessing, no NA conversion)."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        rows = [dict(row) for row in reader]
        return list(reader.fieldnames or []), rows


def read_header(path: Path) -> list[str]:
    """A CSV's column names (its first line), as `read_csv` reads them, without reading the rest."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return next(csv.reader(handle), [])


def read_table(path: Path) -> tuple[list[str], list[list[str]]]:
    """The header and every row's cells as text, as `read_csv` reads them but as lists (blank lines
    skipped, rows as long as they are): the fast way for whole files."""
    return parse_table(path.read_bytes())


def parse_lines(text: str) -> list[list[str]]:
    """The rows of CSV text (blank lines skipped), as `read_table` reads a file's."""
    return [row for row in csv.reader(io.StringIO(text, newline="")) if row]


def remember_table(data: bytes, table: tuple[list[str], list[list[str]]]) -> str:
    """Keep `table` as the parse of `data` (a file's bytes, known to parse to it), for `parse_table`;
    the sha256 of the bytes, by which it is kept."""
    digest = hashlib.sha256(data).hexdigest()
    _PARSED[digest] = table
    while len(_PARSED) > _PARSED_AT_MOST:
        _PARSED.popitem(last=False)
    return digest


def parse_table(data: bytes, digest: str | None = None) -> tuple[list[str], list[list[str]]]:
    """`read_table` of a file's bytes. Given their sha256 (`digest`), a large table is kept, with the
    last one or two, for whoever reads the same bytes next: the manifest and the screen read the
    series a release writes."""
    if digest is not None and digest in _PARSED:
        _PARSED.move_to_end(digest)
        return _PARSED[digest]
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    header = next(reader, [])
    table = header, [row for row in reader if row]
    if digest is not None and len(table[1]) >= _KEPT_FROM_ROWS:
        _PARSED[digest] = table
        while len(_PARSED) > _PARSED_AT_MOST:
            _PARSED.popitem(last=False)
    return table


def indicator(column: str) -> Indicator | None:
    return indicators_by_column().get(column)
