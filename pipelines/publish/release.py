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
from pipelines.home.durable import crash_point, exchange, fsync_directory, fsync_tree
from pipelines.publish import package
from pipelines.publish.disclosure import (
    NOTHING_EARLIER,
    Derived,
    EarlierFigures,
    Total,
    UnprotectableTotal,
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
from pipelines.publish.screener import screen_release, screen_releases
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
from schemas.rules import HISTORY_MONTHS

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
    refusal: str = ""  # why the month was not published at all (the guard, nothing accepted)


@dataclass(frozen=True)
class ReleaseInputs:
    values: pd.DataFrame  # accepted authority rows for the month
    held_back: list[str]
    as_of: str  # ISO date the latest accepted return arrived: the release's deterministic date
    earlier: EarlierFigures  # what earlier releases of the month disclosed (store/disclosed.py)


@dataclass(frozen=True)
class MonthRelease:
    """A month's EES rows (England, regions, authorities) and what building them found."""

    rows: list[dict[str, str]]
    notes: list[str]
    problems: list[str]  # they block the release
    figures: pd.DataFrame  # every count cell: geography, indicator, exact figure, published as a number


def publish_month(home: DataHome, month: str, publisher: str = "folder") -> ReleaseSummary:
    """Build, screen and publish the open-data release of `month`; a failed screen publishes nothing."""
    [summary] = publish_months(home, [month], publisher)
    if summary.refusal:
        raise PublishingError(summary.refusal)
    return summary


def publish_months(home: DataHome, months: list[str], publisher: str = "folder") -> list[ReleaseSummary]:
    """Publish the releases of `months` in calendar order, as publishing them one by one would,
    byte for byte, but copying, writing, screening and swapping the publish folder once.

    Read each month's inputs, build each month's rows (`release_rows`), replace the months in the
    series in order (in memory), then write the files, screen them and swap once. A month the
    guard refuses, or with nothing accepted, is skipped with its `refusal` (one line); the others
    are published. If the screen finds anything, the months are published one at a time instead,
    so that exactly the months that fail stay unpublished.
    """
    months = sorted(months)
    for month in months:
        if not MONTH_PATTERN.fullmatch(month or ""):
            raise PublishingError(f"month '{month}' is not YYYY-MM")
    summaries = {
        month: ReleaseSummary(
            month=month, files=[], la_rows=0, suppressed_cells=0, revisions=0, held_back=[], screen_passed=False
        )
        for month in months
    }
    for month, reason in _refusals_of_the_guard(home, months).items():
        summaries[month].refusal = reason
    wanted = [month for month in months if not summaries[month].refusal]
    if not wanted:
        return list(summaries.values())
    try:
        portal = publisher_for(publisher)
    except PortalError as exc:
        raise PublishingError(str(exc)) from None
    register = _register(home)
    inputs, stale_sums = _read_months(home, wanted)
    for month in wanted:
        if isinstance(inputs[month], str):
            summaries[month].refusal = inputs[month]
    wanted = [month for month in wanted if not summaries[month].refusal]
    if not wanted:
        return list(summaries.values())
    built = {month: release_rows(month, register, inputs[month].values, inputs[month].earlier) for month in wanted}
    problems = [problem for month in wanted for problem in built[month].problems]

    _recover_interrupted_swap(home)
    home.publish.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=home.root))
    staging.chmod(0o755)  # mkdtemp makes it private; the published folder is served to everyone
    try:
        if home.publish.exists():
            shutil.copytree(home.publish, staging, dirs_exist_ok=True)
        series = PublishedSeries.read(staging, _stale_totals(register, stale_sums))
        for month in wanted:
            rows, notes = built[month].rows, built[month].notes
            summary = summaries[month]
            summary.held_back = inputs[month].held_back
            summary.la_rows = sum(r["geographic_level"] == LOCAL_AUTHORITY for r in rows)
            summary.revisions = len(series.replace_month(month, rows, inputs[month].as_of))
            summary.suppressed_cells = sum(v == SUPPRESSED for r in rows for v in r.values())
            if summary.revisions:
                notes.append(
                    f"{summary.revisions} published figure(s) for {_month_words(month)} revised after "
                    f"resubmission: see {REVISIONS_FILE}."
                )
            write_csv(staging / meta_file(release_file(month)), META_COLUMNS, meta_rows())
            _write_release_metadata(staging, month, inputs[month], rows, notes, summary)
            summary.files = [
                release_file(month),
                meta_file(release_file(month)),
                SERIES_FILE,
                meta_file(SERIES_FILE),
                release_metadata(month),
                REVISIONS_FILE,
            ]
        series.write(staging)
        crash_point("publish-writing")  # the series written, the package not yet
        package_files = package.write_package(staging, as_of=inputs[wanted[-1]].as_of, series_file=SERIES_FILE)
        findings = problems + screen_release(staging, [*map(release_file, wanted), SERIES_FILE], register)
        if findings and len(wanted) > 1:
            # Which month fails decides what is published: one at a time, as the months would be.
            shutil.rmtree(staging, ignore_errors=True)
            return [
                summaries[month] if summaries[month].refusal else publish_months(home, [month], publisher)[0]
                for month in months
            ]
        if findings:
            summaries[wanted[0]].screen_findings = findings
            summaries[wanted[0]].files = []
            return list(summaries.values())
        # Recorded before the swap: a crash between the two records a release never served, which
        # only makes later releases of the month suppress more; the reverse could leak.
        _record_disclosed(home, {month: built[month].figures for month in wanted})
        _swap_into_place(staging, home)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    for month in wanted:
        summaries[month].screen_passed = True
        summaries[month].files += package_files
    try:
        portal.publish(home.publish, list(dict.fromkeys(f for month in wanted for f in summaries[month].files)))
    except PortalError as exc:
        raise PublishingError(f"{_span(wanted)} is published in {home.publish} but not on the portal: {exc}") from None
    return list(summaries.values())


def _register(home: DataHome) -> pd.DataFrame:
    register = load_reference(home).register
    if register is None or register.empty:
        raise PublishingError(
            "no register of authorities imported: run `csc-returns reference import <register.csv>` first"
        )
    return register


def _refusals_of_the_guard(home: DataHome, months: list[str]) -> dict[str, str]:
    """The publication guard, asked before anything else whatever run called: Dagster's blocking
    checks act only within one run. Without a warehouse nothing is stored that could be blocked.
    {month refused: why, in one line}."""
    if not home.warehouse.exists():
        return {}
    try:
        with connect(home, read_only=True) as connection:
            blockers = {month: guard_blockers(home, connection, month) for month in months}
    except duckdb.Error as exc:
        raise PublishingError(f"warehouse cannot be read: {str(exc).splitlines()[0]}") from None
    return {month: refusal(month, found) for month, found in blockers.items() if not found.empty}


def _read_months(home: DataHome, months: list[str]) -> tuple[dict[str, ReleaseInputs | str], pd.DataFrame]:
    """Each month's inputs to its release, in one connection (a month with nothing to publish: why),
    and every authority's twelve-month sum that disagrees with its months now."""
    if not home.warehouse.exists():
        raise PublishingError(f"no warehouse at {home.warehouse}: nothing has been accepted yet")
    try:
        with connect(home, read_only=True) as connection:
            return (
                {month: _read_month(connection, month) for month in months},
                sums_disagreeing_with_their_months(connection, _rolling_sums()),
            )
    except duckdb.Error as exc:
        raise PublishingError(f"warehouse cannot be read: {str(exc).splitlines()[0]}") from None


def _read_month(connection: duckdb.DuckDBPyConnection, month: str) -> ReleaseInputs | str:
    values = accepted_values(connection, month).drop(columns=["sha256"])
    if values.empty:
        return f"no accepted returns for {month}: nothing to publish"
    arrived = accepted_since(connection, month)
    as_of = arrived.date().isoformat() if arrived is not None else f"{month}-01"
    disclosed = read_disclosed(connection, month)
    earlier = EarlierFigures.from_record(
        disclosed["release"],
        zip(disclosed["geography"], disclosed["indicator"]),
        disclosed["figure"].astype(int),
        disclosed["published"].astype(bool),
    )
    return ReleaseInputs(
        values=values, held_back=held_back_authorities(connection, month), as_of=as_of, earlier=earlier
    )


def _record_disclosed(home: DataHome, figures: dict[str, pd.DataFrame]) -> None:
    """Add what each month's release discloses to the warehouse's private record, in one connection."""
    try:
        with connect(home) as connection:
            for month, month_figures in figures.items():
                record_disclosed(connection, month, month_figures)
    except duckdb.Error as exc:
        raise PublishingError(f"warehouse cannot record the release: {str(exc).splitlines()[0]}") from None


def _rolling_sums() -> dict[str, str]:
    """Each published twelve-month column and the monthly flow it sums."""
    return {i.column: i.sums for i in published_indicators() if i.kind == "rolling12"}


def _stale_totals(register: pd.DataFrame, stale_sums: pd.DataFrame) -> set[tuple[str, str, str]]:
    """The regional and England sums (code, month, column) that add up an authority's stale sum."""
    region_of = dict(zip(register["new_la_code"], register["region_code"]))
    keys = zip(stale_sums["la_code"], stale_sums["period"], stale_sums["column"])
    return {
        (geography, month, column)
        for code, month, column in keys
        for geography in (region_of.get(code), ENGLAND_CODE)
        if geography
    }


def _span(months: list[str]) -> str:
    return months[0] if len(months) == 1 else f"{months[0]} to {months[-1]}"


def _figure(value: object) -> int | None:
    """Warehouse figures are DOUBLE; published counts are whole numbers, blanks are not available."""
    if value is None or pd.isna(value):
        return None
    return round(float(value))


def release_rows(
    month: str, register: pd.DataFrame, values: pd.DataFrame, earlier: EarlierFigures = NOTHING_EARLIER
) -> MonthRelease:
    """EES rows for England, each region and each authority of the register, with disclosure
    control that also takes account of what earlier releases of the month (`earlier`) disclosed."""
    register = register.sort_values(["region_code", "new_la_code"]).reset_index(drop=True)
    indicators = published_indicators()
    counts_columns = [i.column for i in indicators if i.is_count]
    accepted = {str(row["la_code"]): row for _, row in values.iterrows()}
    problems = [
        f"{code}: accepted return for an authority that is not in the register"
        for code in sorted(set(accepted) - set(register["new_la_code"]))
    ]

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
            notes.append(
                f"{members['region_name'].iloc[0]} ({region_code}) total not published (x): "
                f"{len(missing)} of {len(authorities)} authorities have no accepted return for "
                f"{_month_words(month)} ({_names(missing)})."
            )
    region_codes = [code for code, _ in regions]
    england_missing = sorted(set(register["new_la_code"]) - set(accepted))
    for column in counts_columns:
        parts = [counts[(code, column)] for code in region_codes]
        counts[(ENGLAND_CODE, column)] = None if england_missing or None in parts else sum(parts)
        if not england_missing:
            totals.append(Total((ENGLAND_CODE, column), tuple((code, column) for code in region_codes)))
    if england_missing:
        notes.append(
            f"England total not published (x): {len(england_missing)} of {len(register)} authorities "
            f"have no accepted return for {_month_words(month)}."
        )

    part_of = {i.column: i.part_of for i in load_catalogue() if i.part_of and i.is_count}
    derived = [
        Derived(i.column, i.numerator, i.denominator, i.multiplier, i.publish_dp or 0)
        for i in indicators
        if i.is_derived
    ]
    try:
        cells = publishable_cells(
            counts, totals, part_whole_pairs(part_of), derived, rounded={ENGLAND_CODE, *region_codes}, earlier=earlier
        )
    except UnprotectableTotal as exc:  # blocks the release: nothing of the month is built
        return MonthRelease([], notes, [*problems, f"{month}: {exc}"], pd.DataFrame(columns=list(DISCLOSED_COLUMNS)))

    year, month_name = time_identifiers(month)
    base = {
        "time_period": year,
        "time_identifier": month_name,
        "country_code": ENGLAND_CODE,
        "country_name": ENGLAND_NAME,
    }
    blank = dict.fromkeys(GEOGRAPHY_COLUMNS[3:], "")
    geographies = [(ENGLAND_CODE, {**base, **blank, "geographic_level": NATIONAL})]
    for region_code, members in regions:
        geographies.append(
            (
                region_code,
                {
                    **base,
                    **blank,
                    "geographic_level": REGIONAL,
                    "region_code": region_code,
                    "region_name": safe_text(members["region_name"].iloc[0]),
                },
            )
        )
    for authority in register.itertuples(index=False):
        geographies.append(
            (
                authority.new_la_code,
                {
                    **base,
                    "geographic_level": LOCAL_AUTHORITY,
                    "region_code": authority.region_code,
                    "region_name": safe_text(authority.region_name),
                    "old_la_code": authority.old_la_code,
                    "new_la_code": authority.new_la_code,
                    "la_name": safe_text(authority.la_name),
                },
            )
        )
    rows = [{**identity, **{i.column: cells[(code, i.column)] for i in indicators}} for code, identity in geographies]
    disclosed = [
        (code, column, value, is_number(cells[(code, column)]))
        for (code, column), value in counts.items()
        if value is not None
    ]
    figures = pd.DataFrame(disclosed, columns=list(DISCLOSED_COLUMNS))
    return MonthRelease(rows, notes, problems, figures)


def _month_words(month: str) -> str:
    year, name = time_identifiers(month)
    return f"{name} {year}"


def _names(names: list[str], shown: int = 5) -> str:
    return ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")


def _row_key(row: dict[str, str]) -> tuple:
    return (
        row["time_period"],
        month_of(row["time_period"], row["time_identifier"]),
        LEVEL_ORDER.get(row["geographic_level"], 9),
        row.get("region_code", ""),
        row.get("new_la_code", ""),
    )


def _geography(row: dict[str, str]) -> tuple[str, str]:
    if row["geographic_level"] == LOCAL_AUTHORITY:
        return row["new_la_code"], row["la_name"]
    if row["geographic_level"] == REGIONAL:
        return row["region_code"], row["region_name"]
    return row["country_code"], row["country_name"]


class PublishedSeries:
    """The cumulative series and revisions.csv of a publish folder, held in memory while releases
    replace their months in calendar order; `write` then writes them, and the month snapshots
    that changed, once. Each `replace_month` does what writing that release's files would do, so
    replacing several months here gives the same bytes as publishing them one at a time."""

    def __init__(
        self,
        by_month: dict[str, list[dict[str, str]]],
        as_read: dict[str, list[dict[str, str]]],
        revisions: list[dict[str, str]],
        snapshot_months: set[str],
        stale_totals: Collection[tuple[str, str, str]] = frozenset(),
    ):
        self.by_month = by_month  # month -> its rows, in series order
        self._as_read = as_read  # the rows as the file gave them, until the first replacement
        self.revisions = revisions
        self._snapshot_months = snapshot_months  # months whose snapshot the folder holds
        self.snapshots: dict[str, list[dict[str, str]]] = {}  # month -> the rows its snapshot gets
        self._settled = False  # suppression across months has run over the whole series
        self._stale_totals = stale_totals  # (code, month, column): totals over a stale authority sum

    @classmethod
    def read(cls, folder: Path, stale_totals: Collection[tuple[str, str, str]] = frozenset()) -> PublishedSeries:
        columns = published_columns()
        series_path, revisions_path = folder / SERIES_FILE, folder / REVISIONS_FILE
        as_read: dict[str, list[dict[str, str]]] = {}
        for row in read_csv(series_path)[1] if series_path.exists() else []:
            as_read.setdefault(month_of(row["time_period"], row["time_identifier"]), []).append(row)
        # A column the catalogue gained since is not available in the months published before.
        by_month = {
            month: sorted(
                ({c: r.get(c, NOT_AVAILABLE if c not in GEOGRAPHY_COLUMNS else "") for c in columns} for r in rows),
                key=_row_key,
            )
            for month, rows in sorted(as_read.items())
        }
        revisions = read_csv(revisions_path)[1] if revisions_path.exists() else []
        snapshots = {month for month in by_month if (folder / release_file(month)).exists()}
        return cls(by_month, as_read, revisions, snapshots, stale_totals)

    def rows(self) -> list[dict[str, str]]:
        return [row for rows in self.by_month.values() for row in rows]

    def replace_month(self, month: str, rows: list[dict[str, str]], as_of: str) -> list[dict[str, str]]:
        """Replace the month's rows; record every published figure that changed (the month's own
        and, from suppression across months, other months'); returns those records."""
        same_month = (self._as_read if self._as_read is not None else self.by_month).get(month, [])
        self._as_read = None  # once written, the file holds every column
        self.by_month[month] = sorted(rows, key=_row_key)
        self.by_month = dict(sorted(self.by_month.items()))
        # Suppression across months changes `rows` in place and may reach months published before.
        earlier_months = self._suppress_across_months(month, as_of)
        self.snapshots[month] = rows

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
                    revisions.append(
                        {
                            "month": month,
                            "geography": code,
                            "geography_name": name,
                            "indicator": indicator.column,
                            "old": before,
                            "new": after,
                            "date": as_of,
                        }
                    )
        revisions += earlier_months
        # Every record, earlier ones too, loses the figures of cells this series now withholds.
        records = self.revisions + revisions
        revised = {(r["month"], r["geography"]) for r in records}
        now_published = {}
        for revised_month in sorted({m for m, _ in revised} & set(self.by_month)):
            for row in self.by_month[revised_month]:
                key = (revised_month, _geography(row)[0])
                if key in revised:
                    now_published.update({(*key, i.column): row[i.column] for i in published_indicators()})
        self.revisions = withhold_revised_figures(records, now_published)
        return revisions

    def _suppress_across_months(self, month: str, as_of: str) -> list[dict[str, str]]:
        """Suppress twelve-month sums over months not published as numbers, at every geography;
        mark for rewriting other months' snapshots it changes.

        Returns revision records for cells of months other than `month` (already published) that
        this release suppresses, so the change to an earlier file is on the record. The first
        time over the whole series; after that the series is settled (suppressing again changes
        nothing), so only the rows whose windows hold `month` can change: the months from it on,
        with the months before it as their windows (copies: their own verdicts are not needed).
        """
        rolling = _rolling_sums()
        derived = [
            Derived(i.column, i.numerator, i.denominator, i.multiplier, i.publish_dp or 0)
            for i in published_indicators()
            if i.is_derived
        ]
        settled, window_start = self._settled, _shift_month(month, -HISTORY_MONTHS)
        rows = (
            self.rows()
            if not settled
            else [
                *(dict(row) for m, rows in self.by_month.items() if window_start <= m < month for row in rows),
                *(row for m, rows in self.by_month.items() if m >= month for row in rows),
            ]
        )
        self._settled = True
        revisions, touched = [], set()
        for row, column, before in suppress_rolling_windows(rows, rolling, derived, self._stale_totals):
            row_month = month_of(row["time_period"], row["time_identifier"])
            if row_month == month or (settled and row_month < month):
                continue
            touched.add(row_month)
            code, name = _geography(row)
            revisions.append(
                {
                    "month": row_month,
                    "geography": code,
                    "geography_name": name,
                    "indicator": column,
                    "old": before,
                    "new": SUPPRESSED,
                    "date": as_of,
                }
            )
        for other in sorted(touched):
            if other in self.snapshots or other in self._snapshot_months:
                self.snapshots[other] = list(self.by_month[other])
        return revisions

    def write(self, folder: Path) -> None:
        """The series, its metadata, revisions.csv and the snapshots replaced or changed."""
        columns = published_columns()
        write_csv(folder / SERIES_FILE, columns, self.rows())
        write_csv(folder / meta_file(SERIES_FILE), META_COLUMNS, meta_rows())
        for month, rows in self.snapshots.items():
            write_csv(folder / release_file(month), columns, rows)
        write_csv(folder / REVISIONS_FILE, REVISION_COLUMNS, self.revisions)


def _shift_month(month: str, months: int) -> str:
    """`2025-03` shifted by -12 months is `2024-03`."""
    ordinal = int(month[:4]) * 12 + int(month[5:7]) - 1 + months
    return f"{ordinal // 12:04d}-{ordinal % 12 + 1:02d}"


def _write_release_metadata(
    folder: Path,
    month: str,
    inputs: ReleaseInputs,
    rows: list[dict[str, str]],
    notes: list[str],
    summary: ReleaseSummary,
) -> None:
    year, month_name = time_identifiers(month)
    reporting = set(inputs.values["la_code"])
    metadata = {
        "month": month,
        "time_period": year,
        "time_identifier": month_name,
        "as_of": inputs.as_of,
        "data_file": release_file(month).split("/")[-1],
        "authorities_in_register": summary.la_rows,
        "authorities_with_accepted_returns": sum(
            r["new_la_code"] in reporting for r in rows if r["geographic_level"] == LOCAL_AUTHORITY
        ),
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


def screen_published(home: DataHome, months: list[str]) -> dict[str, list[str]]:
    """Screen what is being served for each of `months` now: its snapshot and the cumulative series
    (read and screened once for all of them)."""
    return screen_releases(
        home.publish, {month: [release_file(month), SERIES_FILE] for month in months}, _register(home)
    )
