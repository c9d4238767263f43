"""A month's open-data release: EES files built from accepted returns, screened, then published whole.

The publish folder is the record of what has been published: the cumulative time series in
it holds every published figure, so a re-published month is compared with it to find
revisions. A release is built in a staging copy of the folder and swapped into place only
when the screen passes; the same warehouse, register and previous folder give the same bytes.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from pipelines.home import DataHome
from pipelines.ingest.durable import crash_point, exchange, fsync_directory, fsync_tree
from pipelines.publish import package
from pipelines.publish.disclosure import (
    NOTHING_EARLIER,
    Derived,
    EarlierFigures,
    Total,
    part_whole_pairs,
    publishable_cells,
    suppress_rolling_windows,
    withhold_revised_figures,
)
from pipelines.publish.ees import (
    ENGLAND_CODE,
    ENGLAND_NAME,
    GEOGRAPHY_COLUMNS,
    LOCAL_AUTHORITY,
    META_COLUMNS,
    MONTH_PATTERN,
    NATIONAL,
    NOT_AVAILABLE,
    REGIONAL,
    REVISION_COLUMNS,
    SUPPRESSED,
    is_number,
    meta_rows,
    month_of,
    published_columns,
    published_indicators,
    read_csv,
    safe_text,
    time_identifiers,
    write_csv,
)
from pipelines.publish.files import (
    REVISIONS_FILE,
    SERIES_FILE,
    meta_file,
    release_file,
    release_metadata,
)
from pipelines.publish.guard import guard_blockers, refusal
from pipelines.publish.portal import PortalError, publisher_for
from pipelines.publish.screener import screen_release
from pipelines.reference import load_reference
from pipelines.store.disclosed import DISCLOSED_COLUMNS, read_disclosed, record_disclosed
from pipelines.store.month import (
    accepted_since,
    accepted_values,
    held_back_authorities,
    sums_disagreeing_with_their_months,
)
from pipelines.store.warehouse import connect
from schemas.catalogue import load_catalogue

LEVEL_ORDER = {NATIONAL: 0, REGIONAL: 1, LOCAL_AUTHORITY: 2}


class PublishingError(ValueError):
    """Publishing cannot start or finish; the message is one line for the user."""


@dataclass
class ReleaseSummary:
    month: str
    files: list[str]  # relative to home.publish; empty when the release was not published
    la_rows: int
    suppressed_cells: int
    revisions: int
    held_back: list[str]
    screen_passed: bool
    screen_findings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ReleaseInputs:
    values: pd.DataFrame  # accepted authority rows for the month
    held_back: list[str]
    as_of: str  # ISO date the latest accepted return arrived: the release's deterministic date
    earlier: EarlierFigures  # what earlier releases of the month disclosed (store/disclosed.py)
    stale_sums: pd.DataFrame  # authorities' twelve-month sums that disagree with their months now


@dataclass(frozen=True)
class MonthRelease:
    """A month's EES rows (England, regions, authorities) and what building them found."""
    rows: list[dict[str, str]]
    notes: list[str]
    problems: list[str]  # they block the release
    figures: pd.DataFrame  # every count cell: geography, indicator, exact figure, published as a number


def publish_month(home: DataHome, month: str, publisher: str = "folder") -> ReleaseSummary:
    """Build, screen and publish the open-data release of `month`; a failed screen publishes nothing."""
    if not MONTH_PATTERN.fullmatch(month or ""):
        raise PublishingError(f"month '{month}' is not YYYY-MM")
    _refuse_what_the_guard_blocks(home, month)
    try:
        portal = publisher_for(publisher)
    except PortalError as exc:
        raise PublishingError(str(exc)) from None
    register = _register(home)
    inputs = _read_month(home, month)
    built = release_rows(month, register, inputs.values, inputs.earlier)
    rows, notes, problems = built.rows, built.notes, built.problems
    summary = ReleaseSummary(month=month, files=[], held_back=inputs.held_back, screen_passed=False,
                             la_rows=sum(r["geographic_level"] == LOCAL_AUTHORITY for r in rows),
                             suppressed_cells=0, revisions=0)
    _recover_interrupted_swap(home)
    home.publish.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=home.root))
    staging.chmod(0o755)  # mkdtemp makes it private; the published folder is served to everyone
    try:
        if home.publish.exists():
            shutil.copytree(home.publish, staging, dirs_exist_ok=True)
        revisions = _write_series(staging, month, rows, inputs.as_of, _stale_totals(register, inputs.stale_sums))
        summary.revisions = len(revisions)
        summary.suppressed_cells = sum(v == SUPPRESSED for r in rows for v in r.values())
        if revisions:
            notes.append(f"{len(revisions)} published figure(s) for {_month_words(month)} revised after "
                         f"resubmission: see {REVISIONS_FILE}.")
        files = [release_file(month), meta_file(release_file(month)), SERIES_FILE, meta_file(SERIES_FILE)]
        write_csv(staging / release_file(month), published_columns(), rows)
        write_csv(staging / meta_file(release_file(month)), META_COLUMNS, meta_rows())
        _write_release_metadata(staging, month, inputs, rows, notes, summary)
        files += [release_metadata(month), REVISIONS_FILE]
        crash_point("publish-writing")  # the series written, the package not yet
        files += package.write_package(staging, as_of=inputs.as_of, series_file=SERIES_FILE)
        findings = problems + screen_release(staging, [release_file(month), SERIES_FILE], register)
        summary.screen_findings = findings
        if findings:
            return summary
        summary.screen_passed = True
        # Recorded before the swap: a crash between the two records a release never served, which
        # only makes later releases of the month suppress more; the reverse could leak.
        _record_disclosed(home, month, built.figures)
        _swap_into_place(staging, home)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    summary.files = files
    try:
        portal.publish(home.publish, files)
    except PortalError as exc:
        raise PublishingError(f"{month} is published in {home.publish} but not on the portal: {exc}") from None
    return summary


def _register(home: DataHome) -> pd.DataFrame:
    register = load_reference(home).register
    if register is None or register.empty:
        raise PublishingError("no register of authorities imported: run `csc-returns reference import <register.csv>` first")
    return register


def _refuse_what_the_guard_blocks(home: DataHome, month: str) -> None:
    """The publication guard, asked before anything else whatever run called: Dagster's blocking
    checks act only within one run. Without a warehouse nothing is stored that could be blocked."""
    if not home.warehouse.exists():
        return
    try:
        with connect(home, read_only=True) as connection:
            blockers = guard_blockers(home, connection, month)
    except duckdb.Error as exc:
        raise PublishingError(f"warehouse cannot be read: {str(exc).splitlines()[0]}") from None
    if not blockers.empty:
        raise PublishingError(refusal(month, blockers))


def _read_month(home: DataHome, month: str) -> ReleaseInputs:
    if not home.warehouse.exists():
        raise PublishingError(f"no warehouse at {home.warehouse}: nothing has been accepted yet")
    try:
        with connect(home, read_only=True) as connection:
            values = accepted_values(connection, month).drop(columns=["sha256"])
            held_back = held_back_authorities(connection, month)
            arrived = accepted_since(connection, month)
            disclosed = read_disclosed(connection, month)
            stale_sums = sums_disagreeing_with_their_months(connection, _rolling_sums())
    except duckdb.Error as exc:
        raise PublishingError(f"warehouse cannot be read: {str(exc).splitlines()[0]}") from None
    if values.empty:
        raise PublishingError(f"no accepted returns for {month}: nothing to publish")
    as_of = arrived.date().isoformat() if arrived is not None else f"{month}-01"
    earlier = EarlierFigures.from_record(zip(disclosed["geography"], disclosed["indicator"]),
                                         disclosed["figure"].astype(int), disclosed["published"].astype(bool))
    return ReleaseInputs(values=values, held_back=held_back, as_of=as_of, earlier=earlier, stale_sums=stale_sums)


def _rolling_sums() -> dict[str, str]:
    """Each published twelve-month column and the monthly flow it sums."""
    return {i.column: i.sums for i in published_indicators() if i.kind == "rolling12"}


def _stale_totals(register: pd.DataFrame, stale_sums: pd.DataFrame) -> set[tuple[str, str, str]]:
    """The regional and England sums (code, month, column) that add up an authority's stale sum."""
    region_of = dict(zip(register["new_la_code"], register["region_code"]))
    keys = zip(stale_sums["la_code"], stale_sums["period"], stale_sums["column"])
    return {(geography, month, column) for code, month, column in keys
            for geography in (region_of.get(code), ENGLAND_CODE) if geography}


def _record_disclosed(home: DataHome, month: str, figures: pd.DataFrame) -> None:
    try:
        with connect(home) as connection:
            record_disclosed(connection, month, figures)
    except duckdb.Error as exc:
        raise PublishingError(f"warehouse cannot record the release: {str(exc).splitlines()[0]}") from None


def _figure(value: object) -> int | None:
    """Warehouse figures are DOUBLE; published counts are whole numbers, blanks are not available."""
    if value is None or pd.isna(value):
        return None
    return int(round(float(value)))


def release_rows(month: str, register: pd.DataFrame, values: pd.DataFrame,
                 earlier: EarlierFigures = NOTHING_EARLIER) -> MonthRelease:
    """EES rows for England, each region and each authority of the register, with disclosure
    control that also takes account of what earlier releases of the month (`earlier`) disclosed."""
    register = register.sort_values(["region_code", "new_la_code"]).reset_index(drop=True)
    indicators = published_indicators()
    counts_columns = [i.column for i in indicators if i.is_count]
    accepted = {str(row["la_code"]): row for _, row in values.iterrows()}
    problems = [f"{code}: accepted return for an authority that is not in the register"
                for code in sorted(set(accepted) - set(register["new_la_code"]))]

    counts: dict[tuple[str, str], int | None] = {}
    for code in register["new_la_code"]:
        row = accepted.get(code)
        for column in counts_columns:
            counts[(code, column)] = _figure(row[column]) if row is not None and column in row else None

    notes, totals = [], []
    regions = register.groupby("region_code", sort=True)
    for region_code, members in regions:
        authorities = list(members["new_la_code"])
        missing = [name for code, name in zip(members["new_la_code"], members["la_name"]) if code not in accepted]
        for column in counts_columns:
            parts = [counts[(code, column)] for code in authorities]
            counts[(region_code, column)] = None if missing or None in parts else sum(parts)
            if not missing:
                totals.append(Total((region_code, column), tuple((code, column) for code in authorities)))
        if missing:
            notes.append(f"{members['region_name'].iloc[0]} ({region_code}) total not published (x): "
                         f"{len(missing)} of {len(authorities)} authorities have no accepted return for "
                         f"{_month_words(month)} ({_names(missing)}).")
    region_codes = [code for code, _ in regions]
    england_missing = sorted(set(register["new_la_code"]) - set(accepted))
    for column in counts_columns:
        parts = [counts[(code, column)] for code in region_codes]
        counts[(ENGLAND_CODE, column)] = None if england_missing or None in parts else sum(parts)
        if not england_missing:
            totals.append(Total((ENGLAND_CODE, column), tuple((code, column) for code in region_codes)))
    if england_missing:
        notes.append(f"England total not published (x): {len(england_missing)} of {len(register)} authorities "
                     f"have no accepted return for {_month_words(month)}.")

    part_of = {i.column: i.part_of for i in load_catalogue() if i.part_of and i.is_count}
    derived = [Derived(i.column, i.numerator, i.denominator, i.multiplier, i.publish_dp or 0)
               for i in indicators if i.is_derived]
    cells = publishable_cells(counts, totals, part_whole_pairs(part_of), derived,
                              rounded={ENGLAND_CODE, *region_codes}, earlier=earlier)

    year, month_name = time_identifiers(month)
    base = {"time_period": year, "time_identifier": month_name, "country_code": ENGLAND_CODE, "country_name": ENGLAND_NAME}
    blank = dict.fromkeys(GEOGRAPHY_COLUMNS[3:], "")
    geographies = [(ENGLAND_CODE, {**base, **blank, "geographic_level": NATIONAL})]
    for region_code, members in regions:
        geographies.append((region_code, {**base, **blank, "geographic_level": REGIONAL, "region_code": region_code,
                                          "region_name": safe_text(members["region_name"].iloc[0])}))
    for authority in register.itertuples(index=False):
        geographies.append((authority.new_la_code, {
            **base, "geographic_level": LOCAL_AUTHORITY, "region_code": authority.region_code,
            "region_name": safe_text(authority.region_name), "old_la_code": authority.old_la_code,
            "new_la_code": authority.new_la_code, "la_name": safe_text(authority.la_name)}))
    rows = [{**identity, **{i.column: cells[(code, i.column)] for i in indicators}} for code, identity in geographies]
    disclosed = [(code, column, value, is_number(cells[(code, column)]))
                 for (code, column), value in counts.items() if value is not None]
    figures = pd.DataFrame(disclosed, columns=list(DISCLOSED_COLUMNS))
    return MonthRelease(rows, notes, problems, figures)


def _month_words(month: str) -> str:
    year, name = time_identifiers(month)
    return f"{name} {year}"


def _names(names: list[str], shown: int = 5) -> str:
    return ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")


def _row_key(row: dict[str, str]) -> tuple:
    return (row["time_period"], month_of(row["time_period"], row["time_identifier"]),
            LEVEL_ORDER.get(row["geographic_level"], 9), row.get("region_code", ""), row.get("new_la_code", ""))


def _geography(row: dict[str, str]) -> tuple[str, str]:
    if row["geographic_level"] == LOCAL_AUTHORITY:
        return row["new_la_code"], row["la_name"]
    if row["geographic_level"] == REGIONAL:
        return row["region_code"], row["region_name"]
    return row["country_code"], row["country_name"]


def _write_series(folder: Path, month: str, rows: list[dict[str, str]], as_of: str,
                  stale_totals: Collection[tuple[str, str, str]] = frozenset()) -> list[dict[str, str]]:
    """Replace the month in the cumulative series; record every published figure that changed.
    `stale_totals`: regional and England sums that add up a stale authority sum (`_stale_totals`)."""
    columns = published_columns()
    series_path = folder / SERIES_FILE
    previous = read_csv(series_path)[1] if series_path.exists() else []
    same_month = [r for r in previous if month_of(r["time_period"], r["time_identifier"]) == month]
    kept = [{c: r.get(c, NOT_AVAILABLE if c not in GEOGRAPHY_COLUMNS else "") for c in columns}
            for r in previous if month_of(r["time_period"], r["time_identifier"]) != month]
    series = sorted(kept + rows, key=_row_key)
    # Suppression across months changes `rows` in place and may reach months published before.
    earlier_months = _suppress_across_months(folder, series, month, as_of, stale_totals)
    write_csv(series_path, columns, series)
    write_csv(folder / meta_file(SERIES_FILE), META_COLUMNS, meta_rows())

    published = {(r["geographic_level"], *_geography(r)): r for r in same_month}
    revisions = []
    for row in rows:
        old = published.get((row["geographic_level"], *_geography(row)))
        if old is None:
            continue
        for indicator in published_indicators():
            before, after = old.get(indicator.column), row[indicator.column]
            if before is not None and before != after:
                code, name = _geography(row)
                revisions.append({"month": month, "geography": code, "geography_name": name,
                                  "indicator": indicator.column, "old": before, "new": after, "date": as_of})
    revisions += earlier_months
    revisions_path = folder / REVISIONS_FILE
    history = read_csv(revisions_path)[1] if revisions_path.exists() else []
    # Every record, earlier ones too, loses the figures of cells this series now withholds.
    records = history + revisions
    revised = {(r["month"], r["geography"]) for r in records}
    now_published = {}
    for row in series:
        key = (month_of(row["time_period"], row["time_identifier"]), _geography(row)[0])
        if key in revised:
            now_published.update({(*key, i.column): row[i.column] for i in published_indicators()})
    write_csv(revisions_path, REVISION_COLUMNS, withhold_revised_figures(records, now_published))
    return revisions


def _suppress_across_months(folder: Path, series: list[dict[str, str]], month: str, as_of: str,
                            stale_totals: Collection[tuple[str, str, str]]) -> list[dict[str, str]]:
    """Suppress twelve-month sums over months not published as numbers, at every geography;
    rewrite other months' snapshots it changes.

    Returns revision records for cells of months other than `month` (already published) that
    this release suppresses, so the change to an earlier file is on the record.
    """
    rolling = _rolling_sums()
    derived = [Derived(i.column, i.numerator, i.denominator, i.multiplier, i.publish_dp or 0)
               for i in published_indicators() if i.is_derived]
    revisions, touched = [], set()
    for row, column, before in suppress_rolling_windows(series, rolling, derived, stale_totals):
        row_month = month_of(row["time_period"], row["time_identifier"])
        if row_month == month:
            continue
        touched.add(row_month)
        code, name = _geography(row)
        revisions.append({"month": row_month, "geography": code, "geography_name": name, "indicator": column,
                          "old": before, "new": SUPPRESSED, "date": as_of})
    for other in sorted(touched):
        snapshot = folder / release_file(other)
        if snapshot.exists():
            write_csv(snapshot, published_columns(),
                      [r for r in series if month_of(r["time_period"], r["time_identifier"]) == other])
    return revisions


def _write_release_metadata(folder: Path, month: str, inputs: ReleaseInputs, rows: list[dict[str, str]],
                            notes: list[str], summary: ReleaseSummary) -> None:
    year, month_name = time_identifiers(month)
    reporting = set(inputs.values["la_code"])
    metadata = {
        "month": month,
        "time_period": year,
        "time_identifier": month_name,
        "as_of": inputs.as_of,
        "data_file": release_file(month).split("/")[-1],
        "authorities_in_register": summary.la_rows,
        "authorities_with_accepted_returns": sum(r["new_la_code"] in reporting for r in rows
                                                 if r["geographic_level"] == LOCAL_AUTHORITY),
        "held_back": inputs.held_back,
        "suppressed_cells": summary.suppressed_cells,
        "revisions": summary.revisions,
        "notes": notes,
    }
    path = folder / release_metadata(month)
    path.write_text(json.dumps(metadata, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


STAGING_PREFIX = ".publish-staging-"


def _previous_path(home: DataHome) -> Path:
    return home.root / ".publish-previous"


def _recover_interrupted_swap(home: DataHome) -> None:
    """Clear what a killed release left beside publish/: its staging folder (never served), or the
    old folder the two-rename fallback had set aside (put back if publish/ is missing)."""
    previous = _previous_path(home)
    if previous.exists() and not home.publish.exists():
        os.replace(previous, home.publish)
    shutil.rmtree(previous, ignore_errors=True)
    for leftover in home.root.glob(STAGING_PREFIX + "*"):  # one writer at a time: none is in use
        shutil.rmtree(leftover, ignore_errors=True)


def _swap_into_place(staging: Path, home: DataHome) -> None:
    """Publish the staging folder whole: made durable (every file fsynced), then exchanged with
    publish/ in one atomic step, so a reader, a crash or a power cut finds the old release or the
    new one, never a mixture and never no publish/ folder. `staging` holds the old release after."""
    fsync_tree(staging)
    crash_point("publish-staged")
    if not home.publish.exists():
        os.replace(staging, home.publish)
    elif not exchange(staging, home.publish):
        # Only where the system has no atomic exchange (not Linux or macOS local disks): two
        # renames, with a moment without publish/ that _recover_interrupted_swap repairs.
        previous = _previous_path(home)
        os.replace(home.publish, previous)
        os.replace(staging, home.publish)
        os.replace(previous, staging)
    fsync_directory(home.root)
    crash_point("publish-swapped")


def screen_published(home: DataHome, month: str) -> list[str]:
    """Screen what is being served for `month` now: its snapshot and the cumulative series."""
    return screen_release(home.publish, [release_file(month), SERIES_FILE], _register(home))
