"""The series writer that `series.PublishedSeries` and the formats replaced (release.py before issue 18),
kept as the reference they are held to: the same releases must give the same bytes
(tests/publish/test_series.py). It suppresses across months with `legacy_rolling`, the row-by-row
rule, over the whole series at its first replacement."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from pipelines.publish.disclosure import Derived, withhold_revised_figures
from pipelines.publish.ees import (
    GEOGRAPHY_COLUMNS,
    LOCAL_AUTHORITY,
    META_COLUMNS,
    NATIONAL,
    NOT_AVAILABLE,
    REGIONAL,
    REVISION_COLUMNS,
    SUPPRESSED,
    meta_rows,
    month_of,
    published_columns,
    published_indicators,
    read_csv,
    write_csv,
)
from pipelines.publish.files import REVISIONS_FILE, SERIES_FILE, meta_file, release_file
from schemas.rules import HISTORY_MONTHS

from .legacy_rolling import suppress_rolling_windows

LEVEL_ORDER = {NATIONAL: 0, REGIONAL: 1, LOCAL_AUTHORITY: 2}


def _rolling_sums() -> dict[str, str]:
    return {i.column: i.sums for i in published_indicators() if i.kind == "rolling12"}


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


class LegacySeries:
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
    def read(cls, folder: Path, stale_totals: Collection[tuple[str, str, str]] = frozenset()) -> LegacySeries:
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
