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
    CONTEXT_COLUMNS,
    WINDOW_MONTHS,
    columns_read,
    geography_code,
    suppress_rolling_windows,
    table_of,
    withhold_revised_figures,
)
from pipelines.publish.ees import (
    GEOGRAPHY_COLUMNS,
    LOCAL_AUTHORITY,
    NATIONAL,
    NOT_AVAILABLE,
    REGIONAL,
    SUPPRESSED,
    csv_line,
    csv_text,
    month_of,
    parse_lines,
    parse_table,
    published_columns,
    published_indicators,
    read_csv,
)
from pipelines.publish.files import REVISIONS_FILE, SERIES_FILE, release_file
from schemas.month import Month
from schemas.rules.identities import rolling_sums as declared_rolling_sums

LEVEL_ORDER = {NATIONAL: 0, REGIONAL: 1, LOCAL_AUTHORITY: 2}


def rolling_sums() -> dict[str, str]:
    """Each published twelve-month column and the monthly flow it sums (the rule book's declarations,
    `schemas/rules/identities.py`)."""
    published = {i.column for i in published_indicators()}
    return {i.column: i.flow for i in declared_rolling_sums() if i.column in published}


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
        file: _FileColumns | None = None,
    ):
        self.by_month = by_month  # month -> its rows, in series order
        self._as_read: dict[str, list[dict[str, str]]] | None = as_read  # the file's rows, until the first replacement
        self.revisions = revisions
        self._snapshot_months = snapshot_months  # months whose snapshot the folder holds
        self.snapshots: dict[str, list[dict[str, str]]] = {}  # month -> the rows its snapshot gets
        self._settled = False  # suppression across months has run over the whole series
        self._stale_totals = stale_totals  # (code, month, column): totals over a stale authority sum
        self._file = file  # the file's cells by column, where its rows are the series' in order
        self._replaced: set[str] = set()  # months whose rows are not the file's any more
        self._appended: list[str] = []  # months added after the last, their own sums not yet decided
        self._changed: set[str] = set()  # months whose rows a release replaced or changed

    @classmethod
    def read(cls, folder: Path, stale_totals: Collection[tuple[str, str, str]] = frozenset()) -> PublishedSeries:
        columns = published_columns()
        series_path, revisions_path = folder / SERIES_FILE, folder / REVISIONS_FILE
        data = series_path.read_bytes() if series_path.exists() else b""
        header, cells = parse_table(data) if data else (columns, [])
        rows = [dict(zip(header, row)) for row in cells]
        months_of: dict[tuple[str, str], str] = {}
        in_file_order = []
        as_read: dict[str, list[dict[str, str]]] = {}
        for row in rows:
            when = (row["time_period"], row["time_identifier"])
            if when not in months_of:
                months_of[when] = month_of(*when)
            in_file_order.append(months_of[when])
            as_read.setdefault(months_of[when], []).append(row)
        whole = header == columns and all(len(row) == len(columns) for row in cells)
        if whole:
            normalised = as_read
        else:  # a column the catalogue gained since is not available in the months published before
            normalised = {
                month: [
                    {c: r.get(c, NOT_AVAILABLE if c not in GEOGRAPHY_COLUMNS else "") for c in columns}
                    for r in month_rows
                ]
                for month, month_rows in as_read.items()
            }
        by_month = {month: sorted(month_rows, key=_order) for month, month_rows in sorted(normalised.items())}
        in_order = whole and in_file_order == sorted(in_file_order)
        in_order = in_order and all(a is b for month in by_month for a, b in zip(by_month[month], as_read[month]))
        revisions = read_csv(revisions_path)[1] if revisions_path.exists() else []
        snapshots = {month for month in by_month if (folder / release_file(month)).exists()}
        lines = _canonical_lines(data, cells) if in_order else None
        file = _FileColumns.of(header, cells, rows, in_file_order, lines) if in_order else None
        return cls(by_month, as_read, revisions, snapshots, stale_totals, file)

    def rows(self) -> list[dict[str, str]]:
        self.settle()
        return [row for rows in self.by_month.values() for row in rows]

    def file_content(self) -> tuple[str, tuple[list[str], list[list[str]]] | None]:
        """The series file's text, and what it parses to where that is known without parsing it: the
        lines and cells of the months no release changed are the file's as read, byte for byte (the
        same bytes parse the same), and those of the months changed are parsed from their own lines."""
        columns = published_columns()
        rows = self.rows()
        if self._file is None or self._file.lines is None:
            return csv_text(columns, rows), None
        parts, cells = [csv_text(columns, [])], []
        for month, month_rows in self.by_month.items():
            if month in self._changed or month not in self._file.blocks:
                block = csv_text(columns, month_rows, header=False)
                cells += parse_lines(block)
            else:
                start, end = self._file.blocks[month]
                block = "".join(line + "\n" for line in self._file.lines[start:end])
                cells += self._file.cells[start:end]
            parts.append(block)
        return "".join(parts), (list(columns), cells)

    def replace_month(self, month: str, rows: list[dict[str, str]], as_of: str) -> list[dict[str, str]]:
        """Replace the month's rows; record every published figure that changed (the month's own
        and, from suppression across months, other months'); returns those records.

        A month added after every month of a settled series, never revised, changes no other month
        and has no revision: its own sums are decided with those of the months added after it, at
        once, by `settle` (which `rows` and every format call first)."""
        same_month = (self._as_read if self._as_read is not None else self.by_month).get(month, [])
        if (
            self._settled
            and not same_month
            and all(other < month for other in self.by_month)
            and not any(record["month"] == month for record in self.revisions)
        ):
            self._as_read = None
            self.by_month[month] = sorted(rows, key=_order)
            self._appended.append(month)
            self._replaced.add(month)
            self._changed.add(month)
            self.snapshots[month] = rows
            return []
        self.settle()
        self._as_read = None  # once written, the file holds every column
        self.by_month[month] = sorted(rows, key=_order)
        self.by_month = dict(sorted(self.by_month.items()))
        # Suppression across months changes `rows` in place and may reach months published before.
        earlier_months = self._suppress_across_months(month, as_of, same_month)
        self._replaced.add(month)
        self._changed.add(month)
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

    def _suppress_across_months(self, month: str, as_of: str, same_month: list[dict[str, str]]) -> list[dict[str, str]]:
        """Suppress twelve-month sums over months not published as numbers, at every geography;
        mark for rewriting other months' snapshots it changes.

        Returns revision records for cells of months other than `month` (already published) that
        this release suppresses, so the change to an earlier file is on the record. The first
        time over the whole series; after that the series is settled (suppressing again changes
        nothing), so only the rows whose windows hold `month` can change: the month's own, and
        those of the eleven months after it of each geography whose flows in `month` are not what
        they were (a sum reads only the flows of its window, which suppression never changes).
        """
        rolling, derived = rolling_sums(), derived_figures()
        if not self._settled:
            rows, changeable, table = self._whole_series(month, columns_read(rolling, derived))
        else:
            rows, changeable, table = self._windows_holding(month, same_month, rolling, derived)
        settled, self._settled = self._settled, True
        revisions, touched = [], set()
        changes = suppress_rolling_windows(rows, rolling, derived, self._stale_totals, changeable, table)
        for row, column, before_text in changes:
            row_month = month_of(row["time_period"], row["time_identifier"])
            self._changed.add(row_month)
            if row_month == month or (settled and row_month < month):
                continue
            touched.add(row_month)
            code, name = _geography(row)
            revisions.append(_record(row_month, code, name, column, before_text, SUPPRESSED, as_of))
        for other in sorted(touched):
            if other in self.snapshots or other in self._snapshot_months:
                self.snapshots[other] = list(self.by_month[other])
        return revisions

    def _whole_series(
        self, month: str, read: list[str]
    ) -> tuple[list[dict[str, str]], None, dict[str, list[str | None]] | None]:
        """Every row, the month's new ones among them, and their cells by column (from the file's, where
        the file's rows are the series' in order)."""
        if self._file is None:
            return self.rows(), None, None
        rows, table = self._file.with_month(month, self.by_month[month], read)
        return rows, None, table

    def settle(self) -> None:
        """Decide the sums of the months added at the end (`replace_month`), over their windows at once:
        each reads only the months before it, as deciding them one by one would."""
        if not self._appended:
            return
        months, self._appended = self._appended, []
        targets = [row for month in months for row in self.by_month[month]]
        rolling, derived = rolling_sums(), derived_figures()
        rows, changeable, table = self._with_windows(targets, months[0], rolling, derived)
        suppress_rolling_windows(rows, rolling, derived, self._stale_totals, changeable, table)

    def _windows_holding(
        self, month: str, same_month: list[dict[str, str]], rolling: dict[str, str], derived: tuple
    ) -> tuple[list[dict[str, str]], set[int], dict[str, list[str | None]]]:
        """The rows whose windows hold `month` (its own, and those after it of each geography whose
        flows in it changed), then the rows of the eleven months before it, read as windows only."""
        flows = list(dict.fromkeys(rolling.values()))
        before = {geography_code(row): [row.get(flow) for flow in flows] for row in same_month}
        now = {geography_code(row): [row.get(flow) for flow in flows] for row in self.by_month[month]}
        moved = {code for code in before.keys() | now.keys() if before.get(code) != now.get(code)}
        start = Month.parse(month)
        later = [row for k in range(1, WINDOW_MONTHS) for row in self.by_month.get(str(start + k), [])]
        targets = [*self.by_month[month], *(row for row in later if geography_code(row) in moved)]
        return self._with_windows(targets, month, rolling, derived)

    def _with_windows(
        self, targets: list[dict[str, str]], first: str, rolling: dict[str, str], derived: tuple
    ) -> tuple[list[dict[str, str]], set[int], dict[str, list[str | None]]]:
        """The rows to decide (`targets`, from month `first` on), then those of the eleven months before
        `first`, read as windows only; the ids of the targets; every row's cells by column."""
        table = table_of(targets, columns_read(rolling, derived))
        context_columns = [*CONTEXT_COLUMNS, *dict.fromkeys(rolling.values())]
        start = Month.parse(first)
        earlier = [str(start - k) for k in range(WINDOW_MONTHS - 1, 0, -1) if str(start - k) in self.by_month]
        rows = list(targets)
        for other in earlier:
            cells = self._columns_of(other, context_columns)
            rows += self.by_month[other]
            for name in table:
                table[name] += cells.get(name) or [None] * len(self.by_month[other])
        return rows, {id(row) for row in targets}, table

    def _columns_of(self, month: str, columns: list[str]) -> dict[str, list[str | None]]:
        """The month's cells by column: the file's, unless its rows were replaced."""
        if self._file is not None and month not in self._replaced:
            return self._file.month(month, columns)
        return table_of(self.by_month[month], columns)


class _FileColumns:
    """The series file's rows and cells by column, and where each month's rows are, for a file whose
    rows are the series' in order (one a release wrote): the whole series by column costs one
    transposition of the file, not a look-up per cell."""

    def __init__(
        self,
        cells: list[list[str]],
        rows: list[dict[str, str]],
        blocks: dict[str, tuple[int, int]],
        lines: list[str] | None,
    ):
        self.cells, self.rows, self.blocks, self.lines = cells, rows, blocks, lines
        self.columns: dict[str, tuple[str, ...]] = {}

    @classmethod
    def of(
        cls,
        header: list[str],
        cells: list[list[str]],
        rows: list[dict[str, str]],
        months: list[str],
        lines: list[str] | None,
    ) -> _FileColumns:
        """`lines`: each row's line of the file, where rows and lines are one for one as the series'
        writer writes them (else None)."""
        blocks: dict[str, tuple[int, int]] = {}
        for position, month in enumerate(months):
            start, _ = blocks.get(month, (position, position))
            blocks[month] = (start, position + 1)
        file = cls(cells, rows, blocks, lines)
        file.columns = dict(zip(header, zip(*cells))) if cells else dict.fromkeys(header, ())
        return file

    def month(self, month: str, names: list[str]) -> dict[str, list[str | None]]:
        start, end = self.blocks[month]
        return {name: list(self.columns[name][start:end]) for name in names if name in self.columns}

    def with_month(
        self, month: str, rows: list[dict[str, str]], names: list[str]
    ) -> tuple[list[dict[str, str]], dict[str, list[str | None]]]:
        """The series' rows with `rows` as the month's, and their cells by column (`names`)."""
        start, end = self.blocks.get(month, (len(self.rows), len(self.rows)))
        series = [*self.rows[:start], *rows, *self.rows[end:]]
        new = table_of(rows, names)
        table = {
            name: [*self.columns[name][:start], *new[name], *self.columns[name][end:]]
            if name in self.columns
            else table_of(series, [name])[name]
            for name in names
        }
        return series, table


def _canonical_lines(data: bytes, cells: list[list[str]]) -> list[str] | None:
    """Each row's line of the series file, where the file is exactly what the writer writes for its
    rows, line for line (one row a line, LF ends, the header as written, quotes only where needed):
    then a month's lines are its rows' bytes. None otherwise."""
    text = data.decode("utf-8-sig")
    lines = text.split("\n")
    if "\r" in text or not text.endswith("\n") or len(lines) != len(cells) + 2:
        return None
    if lines[0] != csv_line(published_columns()):
        return None
    if any(line != csv_line(row) for line, row in zip(lines[1:-1], cells) if '"' in line):
        return None
    return lines[1:-1]


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
