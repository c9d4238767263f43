"""An authority's earlier months as whole columns: what the history rules read.

Every authority-month known (the stored history and the rows being validated) is one integer
key, and the rows checked read the same key minus k per offset as whole columns (one sorted
lookup per offset), never row by row. A month is history only when it is accepted: `accepted`
says which of the rows being validated may serve as history for the others (the rule book leaves
out a month with an error, so one wrong month is reported once, against itself).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from schemas.month import ordinals
from schemas.rules.arithmetic import rolling_from_last_month, rolling_total

HISTORY_BLOCK_ROWS = 262_144  # rows whose history rules are evaluated together (memory, not results)


def _numbers(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame.columns:
        return np.full(len(frame), np.nan)
    return frame[column].astype("float64").to_numpy()


class Earlier:
    """The known figures k months before each checked row, one column at a time (NaN where not known).

    Each authority-month is one integer key, so "k months earlier" is one lookup of the rows'
    keys minus k per offset; a column is gathered only when a rule reads it (a million rows stay
    a few column arrays in memory, not twelve copies of every figure).
    """

    def __init__(self, sources: list[pd.DataFrame], known: np.ndarray, known_keys: np.ndarray, row_keys: np.ndarray):
        self._sources, self._known = sources, known
        # Sorted keys and a binary search: no hash table of a million keys beside the figures.
        self._order = np.argsort(known_keys, kind="stable")
        self._sorted_keys, self._row_keys = known_keys[self._order], row_keys
        self._positions: dict[int, np.ndarray] = {}
        self._columns: dict[str, np.ndarray] = {}  # the last few columns' known figures

    def _known_figures(self, column: str) -> np.ndarray:
        if column not in self._columns:
            if len(self._columns) >= 3:
                self._columns.pop(next(iter(self._columns)))
            self._columns[column] = np.concatenate([_numbers(s, column) for s in self._sources])[self._known]
        return self._columns[column]

    def _find(self, keys: np.ndarray) -> np.ndarray:
        """Position among the known rows of each key, -1 where not known (keys are unique)."""
        if not len(self._sorted_keys):
            return np.full(len(keys), -1, dtype="int32")
        at = np.searchsorted(self._sorted_keys, keys).clip(0, len(self._sorted_keys) - 1)
        return np.where(self._sorted_keys[at] == keys, self._order[at], -1).astype("int32")

    def block(self, offset: int, column: str, start: int = 0, stop: int | None = None) -> np.ndarray:
        """The figures `offset` months before the checked rows start..stop."""
        if offset not in self._positions:  # int32: twelve offsets of a million rows in 48 MB
            self._positions[offset] = self._find(self._row_keys - offset)
        positions = self._positions[offset][start:stop]
        figures = self._known_figures(column)
        taken = figures.take(positions) if len(figures) else np.full(len(positions), np.nan)
        return np.where(positions >= 0, taken, np.nan)


@dataclass
class History:
    """The rows a history rule can check (`positions` among the rows given) and their earlier months."""

    positions: np.ndarray
    rows: pd.DataFrame
    earlier: Earlier | None

    def own(self, column: str, start: int = 0, stop: int | None = None) -> np.ndarray:
        # The block only: a slice of the whole converted column would keep all of it alive.
        return _numbers(self.rows.iloc[start:stop], column)

    def blocks(self) -> list[tuple[int, int]]:
        return [
            (start, min(start + HISTORY_BLOCK_ROWS, len(self.rows)))
            for start in range(0, len(self.rows), HISTORY_BLOCK_ROWS)
        ]


def history_of(values: pd.DataFrame, history: pd.DataFrame | None, accepted: pd.Series | None) -> History:
    """The checkable rows of `values` (naming an authority and a month written YYYY-MM) and the
    known figures before each: `history` (accepted months stored) and the accepted rows of
    `values`, which take precedence over stored rows of the same authority-month."""
    accepted = pd.Series(True, index=values.index) if accepted is None else accepted.reindex(values.index).fillna(False)
    stored = history if history is not None and not history.empty else values.iloc[0:0]
    sources = [stored, values]
    codes, periods = (
        (values["la_code"], values["period"])
        if stored.empty
        else (pd.concat([stored[column], values[column]], ignore_index=True) for column in ("la_code", "period"))
    )
    is_accepted = np.concatenate([np.ones(len(stored), dtype=bool), accepted.to_numpy(dtype=bool)])
    # A file holds few distinct months: each is read once, then mapped onto its rows.
    period_code, distinct = pd.factorize(periods.astype("string"))
    number = ordinals(pd.Series(distinct, dtype="string"))
    valid = number.notna().to_numpy(dtype=bool)
    number = number.fillna(0).astype("int64").to_numpy()
    well_formed = codes.notna().to_numpy(dtype=bool) & (period_code >= 0) & np.append(valid, False)[period_code]
    authority, _ = pd.factorize(codes.astype("string"))
    months = np.where(well_formed, np.append(number, 0)[period_code], 0)
    keys = authority.astype("int64") * 1_000_000 + months  # one integer per authority-month
    candidates = np.flatnonzero(well_formed)
    # The latest row of each authority-month: the last of its run once sorted (a stable sort keeps arrival order).
    order = np.argsort(keys[candidates], kind="stable")
    ordered = keys[candidates][order]
    last_of_run = np.append(ordered[1:] != ordered[:-1], True) if len(ordered) else np.zeros(0, dtype=bool)
    known = candidates[order[last_of_run]]
    known = known[is_accepted[known]]  # a month with an error is not history

    checked = well_formed[len(stored) :]
    positions = np.flatnonzero(checked)
    rows = values if checked.all() else values.iloc[positions]  # a million rows are not copied for nothing
    if rows.empty:
        return History(positions, rows, None)
    return History(positions, rows, Earlier(sources, known, keys[known], keys[len(stored) :][checked]))


def held_median(
    rows: int, months: Callable[[int, int], list[np.ndarray]], block: int = 65_536
) -> tuple[np.ndarray, np.ndarray]:
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


@dataclass
class RollingWindow:
    """What the rolling-sum rule reads for the checked rows of one rolling figure (aligned arrays)."""

    reported: np.ndarray
    months: list[np.ndarray]  # the monthly figure of the month and the `len - 1` before it
    previous: np.ndarray  # last month's rolling figure
    current: np.ndarray
    dropped: np.ndarray  # the monthly figure `len(months)` months ago

    @property
    def total(self) -> np.ndarray:
        return rolling_total(pd.Series(month) for month in self.months).to_numpy()

    @property
    def full(self) -> np.ndarray:
        return ~np.isnan(np.column_stack(self.months)).any(axis=1)

    @property
    def from_last_month(self) -> np.ndarray:
        return rolling_from_last_month(
            pd.Series(self.previous), pd.Series(self.current), pd.Series(self.dropped)
        ).to_numpy()


def rolling_window(
    found: History, column: str, flow: str, months: int, start: int = 0, stop: int | None = None
) -> RollingWindow:
    assert found.earlier is not None
    earlier = found.earlier
    current = found.own(flow, start, stop)
    return RollingWindow(
        reported=found.own(column, start, stop),
        months=[current, *(earlier.block(k, flow, start, stop) for k in range(1, months))],
        previous=earlier.block(1, column, start, stop),
        current=current,
        dropped=earlier.block(months, flow, start, stop),
    )


ROLLING_COLUMNS = ["previous", "current", "dropped"]


def rolling_table(values: pd.DataFrame, found: History, sums: tuple[tuple[str, str], ...], months: int) -> pd.DataFrame:
    """One row per checked row and rolling figure reported: what the rolling-sum rule reads, as a table.

    `month_0` .. `month_11` are the monthly figures of the month and the eleven before it (all
    blank unless every one is held); when they are not, `previous` (last month's rolling figure),
    `current` (this month's monthly figure) and `dropped` (the monthly figure twelve months ago)
    are. `recomputed` is what the rolling figure should be (shown to a steward); `position` is
    the row of `values`. Great Expectations checks this table (`engines/gx_engine.py`).
    """
    window_columns = [f"month_{k}" for k in range(months)]
    columns = [
        "position",
        "la_code",
        "period",
        "indicator",
        "reported",
        *window_columns,
        *ROLLING_COLUMNS,
        "recomputed",
    ]
    if found.earlier is None:
        return pd.DataFrame(columns=columns)
    tables = []
    for column, flow in sums:
        window = rolling_window(found, column, flow, months)
        full = window.full
        table = pd.DataFrame(
            {
                "position": found.positions,
                "la_code": found.rows["la_code"].astype("object").to_numpy(),
                "period": found.rows["period"].astype("object").to_numpy(),
                "indicator": column,
                "reported": window.reported,
            }
        )
        for k, month in enumerate(window.months):
            table[window_columns[k]] = np.where(full, month, np.nan)
        table["previous"] = np.where(full, np.nan, window.previous)
        table["current"] = np.where(full, np.nan, window.current)
        table["dropped"] = np.where(full, np.nan, window.dropped)
        table["recomputed"] = np.where(full, window.total, window.from_last_month)
        tables.append(table[~np.isnan(window.reported)])
    if not tables:
        return pd.DataFrame(columns=columns)
    return pd.concat(tables, ignore_index=True)[columns]
