"""Rules against the authority's stored months: rolling sums (consistency) and movement (continuity).

Columnar: every authority-month known (the stored history and the rows being validated) is
indexed by authority and month number, and each rule reads the same rows shifted back by k
months as whole columns (one reindex per offset), never row by row.

A month is history only when it is accepted: `accepted` says which of the rows being validated
may serve as history for the others (the rule book leaves out a month with an error, so one wrong
month is reported once, against itself, and does not make the later months' sums disagree).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.validate.cross_column import rolling_from_last_month, rolling_total
from schemas.catalogue import PERIOD_PATTERN, indicators_by_column
from schemas.findings import Finding
from schemas.rules import (
    FLOW_OUTLIER_FACTOR,
    FLOW_OUTLIER_MIN_DIFFERENCE,
    FLOW_OUTLIER_MIN_MONTHS,
    STOCK_JUMP_MIN,
    STOCK_JUMP_SHARE,
    in_row_order,
    make_findings,
)

# A rolling sum covers this month and the eleven before it; the flow median the twelve before it.
WINDOW = 12
HISTORY_BLOCK_ROWS = 262_144  # rows whose history rules are evaluated together (memory, not results)


def month_number(period: pd.Series) -> pd.Series:
    """YYYY-MM as a count of months (year x 12 + month - 1), so 'k months earlier' is a subtraction."""
    text = period.astype("string")
    return text.str[:4].astype("Int64") * 12 + text.str[5:7].astype("Int64") - 1


def _numbers(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame.columns:
        return np.full(len(frame), np.nan)
    return frame[column].astype("float64").to_numpy()


class _Earlier:
    """The known figures k months before each checked row, one column at a time (NaN where not known).

    Each authority-month is one integer key, so "k months earlier" is one hash lookup of the rows'
    keys minus k per offset; a column is gathered only when a rule reads it (a million rows stay
    a few column arrays in memory, not twelve copies of every figure).
    """

    def __init__(
        self,
        sources: list[pd.DataFrame],
        known: np.ndarray,
        known_keys: np.ndarray,
        row_keys: np.ndarray,
        index: pd.Index,
    ):
        self._sources, self._known, self._index = sources, known, index
        # Sorted keys and a binary search: no hash table of a million keys beside the figures.
        self._order = np.argsort(known_keys, kind="stable")
        self._sorted_keys, self._row_keys = known_keys[self._order], row_keys
        self._positions: dict[int, np.ndarray] = {}
        self._columns: dict[str, np.ndarray] = {}  # the last few columns' known figures

    def for_rows(self, start: int, stop: int) -> _Earlier:
        """The same lookups for the checked rows start..stop only (the known figures are shared)."""
        part = object.__new__(_Earlier)
        part.__dict__.update(
            self.__dict__, _row_keys=self._row_keys[start:stop], _index=self._index[start:stop], _positions={}
        )
        return part

    def _known_figures(self, column: str) -> np.ndarray:
        if column not in self._columns:
            if len(self._columns) >= 3:
                self._columns.pop(next(iter(self._columns)))
            self._columns[column] = np.concatenate([_numbers(s, column) for s in self._sources])[self._known]
        return self._columns[column]

    def __call__(self, offset: int, column: str) -> pd.Series:
        return pd.Series(self.block(offset, column), index=self._index)

    def _find(self, keys: np.ndarray) -> np.ndarray:
        """Position among the known rows of each key, -1 where not known (keys are unique)."""
        at = np.searchsorted(self._sorted_keys, keys).clip(0, max(len(self._sorted_keys) - 1, 0))
        if not len(self._sorted_keys):
            return np.full(len(keys), -1, dtype="int32")
        return np.where(self._sorted_keys[at] == keys, self._order[at], -1).astype("int32")

    def block(self, offset: int, column: str, start: int = 0, stop: int | None = None) -> np.ndarray:
        """The figures `offset` months before the checked rows start..stop."""
        if offset not in self._positions:  # int32: twelve offsets of a million rows in 48 MB
            self._positions[offset] = self._find(self._row_keys - offset)
        positions = self._positions[offset][start:stop]
        figures = self._known_figures(column)
        taken = figures.take(positions) if len(figures) else np.full(len(positions), np.nan)
        return np.where(positions >= 0, taken, np.nan)


def _month_keys(codes: np.ndarray, months: np.ndarray) -> np.ndarray:
    """One integer per authority-month: the authority's number x 10^6 + the month number (< 120,000)."""
    return codes.astype("int64") * 1_000_000 + months


def _shifted(values: pd.DataFrame, history: pd.DataFrame | None, accepted: pd.Series | None):
    """The rows to check, their own figures (by column) and the known figures k months before each."""
    accepted = pd.Series(True, index=values.index) if accepted is None else accepted.reindex(values.index).fillna(False)
    stored = history if history is not None and not history.empty else values.iloc[0:0]
    sources = [stored, values]
    # Every authority-month known: stored first, then the rows given (which take precedence).
    codes, periods = (
        (values["la_code"], values["period"])
        if stored.empty
        else (pd.concat([stored[column], values[column]], ignore_index=True) for column in ("la_code", "period"))
    )
    is_accepted = np.concatenate([np.ones(len(stored), dtype=bool), accepted.to_numpy(dtype=bool)])
    # A file holds few distinct months: each is read once, then mapped onto its rows.
    period_code, distinct = pd.factorize(periods.astype("string"))
    distinct = pd.Series(distinct, dtype="string")
    valid = distinct.str.fullmatch(PERIOD_PATTERN).fillna(False).astype(bool)
    number = month_number(distinct.where(valid, "0000-01")).astype("int64").to_numpy()
    well_formed = (
        codes.notna().to_numpy(dtype=bool) & (period_code >= 0) & np.append(valid.to_numpy(), False)[period_code]
    )
    authority, _ = pd.factorize(codes.astype("string"))
    months = np.where(well_formed, np.append(number, 0)[period_code], 0)
    keys = _month_keys(authority, months)
    candidates = np.flatnonzero(well_formed)
    # The latest row of each authority-month: the last of its run once sorted (a stable sort keeps arrival order).
    order = np.argsort(keys[candidates], kind="stable")
    ordered = keys[candidates][order]
    last_of_run = np.append(ordered[1:] != ordered[:-1], True) if len(ordered) else np.zeros(0, dtype=bool)
    known = candidates[order[last_of_run]]
    known = known[is_accepted[known]]  # a month with an error is not history

    checked = well_formed[len(stored) :]  # rows naming an authority and a month written YYYY-MM
    rows = values if checked.all() else values[checked]  # a million rows are not copied for nothing
    if rows.empty:
        return rows, None, None
    row_keys = keys[len(stored) :][checked]
    earlier = _Earlier(sources, known, keys[known], row_keys, rows.index)

    def own(column: str) -> pd.Series:
        return pd.Series(_numbers(rows, column), index=rows.index)

    return rows, own, earlier


def _held_median(rows: int, months, block: int = 65_536) -> tuple[np.ndarray, np.ndarray]:
    """Per row, how many of the months `months(start, stop)` gives (aligned columns over rows
    start..stop, NaN where not held) are held, and their median (the mean of the two middle
    figures for an even count, as pandas' median); in blocks of rows, so a million rows never
    hold every month, nor a sorted copy of them, at once."""
    count, median = np.zeros(rows, dtype="int64"), np.full(rows, np.nan)
    for start in range(0, rows, block):
        held = np.column_stack(months(start, start + block))
        held_count = (~np.isnan(held)).sum(axis=1)
        ordered = np.sort(held, axis=1)  # NaN sorts last
        low = np.take_along_axis(ordered, np.maximum((held_count - 1) // 2, 0)[:, None], axis=1)[:, 0]
        high = np.take_along_axis(ordered, (held_count // 2).clip(0, held.shape[1] - 1)[:, None], axis=1)[:, 0]
        count[start : start + block] = held_count
        median[start : start + block] = np.where(held_count > 0, (low + high) / 2, np.nan)
    return count, median


def rolling_table(
    values: pd.DataFrame, history: pd.DataFrame | None, accepted: pd.Series | None = None
) -> pd.DataFrame:
    """One row per return and rolling figure reported: what the rolling-sum rule reads, as a table.

    `month_0` .. `month_11` are the monthly figures of the month and the eleven before it (all
    blank unless every one is held); when they are not, `previous` (last month's rolling figure),
    `current` (this month's monthly figure) and `dropped` (the monthly figure twelve months ago)
    are. `recomputed` is what the rolling figure should be (shown to a steward); `label` is the
    row of `values`. Great Expectations checks this table (`expectations.py`).
    """
    rows, own, earlier = _shifted(values, history, accepted)
    columns = [
        "label",
        "la_code",
        "period",
        "indicator",
        "reported",
        *(f"month_{k}" for k in range(WINDOW)),
        "previous",
        "current",
        "dropped",
        "recomputed",
    ]
    if own is None:
        return pd.DataFrame(columns=columns)
    tables = []
    for indicator in (i for i in indicators_by_column().values() if i.kind == "rolling12"):
        months = [own(indicator.sums), *(earlier(k, indicator.sums) for k in range(1, WINDOW))]
        total = rolling_total(months)
        full = total.notna()
        table = pd.DataFrame(
            {
                "label": rows.index,
                "la_code": rows["la_code"].astype("object").to_numpy(),
                "period": rows["period"].astype("object").to_numpy(),
                "indicator": indicator.column,
                "reported": own(indicator.column).to_numpy(),
            },
            index=rows.index,
        )
        for k, month in enumerate(months):
            table[f"month_{k}"] = month.where(full)
        table["previous"] = earlier(1, indicator.column).where(~full)
        table["current"] = own(indicator.sums).where(~full)
        table["dropped"] = earlier(WINDOW, indicator.sums).where(~full)
        table["recomputed"] = total.where(
            full, rolling_from_last_month(table["previous"], table["current"], table["dropped"])
        )
        tables.append(table[table["reported"].notna()])
    return pd.concat(tables, ignore_index=True)[columns]


def history_findings(
    values: pd.DataFrame, history: pd.DataFrame | None, accepted: pd.Series | None = None
) -> list[Finding]:
    """Rolling sums and month-on-month movement against the authority's stored months.

    `history` holds accepted monthly figures (la_code, period and indicator columns); the rows
    being validated take precedence over stored rows for the same authority-month. `accepted`
    (aligned with `values`, default all) marks the rows that count as history for the others: an
    authority-month whose row is not accepted is no one's history, stored or not.
    """
    catalogue = indicators_by_column().values()
    rolling = [i for i in catalogue if i.kind == "rolling12"]
    stocks = [i.column for i in catalogue if i.kind == "stock"]
    flows = [i.column for i in catalogue if i.kind == "flow"]
    all_rows, _, all_earlier = _shifted(values, history, accepted)
    if all_earlier is None:
        return []
    found: list[tuple[int, int, Finding]] = []  # (row label, rule order within the row, finding)
    # A block of rows at a time: each rule's intermediate columns cover one block, not a million rows.
    for start in range(0, len(all_rows), HISTORY_BLOCK_ROWS):
        rows = all_rows.iloc[start : start + HISTORY_BLOCK_ROWS]
        earlier = all_earlier.for_rows(start, start + HISTORY_BLOCK_ROWS)

        def own(column: str, rows=rows) -> pd.Series:
            return pd.Series(_numbers(rows, column), index=rows.index)

        def add(order: int, mask: pd.Series, rule: str, column: str, value, expected, detail, rows=rows) -> None:
            """Findings for the rows in `mask`; value, expected and detail are Series over `rows`, one value,
            or (detail) a function of the mask giving one text per failing row."""
            mask = mask.fillna(False).astype(bool)
            picked = rows[mask]

            def pick(item):
                if callable(item):  # a message part worked out for the failing rows only
                    return item(mask)
                return item[mask] if isinstance(item, pd.Series) else item

            made = make_findings(rule, picked, column, pick(value), pick(expected), pick(detail))
            found.extend(zip(picked.index, [order] * len(made), made))

        order = 0
        for indicator in rolling:
            reported = own(indicator.column)
            current = own(indicator.sums)
            total = rolling_total(earlier(k, indicator.sums) if k else current for k in range(WINDOW))
            full = current.notna()
            for k in range(1, WINDOW):
                full &= earlier(k, indicator.sums).notna()
            add(
                order,
                reported.notna() & full & (total != reported),
                "rolling_sum_mismatch",
                indicator.column,
                reported,
                total,
                lambda mask, s=indicator.sums, t=total: [
                    f"the 12 monthly {s} figures held sum to {v:,.0f}" for v in t[mask]
                ],
            )
            previous, dropped = earlier(1, indicator.column), earlier(WINDOW, indicator.sums)
            expected = rolling_from_last_month(previous, current, dropped)
            partial = reported.notna() & ~full & previous.notna() & dropped.notna() & current.notna()
            details = pd.Series(
                [
                    f"last month's {p:,.0f} + {c:,.0f} this month - {d:,.0f} twelve months ago = {e:,.0f}"
                    for p, c, d, e in zip(previous[partial], current[partial], dropped[partial], expected[partial])
                ],
                index=previous.index[partial],
                dtype=object,
            )
            add(
                order,
                partial & (expected != reported),
                "rolling_sum_mismatch",
                indicator.column,
                reported,
                expected,
                details,
            )
            order += 1
        for column in stocks:
            previous, current = earlier(1, column), own(column)
            jump = (current - previous).abs() > np.maximum(STOCK_JUMP_SHARE * previous, STOCK_JUMP_MIN)
            add(order, previous.notna() & current.notna() & jump, "stock_jump", column, current, previous, "")
            order += 1
        for column in flows:
            current = own(column)
            count, usual = _held_median(
                len(rows),
                lambda start, stop, c=column, e=earlier: [e.block(k, c, start, stop) for k in range(1, WINDOW + 1)],
            )
            count, usual = pd.Series(count, index=rows.index), pd.Series(usual, index=rows.index)
            far = (current > usual * FLOW_OUTLIER_FACTOR) | (current < usual / FLOW_OUTLIER_FACTOR)
            flagged = (
                current.notna()
                & (count >= FLOW_OUTLIER_MIN_MONTHS)
                & far
                & ((current - usual).abs() >= FLOW_OUTLIER_MIN_DIFFERENCE)
            )
            add(
                order,
                flagged,
                "flow_outlier",
                column,
                current,
                usual,
                lambda mask, n=count: [f"median of the {k} previous months held" for k in n[mask]],
            )
            order += 1
    found.sort(key=lambda item: item[1])  # then stably by row: the row's findings together, as reported before
    return in_row_order(values.index, [(label, finding) for label, _, finding in found])
