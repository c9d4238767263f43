"""Statistical disclosure control for the published tables, as DfE applies it to these statistics.

A cell is (geography code, column). Counts come in exactly as the authorities returned them
(totals already summed); what goes out is the text that may be published:

- primary suppression: a count from 1 to 5 is `c` (0 is a true zero and stays 0);
- differencing inside a row: a part and a whole of it (catalogue `part_of`, followed up the
  chain) must not both be published when whole - part is from 1 to 5, or the subtraction would
  publish a small count; the part is suppressed;
- secondary suppression across rows: where a published total equals the sum of its parts
  (a region and its authorities, England and its regions), no term may be the only one
  suppressed, or one subtraction would recover it; the smallest non-zero other part is
  suppressed too (the total itself when no part qualifies), until no such total is left;
- regional and England counts are rounded to the nearest 10 (after suppression decisions,
  which use the exact figures);
- a rate or percentage is recomputed from the exact components, given to its catalogue
  decimal places, and is `c` when its numerator or denominator is `c`, `x` when either is
  not available and `z` when the denominator is zero;
- across months (the series): a twelve-month sum, and the rates on it, is published only when
  every month of its window publishes the flow as a number (`suppress_rolling_windows`);
- revisions never carry a figure of a cell now published as `c` or `x` (`withhold_revised_figures`);
- across releases of one month: the public keeps every release, so a figure an earlier release
  published is known (it hides nothing when suppressed, and cannot be the complement that protects
  another), and a figure an earlier release withheld stays withheld while it is unchanged, or the
  two releases together would give it (or the small count it protected) back (`EarlierFigures`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from operator import itemgetter

import numpy as np

from pipelines.publish.ees import NOT_APPLICABLE, NOT_AVAILABLE, SUPPRESSED, is_number, month_of

Cell = tuple[str, str]
SMALL_COUNTS = range(1, 6)
WINDOW_MONTHS = 12  # a rolling sum's window: the month and the eleven before it


@dataclass(frozen=True)
class Total:
    """A published total and the cells that add up to it exactly."""

    whole: Cell
    parts: tuple[Cell, ...]


@dataclass(frozen=True)
class Derived:
    """A rate or percentage: numerator / denominator x multiplier, published to `dp` places."""

    column: str
    numerator: str
    denominator: str
    multiplier: int
    dp: int


class UnprotectableTotal(ValueError):
    """Suppression cannot protect a figure: what could hide it is already public (one line)."""


@dataclass(frozen=True)
class EarlierRelease:
    """One earlier release of the month: each count cell's exact figure, and the cells it published."""

    figures: Mapping[Cell, int]
    published: frozenset[Cell]


@dataclass(frozen=True)
class EarlierFigures:
    """What earlier releases of the same month disclosed, release by release. A cell whose figure
    has changed since is a new unknown to the public; one with the same figure is taken as the
    same (the safe side: the public sees no revision for it). Kept privately in the warehouse
    (`store/disclosed.py`)."""

    releases: tuple[EarlierRelease, ...] = ()
    published: frozenset[tuple[Cell, int]] = field(init=False)  # (cell, figure) any release printed
    withheld: frozenset[tuple[Cell, int]] = field(init=False)  # (cell, figure) any release withheld

    def __post_init__(self) -> None:
        pairs = [
            ((cell, figure), cell in release.published)
            for release in self.releases
            for cell, figure in release.figures.items()
        ]
        object.__setattr__(self, "published", frozenset(pair for pair, shown in pairs if shown))
        object.__setattr__(self, "withheld", frozenset(pair for pair, shown in pairs if not shown))

    @classmethod
    def from_record(
        cls, releases: Iterable[str], cells: Iterable[Cell], figures: Iterable[int], published: Iterable[bool]
    ) -> EarlierFigures:
        """From the record's columns: the release each row belongs to, its cell, figure and whether published."""
        by_release: dict[str, tuple[dict[Cell, int], set[Cell]]] = {}
        for release, cell, figure, shown in zip(releases, cells, figures, published):
            values, printed = by_release.setdefault(release, ({}, set()))
            values[cell] = int(figure)
            if shown:
                printed.add(cell)
        return cls(tuple(EarlierRelease(values, frozenset(printed)) for values, printed in by_release.values()))

    def known(self, counts: Mapping[Cell, int | None]) -> set[Cell]:
        """Cells whose figure now the public already has from an earlier release."""
        return {cell for cell, value in counts.items() if (cell, value) in self.published}

    def still_withheld(self, counts: Mapping[Cell, int | None]) -> set[Cell]:
        """Cells whose figure now an earlier release withheld."""
        return {cell for cell, value in counts.items() if (cell, value) in self.withheld}

    def lone_change_behind(
        self,
        total: Total,
        counts: Mapping[Cell, int | None],
        public: Callable[[Cell], bool],
        parts_of: Mapping[Cell, tuple[Cell, ...]] | None = None,
    ) -> bool:
        """Whether the total, published now and by an earlier release, differs from it by the change
        of one figure the public does not have (a part hidden now, or hidden then): the difference
        of the two totals, less the changes the public can see, would give that figure back. A part
        that is itself a total (a region within England: `parts_of`) counts as the unknowns of its
        own parts where they are fewer: the attacker differences whichever level gives away more."""
        parts_of = parts_of or {}
        for release in self.releases:
            if total.whole not in release.published or counts.get(total.whole) is None or not public(total.whole):
                continue  # not two published totals to difference
            if sum(self._unknown_changes(part, counts, public, release, parts_of) for part in total.parts) == 1:
                return True
        return False

    def _unknown_changes(
        self,
        cell: Cell,
        counts: Mapping[Cell, int | None],
        public: Callable[[Cell], bool],
        release: EarlierRelease,
        parts_of: Mapping[Cell, tuple[Cell, ...]],
    ) -> int:
        """How many figures the public lacks in the change of `cell` since `release`: none if it did
        not change, else one for its figure now if hidden and one for its figure then if that was not
        published; or, if fewer, those of its parts (it is their sum)."""
        if counts.get(cell) == release.figures.get(cell):
            return 0
        direct = (not public(cell)) + ((cell, release.figures.get(cell)) not in self.published)
        parts = parts_of.get(cell)
        if not parts or direct <= 1:
            return direct
        return min(direct, sum(self._unknown_changes(part, counts, public, release, parts_of) for part in parts))

    def changed_parts(self, total: Total, counts: Mapping[Cell, int | None]) -> set[Cell]:
        """Parts of the total whose figure differs from an earlier release's."""
        return {
            part
            for release in self.releases
            for part in total.parts
            if part in release.figures and counts.get(part) != release.figures[part]
        }


NOTHING_EARLIER = EarlierFigures()


def is_small(value: int | None) -> bool:
    return value is not None and value in SMALL_COUNTS


def round_to_ten(value: int) -> int:
    """Nearest 10, halves up (15 -> 20), as DfE rounds regional and national totals."""
    return (value + 5) // 10 * 10


def part_whole_pairs(part_of: Mapping[str, str]) -> list[tuple[str, str]]:
    """Every (part, whole) the catalogue implies, following `part_of` up its chain."""
    pairs = []
    for part in part_of:
        whole = part_of.get(part)
        seen = {part}
        while whole and whole not in seen:
            pairs.append((part, whole))
            seen.add(whole)
            whole = part_of.get(whole)
    return pairs


def suppressed_counts(
    counts: Mapping[Cell, int | None],
    totals: Sequence[Total],
    pairs: Sequence[tuple[str, str]],
    earlier: EarlierFigures = NOTHING_EARLIER,
    withheld: Collection[Cell] = (),
) -> set[Cell]:
    """The count cells to publish as `c` (primary, differencing and secondary suppression).

    `earlier` is what earlier releases of the month disclosed: a cell they published with its
    figure now is public whatever this release prints, and one they withheld stays withheld.
    `withheld` are cells withheld from the start besides the small counts: the complements the
    attacker's audit chose (`audit.protect`), which the rules below then protect like any other.
    """
    known = earlier.known(counts)
    suppressed = {cell for cell, value in counts.items() if is_small(value)} | (earlier.still_withheld(counts) - known)
    suppressed |= {cell for cell in withheld if counts.get(cell) is not None} - known

    def public(cell: Cell) -> bool:
        return cell not in suppressed or cell in known

    parts_of = {total.whole: total.parts for total in totals}
    geographies = sorted({geography for geography, _ in counts})
    for geography in geographies:
        for part, whole in pairs:
            part_cell, whole_cell = (geography, part), (geography, whole)
            part_value, whole_value = counts.get(part_cell), counts.get(whole_cell)
            if part_value is None or whole_value is None or not (public(part_cell) and public(whole_cell)):
                continue
            if is_small(whole_value - part_value):
                suppressed.add(whole_cell if part_cell in known else part_cell)
    changed = True
    while changed:
        changed = False
        for total in totals:
            hidden = [cell for cell in (total.whole, *total.parts) if counts.get(cell) is None or not public(cell)]
            if len(hidden) == 1 and hidden[0] in suppressed:
                complement = _complementary_cell(total, counts, suppressed, known)
            elif earlier.lone_change_behind(total, counts, public, parts_of):
                # Hide one more changed figure the public lacks (or the total), so the change is two unknowns.
                complement = _complementary_cell(total, counts, suppressed, known, earlier.changed_parts(total, counts))
            else:
                continue
            if complement in suppressed:  # the total itself, which an earlier release published
                raise UnprotectableTotal(
                    f"{total.whole[0]} {total.whole[1]}: every figure that could protect a "
                    "withheld one has been published by an earlier release of the month"
                )
            suppressed.add(complement)
            changed = True
    return suppressed


def _complementary_cell(
    total: Total,
    counts: Mapping[Cell, int | None],
    suppressed: set[Cell],
    known: set[Cell],
    among: Collection[Cell] | None = None,
) -> Cell:
    """The smallest non-zero part (of `among`, if given) still unknown to the public protects best
    at least cost; else the total itself. (A part an earlier release published hides nothing.)"""
    candidates = sorted(
        (counts[cell], cell)
        for cell in total.parts
        if cell not in suppressed and cell not in known and counts.get(cell) and (among is None or cell in among)
    )
    return candidates[0][1] if candidates else total.whole


def format_number(value: Fraction, dp: int) -> str:
    """`value` to `dp` decimal places, halves rounded away from zero (as Decimal's ROUND_HALF_UP)."""
    return ratio_text(value.numerator, value.denominator, 1, dp)


# Below this size, n / d to `dp` places by integers is what the Decimal division (28 significant
# digits) then ROUND_HALF_UP gave: n / d lies at least 1 / (2 d 10^dp) from a rounding boundary,
# far more than the 28-digit rounding can move it. Larger figures take the Decimal path.
_EXACT_LIMIT = 10**24


def ratio_text(numerator: int, denominator: int, multiplier: int, dp: int) -> str:
    """numerator x multiplier / denominator to `dp` places, halves rounded up (away from zero)."""
    top, scale = numerator * multiplier, 10**dp
    if abs(top) * scale >= _EXACT_LIMIT or abs(denominator) >= _EXACT_LIMIT:
        exact = Decimal(top) / Decimal(denominator)
        return str(exact.quantize(Decimal(1).scaleb(-dp), rounding=ROUND_HALF_UP))
    quotient, remainder = divmod(abs(top) * scale, abs(denominator))
    if 2 * remainder >= abs(denominator):
        quotient += 1
    sign = "-" if (top < 0) != (denominator < 0) and top != 0 else ""
    whole, fraction = divmod(quotient, scale)
    return f"{sign}{whole}.{fraction:0{dp}d}" if dp else f"{sign}{whole}"


def derived_text(
    derived: Derived,
    numerator: int | None,
    denominator: int | None,
    numerator_suppressed: bool,
    denominator_suppressed: bool,
) -> str:
    if numerator is None or denominator is None:
        return NOT_AVAILABLE
    if denominator == 0:
        return NOT_APPLICABLE
    if numerator_suppressed or denominator_suppressed:
        return SUPPRESSED
    return ratio_text(numerator, denominator, derived.multiplier, derived.dp)


def publishable_cells(
    counts: Mapping[Cell, int | None],
    totals: Sequence[Total],
    pairs: Sequence[tuple[str, str]],
    derived: Iterable[Derived],
    rounded: set[str],
    earlier: EarlierFigures = NOTHING_EARLIER,
    withheld: Collection[Cell] = (),
) -> dict[Cell, str]:
    """Published text for every count and derived cell of the table.

    `rounded` names the geographies (regions, England) whose counts are rounded to 10; `earlier`
    is what earlier releases of the month disclosed, `withheld` the audit's complements (`suppressed_counts`).
    """
    suppressed = suppressed_counts(counts, totals, pairs, earlier, withheld)
    cells: dict[Cell, str] = {}
    for cell, value in counts.items():
        geography = cell[0]
        if value is None:
            cells[cell] = NOT_AVAILABLE
        elif cell in suppressed:
            cells[cell] = SUPPRESSED
        else:
            cells[cell] = str(round_to_ten(value) if geography in rounded else value)
    geographies = sorted({geography for geography, _ in counts})
    for figure in derived:
        for geography in geographies:
            numerator, denominator = (geography, figure.numerator), (geography, figure.denominator)
            cells[(geography, figure.column)] = derived_text(
                figure,
                counts.get(numerator),
                counts.get(denominator),
                numerator in suppressed,
                denominator in suppressed,
            )
    return cells


def geography_code(row: Mapping[str, str]) -> str:
    """The code of the row's own geography: the authority, else the region, else the country."""
    return code_of(row.get("new_la_code"), row.get("region_code"), row.get("country_code"))


def code_of(la_code: str | None, region_code: str | None, country_code: str | None) -> str:
    """`geography_code` from a row's three code cells."""
    return la_code or region_code or country_code or ""


def suppress_rolling_windows(
    rows: Sequence[dict[str, str]],
    rolling: Mapping[str, str],
    derived: Sequence[Derived],
    stale_totals: Collection[tuple[str, str, str]] = frozenset(),
    changeable: Collection[int] | None = None,
    table: Mapping[str, Column] | None = None,
) -> list[tuple[dict[str, str], str, str]]:
    """Publish a twelve-month sum only over a window whose every month is published as a number.

    `rows` are the published rows of any geographies across months (the cumulative series),
    keyed by `new_la_code` / `region_code` / `country_code`, `time_period` and
    `time_identifier`; `rolling` maps a twelve-month column to the monthly flow it sums. A month
    of the window that is not a row (never submitted, before the series, not yet published) or
    whose flow is not a number (`c`, `x`) is unknown to the public, and any sum over it would
    give it back by differencing: x(m-12) = x(m) - (x_12m(m) - x_12m(m-1)), or a lone unknown
    month = x_12m(m) minus the eleven published ones. A sum over published months only is
    already a function of published figures, so it reveals nothing (docs/publishing.md proves
    it); an authority's sum must also equal those months, or it is suppressed, and so is a regional
    or England sum that adds up such a sum (`stale_totals`: (geography code, month, column), from
    the exact figures only the warehouse holds: the total less its other, published, members would
    give the stale sum back). Rates and
    percentages on a suppressed sum are suppressed with it (a rate to one decimal place times
    the published population gives the sum back). Changes `rows` in place and returns each
    changed cell as (row, column, text before), by geography, month and column.

    `changeable` (the `id` of rows) limits the rows changed to those: the others are read as the
    months of their windows only. A row's verdict reads only its own cells and the flows of the
    eleven months before it, which this never changes. `table` is the rows' cells by column
    (`columns_read`), when the caller has them already.
    """
    table = table if table is not None else table_of(rows, columns_read(rolling, derived))
    may_change = None if changeable is None else [id(row) in changeable for row in rows]
    changes = rolling_window_changes(table, rolling, derived, stale_totals, may_change)
    for k, column, _ in changes:
        rows[k][column] = SUPPRESSED
    return [(rows[k], column, before) for k, column, before in changes]


Column = Sequence["str | None"]
CONTEXT_COLUMNS = ("time_period", "time_identifier", "new_la_code", "region_code", "country_code")


def columns_read(rolling: Mapping[str, str], derived: Sequence[Derived]) -> list[str]:
    """The columns `rolling_window_changes` reads (those of a row that is a window's month only:
    `CONTEXT_COLUMNS` and the flows)."""
    named = [*CONTEXT_COLUMNS, *rolling.values(), *rolling]
    named += [c for d in derived for c in (d.column, d.numerator, d.denominator)]
    return list(dict.fromkeys(named))


def table_of(rows: Sequence[Mapping[str, str]], columns: Iterable[str]) -> dict[str, list[str | None]]:
    """The rows' cells by column (None where a row has no such cell)."""
    return {column: _column(rows, column) for column in columns}


def rolling_window_changes(
    table: Mapping[str, Column],
    rolling: Mapping[str, str],
    derived: Sequence[Derived],
    stale_totals: Collection[tuple[str, str, str]] = frozenset(),
    may_change: Sequence[bool] | None = None,
) -> list[tuple[int, str, str]]:
    """`suppress_rolling_windows` over a table of columns (row k is the k-th cell of each; a column
    the rows lack may be absent): the cells to publish as `c`, as (row, column, text before), by
    geography, month and column (each row's sums, then its rates). Changes nothing itself.

    Over whole columns: the rows are put in order of geography and month once, and each flow's
    runs of months published as numbers, and its twelve-month sums, are running counts and totals.
    """
    size = len(table["time_period"])
    blank: list[str | None] = [None] * size

    def column(name: str) -> Column:
        return table.get(name, blank)

    codes = [code_of(*cells) for cells in zip(column("new_la_code"), column("region_code"), column("country_code"))]
    months: dict[tuple, str] = {}
    keyed: dict[tuple[str, int], int] = {}
    for k, when in enumerate(zip(column("time_period"), column("time_identifier"))):
        if when not in months:
            months[when] = month_of(*when)  # type: ignore[arg-type]
        month = months[when]
        keyed[(codes[k], int(month[:-3]) * 12 + int(month[-2:]))] = k  # a geography-month twice: the last row
    order = sorted(keyed)  # by geography, then month
    rows = np.array([keyed[key] for key in order], dtype=np.intp)
    places = np.arange(len(order))
    same_code = np.array([code for code, _ in order], dtype=object)
    ordinal = np.array([month for _, month in order], dtype=np.int64)
    follows = np.zeros(len(order), dtype=bool)  # the month after the row before, same geography
    follows[1:] = (same_code[1:] == same_code[:-1]) & (ordinal[1:] == ordinal[:-1] + 1)
    changeable = np.ones(len(order), dtype=bool) if may_change is None else np.asarray(may_change, dtype=bool)[rows]

    # Each flow's twelve-month sum where its twelve months are all published as numbers, else None.
    windows: dict[str, np.ndarray] = {}
    for flow in dict.fromkeys(rolling.values()):
        figures = _figures(column(flow), rows)
        published = np.array([figure is not None for figure in figures], dtype=bool)
        starts = published & ~(np.concatenate(([False], published[:-1])) & follows)
        run = np.where(published, places - np.maximum.accumulate(np.where(starts, places, 0)) + 1, 0)
        values = np.array([figure or 0 for figure in figures], dtype=object)
        totals = np.concatenate(([0], np.cumsum(values))) if len(values) else np.zeros(1, dtype=object)
        sums = totals[1:] - np.where(places >= WINDOW_MONTHS, totals[np.maximum(places + 1 - WINDOW_MONTHS, 0)], 0)
        windows[flow] = np.where(run >= WINDOW_MONTHS, sums, np.array(None, dtype=object))

    authority = np.array([bool(code) for code in column("new_la_code")], dtype=bool)[rows]
    stale = _stale_places(stale_totals, order, rows, table) if stale_totals else {}
    changed: list[tuple[int, int, int, str, str]] = []  # (place, column's turn, row, column, text before)
    suppressed: dict[str, set[int]] = {}
    for turn, (name, flow) in enumerate(rolling.items()):
        sums_as_published = np.array(column(name), dtype=object)[rows]
        numbers = np.array(_published(sums_as_published.tolist()), dtype=bool) & changeable
        window = windows[flow]
        valid = window != None  # noqa: E711 - elementwise
        # An authority's sum must also equal its months (a regional or England one is rounded): the
        # same text is the same figure; any other text is compared as a number.
        same = sums_as_published == np.array([str(total) for total in window.tolist()], dtype=object)
        for place in np.flatnonzero(numbers & valid & authority & ~same).tolist():
            same[place] = _figure_of(sums_as_published[place]) == window[place]
        kept = valid & (~authority | same)
        for place in stale.get(name, ()):
            kept[place] = False
        for place in np.flatnonzero(numbers & ~kept).tolist():
            changed.append((place, turn, int(rows[place]), name, sums_as_published[place]))
            suppressed.setdefault(name, set()).add(int(rows[place]))
    place_of = dict(zip(rows.tolist(), places.tolist()))
    for turn, figure in enumerate(derived, start=len(rolling)):
        numerators = np.array(column(figure.numerator), dtype=object)
        denominators = np.array(column(figure.denominator), dtype=object)
        hidden = set(np.flatnonzero((numerators == SUPPRESSED) | (denominators == SUPPRESSED)).tolist())
        hidden |= suppressed.get(figure.numerator, set()) | suppressed.get(figure.denominator, set())
        rates = column(figure.column)
        for k in hidden:
            at = place_of.get(k)
            rate = rates[k]
            if at is None or not changeable[at] or k in suppressed.get(figure.column, ()) or rate is None:
                continue
            if is_number(rate):
                changed.append((at, turn, k, figure.column, rate))
                suppressed.setdefault(figure.column, set()).add(k)
    return [(k, name, before) for _, _, k, name, before in sorted(changed, key=lambda change: change[:2])]


def _figures(cells: Column, rows: np.ndarray | None) -> list[int | Decimal | None]:
    """Each cell as the number it publishes (None where it publishes none), in the order of `rows`."""
    texts = cells if rows is None else [cells[k] for k in rows.tolist()]
    figures = {
        text: _figure_of(text) if published and text is not None else None
        for text, published in zip(*_distinct_numbers(texts))
    }
    return [figures[text] for text in texts]


def _published(cells: Sequence[str | None]) -> list[bool]:
    """Whether each cell publishes a number."""
    distinct, numbers = _distinct_numbers(cells)
    published = dict(zip(distinct, numbers))
    return [published[cell] for cell in cells]


def _distinct_numbers(cells: Sequence[str | None]) -> tuple[list[str | None], list[bool]]:
    """The distinct cells and whether each publishes a number (whole counts in ASCII digits at once)."""
    distinct = list(set(cells))
    return distinct, [
        cell is not None and ((cell.isascii() and cell.isdigit()) or is_number(cell)) for cell in distinct
    ]


def _stale_places(
    stale_totals: Collection[tuple[str, str, str]],
    order: list[tuple[str, int]],
    rows: np.ndarray,
    table: Mapping[str, Column],
) -> dict[str, list[int]]:
    """The places in `order` of the sums named in `stale_totals`, by column."""
    wanted: dict[tuple[str, str], set[str]] = {}
    for code, month, name in stale_totals:
        wanted.setdefault((code, month), set()).add(name)
    periods, identifiers = table["time_period"], table["time_identifier"]
    found: dict[str, list[int]] = {}
    for place, ((code, _), k) in enumerate(zip(order, rows.tolist())):
        for name in wanted.get((code, month_of(periods[k] or "", identifiers[k] or "")), ()):
            found.setdefault(name, []).append(place)
    return found


def _column(rows: Sequence[Mapping[str, str]], column: str) -> list[str | None]:
    """A column of the rows (None where a row has no such cell)."""
    try:
        return list(map(itemgetter(column), rows))
    except KeyError:
        return [row.get(column) for row in rows]


def _figure_of(text: str) -> int | Decimal:
    """A published number, exactly: whole counts as integers, anything else as a Decimal."""
    return int(text) if text.isdigit() else Decimal(text)


def withhold_revised_figures(
    revisions: Iterable[dict[str, str]], published: Mapping[tuple[str, str, str], str]
) -> list[dict[str, str]]:
    """Revision records that never carry a figure the current release withholds.

    `published` maps (month, geography code, indicator) to the text the series publishes now.
    Where that is `c` or `x`, every figure recorded for the cell (old or new, this release's
    record or an earlier one) is replaced by the symbol: an old value of a cell suppressed after
    the fact is often its exact current value (a sum suppressed because a month of its window
    became `c` has not changed), and with the published months it would give the small count back.
    """
    withheld = []
    for record in revisions:
        now = published.get((record["month"], record["geography"], record["indicator"]))
        if now in (SUPPRESSED, NOT_AVAILABLE):
            record = {**record, **{side: now for side in ("old", "new") if is_number(record[side])}}
        withheld.append(record)
    return withheld
