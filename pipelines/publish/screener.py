"""The release screen: the checks DfE's EES screener (eesyscreener) applies, run on every release.

A release with any finding is not published. Findings are one line each, naming the file,
the check and, where there is one, the first offending row, so a steward can act on them.

The checks run over whole columns: each distinct cell text is judged once, and only the rows
holding a text found wrong are walked, to name them. The findings of a file depend only on its
bytes, its metadata's bytes and the register, so a file screened before in this process (by
the release, then by the check after it) is not screened again: it is read and hashed, and its
findings are those it had (`_remembered`).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, OrderedDict
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path

import pandas as pd

from pipelines.publish.disclosure import code_of
from pipelines.publish.ees import (
    ENGLAND_CODE,
    ENGLAND_NAME,
    GEOGRAPHIC_LEVELS,
    GEOGRAPHY_COLUMNS,
    INDICATOR_UNITS,
    LA_COLUMNS,
    LOCAL_AUTHORITY,
    META_COLUMNS,
    MONTH_NAMES,
    MONTH_PATTERN,
    NATIONAL,
    NOT_AVAILABLE,
    REGIONAL,
    REVISION_COLUMNS,
    SUPPRESSED,
    SYMBOLS,
    TIME_COLUMNS,
    is_number,
    looks_like_formula,
    month_of,
    parse_table,
)
from pipelines.publish.files import (
    DATA_SUFFIX,
    META_SUFFIX,
    REVISIONS_FILE,
    SERIES_FILE,
    data_file,
    is_meta_file,
    meta_file,
)
from schemas.catalogue import indicators_by_column

SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
NUMBER = re.compile(r"^-?\d+(\.(\d+))?$")
REQUIRED_COLUMNS = (*TIME_COLUMNS, "geographic_level", "country_code", "country_name")
REQUIRED_BY_LEVEL = {
    REGIONAL: ("region_code", "region_name"),
    LOCAL_AUTHORITY: ("region_code", "region_name", *LA_COLUMNS),
}
# Counts of children (every count but the population), which disclosure control covers.
CHILD_COUNTS = frozenset(i.column for i in indicators_by_column().values() if i.is_count and i.kind != "population")
# The most findings of one kind reported per file: enough to act on, not a flood.
MAX_EXAMPLES = 5


# Screened files' findings by (label, content hashes, register): the release screens, then its
# check screens what is served; the same bytes give the same findings.
_REMEMBERED: OrderedDict[Hashable, list[str]] = OrderedDict()
_REMEMBER_AT_MOST = 1024


def meta_path(data_path: Path) -> Path:
    return data_path.with_name(meta_file(data_path.name))


def screen_release(folder: Path, data_files: list[str], register: pd.DataFrame) -> list[str]:
    """Screen each EES data file (paths relative to `folder`) with its metadata; [] means it may be published."""
    return screen_releases(folder, {"": data_files}, register)[""]


def screen_releases(folder: Path, releases: dict[str, list[str]], register: pd.DataFrame) -> dict[str, list[str]]:
    """`screen_release` of each entry of `releases` (name: its data files), reading each file once:
    the series that every month's release lists is screened once for all of them."""
    screened: dict[str, list[str]] = {}
    metas = sorted(folder.rglob(f"*{META_SUFFIX}"))
    revisions = screen_revisions(folder) if (folder / REVISIONS_FILE).exists() else []
    places = _Places.of(register)
    results = {}
    for key, data_files in releases.items():
        findings = []
        for name in sorted(data_files):
            if name not in screened:
                screened[name] = _screen_file(folder / name, places, label=name)
            findings.extend(screened[name])
        listed = {meta_path(folder / name) for name in data_files}
        for meta in metas:
            data = meta.with_name(data_file(meta.name))
            if meta not in listed and not data.exists():
                findings.append(f"{meta.relative_to(folder)}: file_pairing: metadata file without a data file")
        results[key] = findings + revisions
    return results


def _remembered(key: Hashable, screen: Callable[[], list[str]]) -> list[str]:
    """The findings of `screen`, made once per key in this process."""
    if key in _REMEMBERED:
        _REMEMBERED.move_to_end(key)
    else:
        _REMEMBERED[key] = screen()
        if len(_REMEMBERED) > _REMEMBER_AT_MOST:
            _REMEMBERED.popitem(last=False)
    return list(_REMEMBERED[key])


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _table(data: bytes, digest: str | None = None) -> tuple[list[str], list[list[str]]]:
    """A CSV's header and rows, as `ees.read_table` reads a file (`ees.parse_table`: the series is
    read by the manifest, its own screen and that of revisions.csv, and parsed once)."""
    return parse_table(data, digest or _digest(data))


def _records(header: list[str], cells: list[list[str]]) -> list[dict[str, str]]:
    """Rows as mappings of the header (a short row reads blanks; cells beyond the header are not read)."""
    width = len(header)
    return [dict(zip(header, row if len(row) >= width else row + [""] * (width - len(row)))) for row in cells]


def screen_revisions(folder: Path) -> list[str]:
    """Screen `revisions.csv`, served beside the series, as strictly as the data files.

    Each figure is a number or an EES symbol, no cell would run as a formula, no count of
    children from 1 to 5 appears, and no record carries a figure of a cell that the series
    publishes now as `c` or `x` (the old value of a figure suppressed after the fact would
    give it back).
    """
    revisions = (folder / REVISIONS_FILE).read_bytes()
    series = (folder / SERIES_FILE).read_bytes() if (folder / SERIES_FILE).exists() else None
    key = ("revisions", _digest(revisions), _digest(series) if series is not None else None)
    return _remembered(key, lambda: _revision_findings(revisions, series, key[2]))


def _revision_findings(revisions: bytes, series: bytes | None, series_digest: str | None) -> list[str]:
    label = REVISIONS_FILE
    header, cells = _table(revisions)
    columns = list(header)
    if tuple(columns) != REVISION_COLUMNS:
        return [f"{label}: revision_columns: columns are {', '.join(columns)}, expected {', '.join(REVISION_COLUMNS)}"]
    if any(len(row) > len(columns) for row in cells):
        return [f"{label}: ragged_rows: a row has more cells than the header"]
    records = _records(columns, cells)
    now = _series_cells(series, series_digest, {(r.get("month"), r.get("geography")) for r in records})
    known = indicators_by_column()
    shape, small, withheld = [], [], []
    for n, record in enumerate(records, start=2):
        indicator, cell = record["indicator"], (record["month"], record["geography"], record["indicator"])
        if not MONTH_PATTERN.fullmatch(record["month"]) or indicator not in known:
            shape.append(f"row {n}: month '{record['month']}' or indicator '{indicator}' is not one of the series'")
        for side in ("old", "new"):
            value = record[side]
            if not is_number(value) and value not in SYMBOLS:
                shape.append(f"row {n} {side}: '{value}' is neither a number nor one of {', '.join(SYMBOLS)}")
            elif indicator in CHILD_COUNTS and value.isdecimal() and 1 <= int(value) <= 5:
                small.append(f"row {n} {side}: {indicator} {value}")
            elif is_number(value) and now.get(cell) in (SUPPRESSED, NOT_AVAILABLE):
                withheld.append(
                    f"row {n} {side}: {indicator} of {record['geography']} for {record['month']} "
                    f"is '{now[cell]}' in {SERIES_FILE} but this record gives {value}"
                )
    findings = _examples(shape, "revision_values") + _examples(small, "small_count_published")
    findings += _examples(withheld, "withheld_figure_revealed")
    findings += _formula_findings(columns, _columns_of(columns, cells))
    return [f"{label}: {finding}" for finding in findings]


def _series_cells(series: bytes | None, digest: str | None, wanted: set) -> dict[tuple[str, str, str], str]:
    """(month, geography code, indicator) -> the text the series publishes now, for the (month,
    geography) pairs `wanted`."""
    if series is None or not wanted:
        return {}
    header, cells = _table(series, digest)
    indicators = [c for c in header if c not in (*TIME_COLUMNS, *GEOGRAPHY_COLUMNS)]
    data = _columns_of(header, cells)
    blank = ("",) * len(cells)
    codes = zip(*(data.get(name, blank) for name in ("new_la_code", "region_code", "country_code")))
    months: dict[tuple[str, str], str] = {}
    found = {}
    for k, (when, code) in enumerate(
        zip(zip(data.get("time_period", blank), data.get("time_identifier", blank)), codes)
    ):
        if when[1] not in MONTH_NAMES:  # other rows are the series' own time finding
            continue
        if when not in months:
            months[when] = month_of(*when)
        key = (months[when], code_of(*code))
        if key in wanted:
            found.update({(*key, column): data[column][k] for column in indicators})
    return found


def screen_file(data_path: Path, register: pd.DataFrame, label: str | None = None) -> list[str]:
    return _screen_file(data_path, _Places.of(register), label)


def _screen_file(data_path: Path, places: _Places, label: str | None = None) -> list[str]:
    label = label or data_path.name
    if not data_path.name.endswith(DATA_SUFFIX) or is_meta_file(data_path.name):
        return [f"{label}: file_pairing: a data file must be named <name>.csv"]
    if not SNAKE_CASE.match(data_path.name[: -len(DATA_SUFFIX)]):
        return [f"{label}: file_name: not snake_case"]
    metadata = meta_path(data_path)
    if not data_path.exists():
        return [f"{label}: file_pairing: data file missing"]
    if not metadata.exists():
        return [f"{label}: file_pairing: no {metadata.name} beside it"]
    data, meta_data = data_path.read_bytes(), metadata.read_bytes()
    digest = _digest(data)
    key = ("data", label, digest, _digest(meta_data), places.key)
    return _remembered(key, lambda: _file_findings(label, (data, digest), meta_data, places))


def _file_findings(label: str, data: tuple[bytes, str], meta_data: bytes, places: _Places) -> list[str]:
    columns, cells = _table(*data)
    meta_header, meta_cells = _table(meta_data)
    meta = _records(meta_header, meta_cells)
    findings = [f"{label}: {message}" for message in _meta_findings(columns, meta_header, meta)]
    findings += [f"{label}: {message}" for message in _data_findings(columns, cells, meta, places)]
    return findings


def _meta_findings(columns: list[str], meta_columns: list[str], meta: list[dict[str, str]]) -> list[str]:
    if list(meta_columns) != list(META_COLUMNS):
        return [f"meta_columns: metadata columns are {', '.join(meta_columns)}, expected {', '.join(META_COLUMNS)}"]
    findings = []
    names = [row["col_name"] for row in meta]
    labels = [row["label"] for row in meta]
    for name, count in Counter(names).items():
        if count > 1:
            findings.append(f"meta_duplicate_col_name: {name} is described {count} times")
    for text, count in Counter(labels).items():
        if count > 1:
            findings.append(f"meta_duplicate_label: label '{text}' is used {count} times")
    for row in meta:
        name = row["col_name"]
        if name not in columns:
            findings.append(f"meta_col_name_not_in_data: {name}")
        if name in (*TIME_COLUMNS, *GEOGRAPHY_COLUMNS):
            findings.append(f"meta_geography_or_time_described: {name} must not have a metadata row")
        if not row["label"].strip():
            findings.append(f"meta_label_blank: {name}")
        if row["col_type"] == "Indicator":
            if row["indicator_unit"] not in INDICATOR_UNITS:
                findings.append(f"meta_indicator_unit: {name} has unit '{row['indicator_unit']}'")
            if row["indicator_dp"] and not row["indicator_dp"].isdigit():
                findings.append(f"meta_indicator_dp: {name} has dp '{row['indicator_dp']}'")
            if row["filter_hint"] or row["filter_grouping_column"]:
                findings.append(f"meta_filter_fields_on_indicator: {name}")
        elif row["col_type"] == "Filter":
            if row["indicator_unit"] or row["indicator_dp"] or row["indicator_grouping"]:
                findings.append(f"meta_indicator_fields_on_filter: {name}")
        else:
            findings.append(f"meta_col_type: {name} has col_type '{row['col_type']}' (Filter or Indicator)")
    return findings


Column = Sequence[str]


def _columns_of(header: list[str], cells: list[list[str]]) -> dict[str, Column]:
    """Each column's cells by name (the last of a name given twice wins, as in a row read as a
    mapping); a row shorter than the header reads blanks. Rows longer than it are not columns.
    The last table's are kept: the series is read by its screen and by that of revisions.csv."""
    if _TRANSPOSED and _TRANSPOSED[0] is header and _TRANSPOSED[1] is cells:
        return _TRANSPOSED[2]
    width = len(header)
    rows = cells if all(len(row) == width for row in cells) else [row + [""] * (width - len(row)) for row in cells]
    by_position = list(zip(*rows)) if rows else [() for _ in header]
    columns: dict[str, Column] = {name: by_position[position] for position, name in enumerate(header)}
    _TRANSPOSED[:] = [header, cells, columns]
    return columns


_TRANSPOSED: list = []  # [header, cells, columns] of the last table transposed


def _data_findings(
    columns: list[str], cells: list[list[str]], meta: list[dict[str, str]], places: _Places
) -> list[str]:
    findings = [f"column_snake_case: {c}" for c in columns if not SNAKE_CASE.match(c)]
    findings += [f"duplicate_column: {c}" for c, n in Counter(columns).items() if n > 1]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        return findings + [f"required_columns: missing {', '.join(missing)}"]
    if not cells:
        return findings + ["no_data_rows"]
    if any(len(row) > len(columns) for row in cells):
        return findings + ["ragged_rows: a row has more cells than the header"]
    data = _columns_of(columns, cells)
    _JOINED.clear()
    levels = set(data["geographic_level"])
    for level in sorted(levels & set(REQUIRED_BY_LEVEL)):
        absent = [c for c in REQUIRED_BY_LEVEL[level] if c not in columns]
        if absent:
            findings.append(f"required_columns: {level} rows need {', '.join(absent)}")
    if findings:
        return findings
    described = {row["col_name"]: row for row in meta}
    indicators = [name for name, row in described.items() if row["col_type"] == "Indicator" and name in columns]
    filters = [name for name, row in described.items() if row["col_type"] == "Filter" and name in columns]
    undescribed = [c for c in columns if c not in described and c not in (*TIME_COLUMNS, *GEOGRAPHY_COLUMNS)]
    findings += [f"column_without_metadata: {c}" for c in undescribed]
    findings += _time_findings(data)
    findings += _geography_findings(data, places)
    findings += [f"filter_not_singular: {f} has one value" for f in filters if len(set(data[f])) < 2]
    findings += _duplicate_findings(data, filters)
    findings += _indicator_findings(data, indicators, described)
    findings += _formula_findings(columns, data)
    findings += _small_count_findings(data, indicators)
    _JOINED.clear()
    return findings


def _rows_holding(column: Column, wrong: set[str]) -> list[tuple[int, str]]:
    """(row number in the file, cell) of each cell of `column` whose text is in `wrong`."""
    return [(n, value) for n, value in enumerate(column, start=2) if value in wrong] if wrong else []


def _small_count_findings(data: dict[str, Column], indicators: list[str]) -> list[str]:
    """Backstop for disclosure control: no count about children from 1 to 5 is ever served."""
    found = []
    for position, column in enumerate(c for c in indicators if c in CHILD_COUNTS):
        if _none_can_be(data[column], _SMALL_COUNT):
            continue
        small = {value for value in set(data[column]) if value.isdecimal() and 1 <= int(value) <= 5}
        found += [(n, position, f"row {n} {column}: {value}") for n, value in _rows_holding(data[column], small)]
    return _examples([problem for *_, problem in sorted(found)], "small_count_published")


# Whole-column shortcuts: a column whose cells, one a line, hold no line these find has no finding of
# the kind (each finds every cell the check might flag, and more); otherwise the cells are judged.
_SMALL_COUNT = re.compile(r"^0*[1-5]$", re.MULTILINE)
_FORMULA_START = re.compile(r"^[=+\-@\t\r]", re.MULTILINE)


def _none_can_be(column: Column, suspect: re.Pattern[str]) -> bool:
    """Whether no cell of the column can be flagged: none matches `suspect`, each cell is one line, and
    all are ASCII (so that a digit is 0 to 9, as the shortcut takes it)."""
    text = _lines(column)
    return text is not None and text.isascii() and not suspect.search(text)


_JOINED: dict[int, tuple[Column, str | None]] = {}


def _lines(column: Column) -> str | None:
    """The column's cells one a line, or None when a cell holds a line break (then a cell is not a line).
    Joined once per column while a file is screened (`_data_findings` clears them)."""
    key = id(column)
    if key not in _JOINED or _JOINED[key][0] is not column:
        text = "\n".join(column)
        whole = text.count("\n") == len(column) - 1 and "\r" not in text
        _JOINED[key] = (column, text if whole else None)
    return _JOINED[key][1]


def _examples(problems: list[str], check: str) -> list[str]:
    shown = [f"{check}: {p}" for p in problems[:MAX_EXAMPLES]]
    if len(problems) > MAX_EXAMPLES:
        shown.append(f"{check}: ... and {len(problems) - MAX_EXAMPLES} more")
    return shown


def _time_findings(data: dict[str, Column]) -> list[str]:
    periods = data["time_period"]
    wrong = {value for value in set(periods) if not re.fullmatch(r"\d{4}", value)}
    problems = [f"row {n}: time_period '{value}' is not a 4-digit year" for n, value in _rows_holding(periods, wrong)]
    findings = _examples(problems, "time_period")
    identifiers = set(data["time_identifier"])
    unknown = sorted(i for i in identifiers if i not in MONTH_NAMES)
    if unknown:
        findings.append(
            f"time_identifier: not a month name: {', '.join(unknown[:MAX_EXAMPLES])}"
            + (" (time identifiers are mixed)" if identifiers & set(MONTH_NAMES) else "")
        )
    return findings


class _Places:
    """The register's authorities and regions, as the geography check compares rows with them."""

    def __init__(self, authorities: frozenset[tuple[str, ...]], regions: frozenset[tuple[str, ...]]):
        self.authorities, self.regions = authorities, regions
        self.key = (authorities, regions)

    @classmethod
    def of(cls, register: pd.DataFrame) -> _Places:
        authorities = register[["old_la_code", "new_la_code", "la_name", "region_code", "region_name"]]
        regions = register[["region_code", "region_name"]]
        return cls(
            frozenset(tuple(r) for r in authorities.itertuples(index=False)),
            frozenset(tuple(r) for r in regions.itertuples(index=False)),
        )

    def problems(self, level: str, country: tuple[str, str], region: tuple[str, str], authority: tuple) -> list[str]:
        """What is wrong with a row's geography (each to follow `row N: `)."""
        if level not in GEOGRAPHIC_LEVELS:
            return [f"geographic_level '{level}' is not one of {', '.join(GEOGRAPHIC_LEVELS)}"]
        problems = []
        if country != (ENGLAND_CODE, ENGLAND_NAME):
            problems.append(f"country '{country[0]}' / '{country[1]}' is not England")
        if level == LOCAL_AUTHORITY and (*authority, *region) not in self.authorities:
            problems.append(f"{' / '.join(authority + region)} is not an authority of the register")
        if level == REGIONAL and (region not in self.regions or any(authority)):
            problems.append(
                f"region {' / '.join(region)} is not a region of the register (or carries authority columns)"
            )
        if level == NATIONAL and (any(region) or any(authority)):
            problems.append("a National row carries region or authority columns")
        return problems


def _geography_findings(data: dict[str, Column], places: _Places) -> list[str]:
    rows = len(data["geographic_level"])

    def column(name: str) -> Column:
        return data[name] if name in data else ("",) * rows

    def geographies() -> zip:
        return zip(
            data["geographic_level"],
            zip(data["country_code"], data["country_name"]),
            zip(column("region_code"), column("region_name")),
            zip(*(column(c) for c in LA_COLUMNS)),
        )

    wrong = {geography: places.problems(*geography) for geography in set(geographies())}
    wrong = {geography: problems for geography, problems in wrong.items() if problems}
    if not wrong:
        return []
    problems = [
        f"row {n}: {problem}"
        for n, geography in enumerate(geographies(), start=2)
        if geography in wrong
        for problem in wrong[geography]
    ]
    return _examples(problems, "geography")


def _duplicate_findings(data: dict[str, Column], filters: list[str]) -> list[str]:
    keys = [*TIME_COLUMNS, *(c for c in GEOGRAPHY_COLUMNS if c in data), *filters]
    counts = Counter(zip(*(data[k] for k in keys)))
    problems = [" / ".join(v for v in key if v) + f" appears {n} times" for key, n in counts.items() if n > 1]
    return _examples(problems, "duplicate_rows")


def _indicator_findings(
    data: dict[str, Column], indicators: list[str], described: dict[str, dict[str, str]]
) -> list[str]:
    problems = []
    for column in indicators:
        dp = described[column]["indicator_dp"]
        if _all_valid(data[column], dp):
            continue
        wrong = {}
        for value in set(data[column]):
            if value == "":
                wrong[value] = "blank (use x for not available)"
            elif value in SYMBOLS:
                continue
            elif not (match := NUMBER.match(value)):
                wrong[value] = f"'{value}' is neither a number nor one of {', '.join(SYMBOLS)}"
            elif dp.isdigit() and len(match.group(2) or "") > int(dp):
                wrong[value] = f"'{value}' has more than {dp} decimal places"
        problems += [f"row {n} {column}: {wrong[value]}" for n, value in _rows_holding(data[column], set(wrong))]
    return _examples(problems, "indicator_values")


def _all_valid(column: Column, dp: str) -> bool:
    """Whether every cell is a symbol or a number with at most `dp` decimals, judged over the whole
    column at once (a cell of more than one line is judged alone)."""
    decimals = r"(?:\.\d+)?" if not dp.isdigit() else "" if int(dp) == 0 else rf"(?:\.\d{{1,{int(dp)}}})?"
    symbols = "|".join(map(re.escape, SYMBOLS))
    text = _lines(column)
    if text is None:
        return False
    return re.fullmatch(rf"(?:(?:-?\d+{decimals}|{symbols})\n)*", text + "\n") is not None


def _formula_findings(columns: list[str], data: dict[str, Column]) -> list[str]:
    found = []
    for position, name in enumerate(columns):
        if _none_can_be(data[name], _FORMULA_START):
            continue
        formulas = {value for value in set(data[name]) if looks_like_formula(value)}
        found += [(n, position, f"row {n} {name}: '{value}'") for n, value in _rows_holding(data[name], formulas)]
    return _examples([problem for *_, problem in sorted(found)], "formula_injection")
