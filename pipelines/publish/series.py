"""The series and its revisions: every published month's rows (the record of what has been published)
and every published figure changed after publication.

A release replaces its months in calendar order (`replace_month`), as publishing them one at a
time would: each replaced month is compared with what the series published for it (its changes
are revisions), and the twelve-month sums of the months whose windows hold it are suppressed
where the month no longer publishes their flow (`disclosure.suppress_rolling_windows`), which
may reach months published before: their changes are revisions too, and their snapshots are
rewritten.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from pathlib import Path

from pipelines.publish.assembly import derived_figures
from pipelines.publish.disclosure import (
    WINDOW_MONTHS,
    geography_code,
    suppress_rolling_windows,
    withhold_revised_figures,
)
from pipelines.publish.ees import (
    GEOGRAPHY_COLUMNS,
    LOCAL_AUTHORITY,
    NOT_AVAILABLE,
    REGIONAL,
    SUPPRESSED,
    month_of,
    published_columns,
    published_indicators,
    read_csv,
    read_table,
)
from pipelines.publish.files import REVISIONS_FILE, SERIES_FILE, release_file
from schemas.month import Month

LEVEL_ORDER = {"National": 0, REGIONAL: 1, LOCAL_AUTHORITY: 2}


def rolling_sums() -> dict[str, str]:
    """Each published twelve-month column and the monthly flow it sums."""
    return {i.column: i.sums for i in published_indicators() if i.kind == "rolling12"}


def _order(row: dict[str, str]) -> tuple:
    """A row's place within its month: England, the regions, the authorities, each by code."""
    return LEVEL_ORDER.get(row["geographic_level"], 9), row.get("region_code", ""), row.get("new_la_code", "")


def _geography(row: dict[str, str]) -> tuple[str, str]:
    if row["geographic_level"] == LOCAL_AUTHORITY:
        return row["new_la_code"], row["la_name"]
    if row["geographic_level"] == REGIONAL:
        return row["region_code"], row["region_name"]
    return row["country_code"], row["country_name"]


class PublishedSeries:
    """The cumulative series and revisions.csv of a publish folder, held in memory while releases
    replace their months in calendar order; the formats then write them (`formats/`). Each
    `replace_month` does what writing that release's files would do, so replacing several months
    here gives the same bytes as publishing them one at a time."""

    def __init__(
        self,
        by_month: dict[str, list[dict[str, str]]],
        as_read: dict[str, list[dict[str, str]]],
        revisions: list[dict[str, str]],
        snapshot_months: set[str],
        stale_totals: Collection[tuple[str, str, str]] = frozenset(),
    ):
        self.by_month = by_month  # month -> its rows, in series order
        self._as_read: dict[str, list[dict[str, str]]] | None = as_read  # the file's rows, until the first replacement
        self.revisions = revisions
        self._snapshot_months = snapshot_months  # months whose snapshot the folder holds
        self.snapshots: dict[str, list[dict[str, str]]] = {}  # month -> the rows its snapshot gets
        self._settled = False  # suppression across months has run over the whole series
        self._stale_totals = stale_totals  # (code, month, column): totals over a stale authority sum

    @classmethod
    def read(cls, folder: Path, stale_totals: Collection[tuple[str, str, str]] = frozenset()) -> PublishedSeries:
        columns = published_columns()
        series_path, revisions_path = folder / SERIES_FILE, folder / REVISIONS_FILE
        header, cells = read_table(series_path) if series_path.exists() else (columns, [])
        as_read: dict[str, list[dict[str, str]]] = {}
        when = {name: header.index(name) for name in ("time_period", "time_identifier")} if cells else {}
        months: dict[tuple[str, str], str] = {}
        for row in cells:
            key = (row[when["time_period"]], row[when["time_identifier"]])
            if key not in months:
                months[key] = month_of(*key)
            as_read.setdefault(months[key], []).append(dict(zip(header, row)))
        if header == columns and all(len(row) == len(columns) for row in cells):
            normalised = as_read
        else:  # a column the catalogue gained since is not available in the months published before
            normalised = {
                month: [
                    {c: r.get(c, NOT_AVAILABLE if c not in GEOGRAPHY_COLUMNS else "") for c in columns} for r in rows
                ]
                for month, rows in as_read.items()
            }
        by_month = {month: sorted(rows, key=_order) for month, rows in sorted(normalised.items())}
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
        self.by_month[month] = sorted(rows, key=_order)
        self.by_month = dict(sorted(self.by_month.items()))
        # Suppression across months changes `rows` in place and may reach months published before.
        earlier_months = self._suppress_across_months(month, as_of, same_month)
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
                    revisions.append(_record(month, code, name, indicator.column, before, after, as_of))
        revisions += earlier_months
        # Every record, earlier ones too, loses the figures of cells this series now withholds.
        records = self.revisions + revisions
        self.revisions = withhold_revised_figures(records, self._now_published(records))
        return revisions

    def _now_published(self, records: Iterable[dict[str, str]]) -> dict[tuple[str, str, str], str]:
        """(month, geography, indicator) -> the text the series publishes now, for the records' cells."""
        cells = {(r["month"], r["geography"], r["indicator"]) for r in records}
        rows_of: dict[str, dict[str, dict[str, str]]] = {}
        now = {}
        for month, geography, indicator in cells:
            if month not in self.by_month:
                continue
            if month not in rows_of:
                rows_of[month] = {_geography(row)[0]: row for row in self.by_month[month]}
            row = rows_of[month].get(geography)
            if row is not None and indicator in row:
                now[(month, geography, indicator)] = row[indicator]
        return now

    def _suppress_across_months(
        self, month: str, as_of: str, same_month: list[dict[str, str]]
    ) -> list[dict[str, str]]:
        """Suppress twelve-month sums over months not published as numbers, at every geography;
        mark for rewriting other months' snapshots it changes.

        Returns revision records for cells of months other than `month` (already published) that
        this release suppresses, so the change to an earlier file is on the record. The first
        time over the whole series; after that the series is settled (suppressing again changes
        nothing), so only the rows whose windows hold `month` can change: the month's own, and
        those of the eleven months after it of each geography whose flows in `month` are not what
        they were (a sum reads only the flows of its window, which suppression never changes).
        """
        later = [str(Month.parse(month) + k) for k in range(1, WINDOW_MONTHS)]
        if not self._settled:
            rows, changeable = self.rows(), None
        else:
            flows = list(dict.fromkeys(rolling_sums().values()))
            before = {geography_code(row): [row.get(flow) for flow in flows] for row in same_month}
            now = {geography_code(row): [row.get(flow) for flow in flows] for row in self.by_month[month]}
            moved = {code for code in before.keys() | now.keys() if before.get(code) != now.get(code)}
            window = [str(Month.parse(month) - k) for k in range(WINDOW_MONTHS - 1, 0, -1)]
            targets = [*self.by_month[month], *(r for m in later for r in self.by_month.get(m, []) if geography_code(r) in moved)]
            context = [r for m in window for r in self.by_month.get(m, []) if geography_code(r) in moved | set(now)]
            rows, changeable = [*context, *targets], {id(row) for row in targets}
        self._settled = True
        settled = changeable is not None
        revisions, touched = [], set()
        changes = suppress_rolling_windows(rows, rolling_sums(), derived_figures(), self._stale_totals, changeable)
        for row, column, before_text in changes:
            row_month = month_of(row["time_period"], row["time_identifier"])
            if row_month == month or (settled and row_month < month):
                continue
            touched.add(row_month)
            code, name = _geography(row)
            revisions.append(_record(row_month, code, name, column, before_text, SUPPRESSED, as_of))
        for other in sorted(touched):
            if other in self.snapshots or other in self._snapshot_months:
                self.snapshots[other] = list(self.by_month[other])
        return revisions


def _record(month: str, code: str, name: str, indicator: str, old: str, new: str, date: str) -> dict[str, str]:
    return {
        "month": month,
        "geography": code,
        "geography_name": name,
        "indicator": indicator,
        "old": old,
        "new": new,
        "date": date,
    }
