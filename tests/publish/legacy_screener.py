"""The release screen: the checks DfE's EES screener (eesyscreener) applies, run on every release.

A release with any finding is not published. Findings are one line each, naming the file,
the check and, where there is one, the first offending row, so a steward can act on them.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pandas as pd

from pipelines.publish.disclosure import geography_code
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
    read_csv,
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
    results = {}
    for key, data_files in releases.items():
        findings = []
        for name in sorted(data_files):
            if name not in screened:
                screened[name] = screen_file(folder / name, register, label=name)
            findings.extend(screened[name])
        listed = {meta_path(folder / name) for name in data_files}
        for meta in metas:
            data = meta.with_name(data_file(meta.name))
            if meta not in listed and not data.exists():
                findings.append(f"{meta.relative_to(folder)}: file_pairing: metadata file without a data file")
        results[key] = findings + revisions
    return results


def screen_revisions(folder: Path) -> list[str]:
    """Screen `revisions.csv`, served beside the series, as strictly as the data files.

    Each figure is a number or an EES symbol, no cell would run as a formula, no count of
    children from 1 to 5 appears, and no record carries a figure of a cell that the series
    publishes now as `c` or `x` (the old value of a figure suppressed after the fact would
    give it back).
    """
    label = REVISIONS_FILE
    columns, records = read_csv(folder / REVISIONS_FILE)
    if tuple(columns) != REVISION_COLUMNS:
        return [f"{label}: revision_columns: columns are {', '.join(columns)}, expected {', '.join(REVISION_COLUMNS)}"]
    if any(None in record for record in records):
        return [f"{label}: ragged_rows: a row has more cells than the header"]
    now = _series_cells(folder / SERIES_FILE)
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
            elif indicator in CHILD_COUNTS and value.isdigit() and 1 <= int(value) <= 5:
                small.append(f"row {n} {side}: {indicator} {value}")
            elif is_number(value) and now.get(cell) in (SUPPRESSED, NOT_AVAILABLE):
                withheld.append(
                    f"row {n} {side}: {indicator} of {record['geography']} for {record['month']} "
                    f"is '{now[cell]}' in {SERIES_FILE} but this record gives {value}"
                )
    findings = _examples(shape, "revision_values") + _examples(small, "small_count_published")
    findings += _examples(withheld, "withheld_figure_revealed")
    findings += _formula_findings(records, list(REVISION_COLUMNS))
    return [f"{label}: {finding}" for finding in findings]


def _series_cells(series: Path) -> dict[tuple[str, str, str], str]:
    """(month, geography code, indicator) -> the text the series publishes now."""
    if not series.exists():
        return {}
    columns, rows = read_csv(series)
    indicators = [c for c in columns if c not in (*TIME_COLUMNS, *GEOGRAPHY_COLUMNS)]
    cells = {}
    for row in rows:
        if row.get("time_identifier") in MONTH_NAMES:  # other rows are the series' own time finding
            key = (month_of(row["time_period"], row["time_identifier"]), geography_code(row))
            cells.update({(*key, column): row[column] for column in indicators})
    return cells


def screen_file(data_path: Path, register: pd.DataFrame, label: str | None = None) -> list[str]:
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
    columns, rows = read_csv(data_path)
    meta_columns, meta = read_csv(metadata)
    findings = [f"{label}: {message}" for message in _meta_findings(columns, meta_columns, meta)]
    findings += [f"{label}: {message}" for message in _data_findings(columns, rows, meta, register)]
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


def _data_findings(
    columns: list[str], rows: list[dict[str, str]], meta: list[dict[str, str]], register: pd.DataFrame
) -> list[str]:
    findings = [f"column_snake_case: {c}" for c in columns if not SNAKE_CASE.match(c)]
    findings += [f"duplicate_column: {c}" for c, n in Counter(columns).items() if n > 1]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        return findings + [f"required_columns: missing {', '.join(missing)}"]
    if not rows:
        return findings + ["no_data_rows"]
    if any(None in row for row in rows):
        return findings + ["ragged_rows: a row has more cells than the header"]
    levels = {row["geographic_level"] for row in rows}
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
    findings += _time_findings(rows)
    findings += _geography_findings(rows, columns, register)
    findings += [f"filter_not_singular: {f} has one value" for f in filters if len({r[f] for r in rows}) < 2]
    findings += _duplicate_findings(rows, columns, filters)
    findings += _indicator_findings(rows, indicators, described)
    findings += _formula_findings(rows, columns)
    findings += _small_count_findings(rows, indicators)
    return findings


def _small_count_findings(rows: list[dict[str, str]], indicators: list[str]) -> list[str]:
    """Backstop for disclosure control: no count about children from 1 to 5 is ever served."""
    counts = [c for c in indicators if c in CHILD_COUNTS]
    problems = [
        f"row {n} {column}: {row[column]}"
        for n, row in enumerate(rows, start=2)
        for column in counts
        if row[column].isdigit() and 1 <= int(row[column]) <= 5
    ]
    return _examples(problems, "small_count_published")


def _examples(problems: list[str], check: str) -> list[str]:
    shown = [f"{check}: {p}" for p in problems[:MAX_EXAMPLES]]
    if len(problems) > MAX_EXAMPLES:
        shown.append(f"{check}: ... and {len(problems) - MAX_EXAMPLES} more")
    return shown


def _time_findings(rows: list[dict[str, str]]) -> list[str]:
    problems = [
        f"row {n}: time_period '{r['time_period']}' is not a 4-digit year"
        for n, r in enumerate(rows, start=2)
        if not re.fullmatch(r"\d{4}", r["time_period"])
    ]
    findings = _examples(problems, "time_period")
    identifiers = {r["time_identifier"] for r in rows}
    unknown = sorted(i for i in identifiers if i not in MONTH_NAMES)
    if unknown:
        findings.append(
            f"time_identifier: not a month name: {', '.join(unknown[:MAX_EXAMPLES])}"
            + (" (time identifiers are mixed)" if identifiers & set(MONTH_NAMES) else "")
        )
    return findings


def _geography_findings(rows: list[dict[str, str]], columns: list[str], register: pd.DataFrame) -> list[str]:
    authorities = {
        tuple(r)
        for r in register[["old_la_code", "new_la_code", "la_name", "region_code", "region_name"]].itertuples(
            index=False
        )
    }
    regions = {tuple(r) for r in register[["region_code", "region_name"]].itertuples(index=False)}
    problems: list[str] = []

    def cell(row: dict[str, str], column: str) -> str:
        return row.get(column, "") if column in columns else ""

    for n, row in enumerate(rows, start=2):
        level = row["geographic_level"]
        if level not in GEOGRAPHIC_LEVELS:
            problems.append(f"row {n}: geographic_level '{level}' is not one of {', '.join(GEOGRAPHIC_LEVELS)}")
            continue
        if (row["country_code"], row["country_name"]) != (ENGLAND_CODE, ENGLAND_NAME):
            problems.append(f"row {n}: country '{row['country_code']}' / '{row['country_name']}' is not England")
        region = (cell(row, "region_code"), cell(row, "region_name"))
        authority = tuple(cell(row, c) for c in LA_COLUMNS)
        if level == LOCAL_AUTHORITY and (*authority, *region) not in authorities:
            problems.append(f"row {n}: {' / '.join(authority + region)} is not an authority of the register")
        if level == REGIONAL and (region not in regions or any(authority)):
            problems.append(
                f"row {n}: region {' / '.join(region)} is not a region of the register (or carries authority columns)"
            )
        if level == NATIONAL and (any(region) or any(authority)):
            problems.append(f"row {n}: a National row carries region or authority columns")
    return _examples(problems, "geography")


def _duplicate_findings(rows: list[dict[str, str]], columns: list[str], filters: list[str]) -> list[str]:
    keys = [*TIME_COLUMNS, *(c for c in GEOGRAPHY_COLUMNS if c in columns), *filters]
    counts = Counter(tuple(row[k] for k in keys) for row in rows)
    problems = [" / ".join(v for v in key if v) + f" appears {n} times" for key, n in counts.items() if n > 1]
    return _examples(problems, "duplicate_rows")


def _indicator_findings(
    rows: list[dict[str, str]], indicators: list[str], described: dict[str, dict[str, str]]
) -> list[str]:
    problems = []
    for column in indicators:
        dp = described[column]["indicator_dp"]
        for n, row in enumerate(rows, start=2):
            value = row[column]
            if value == "":
                problems.append(f"row {n} {column}: blank (use x for not available)")
            elif value in SYMBOLS:
                continue
            elif not (match := NUMBER.match(value)):
                problems.append(f"row {n} {column}: '{value}' is neither a number nor one of {', '.join(SYMBOLS)}")
            elif dp.isdigit() and len(match.group(2) or "") > int(dp):
                problems.append(f"row {n} {column}: '{value}' has more than {dp} decimal places")
    return _examples(problems, "indicator_values")


def _formula_findings(rows: list[dict[str, str]], columns: list[str]) -> list[str]:
    problems = [
        f"row {n} {c}: '{row[c]}'" for n, row in enumerate(rows, start=2) for c in columns if looks_like_formula(row[c])
    ]
    return _examples(problems, "formula_injection")
