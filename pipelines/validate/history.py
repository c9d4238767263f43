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
    make_findings,
)

# A rolling sum covers this month and the eleven before it; the flow median the twelve before it.
WINDOW = 12


def month_number(period: pd.Series) -> pd.Series:
    """YYYY-MM as a count of months (year x 12 + month - 1), so 'k months earlier' is a subtraction."""
    text = period.astype("string")
    return text.str[:4].astype("Int64") * 12 + text.str[5:7].astype("Int64") - 1


def _numbers(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    return frame.reindex(columns=columns).astype("float64")


def _earlier(known: pd.DataFrame, codes: np.ndarray, months: np.ndarray, offset: int) -> pd.DataFrame:
    """The known figures `offset` months before each row (NaN where that month is not known)."""
    keys = pd.MultiIndex.from_arrays([codes, months - offset])
    return known.reindex(keys)


def _shifted(values: pd.DataFrame, history: pd.DataFrame | None, accepted: pd.Series | None):
    """The rows to check, their own figures, and the known figures k = 1..12 months before each."""
    catalogue = indicators_by_column().values()
    rolling = [i for i in catalogue if i.kind == "rolling12"]
    stocks = [i.column for i in catalogue if i.kind == "stock"]
    flows = [i.column for i in catalogue if i.kind == "flow"]
    read = list(dict.fromkeys([*(i.column for i in rolling), *(i.sums for i in rolling), *stocks, *flows]))

    accepted = pd.Series(True, index=values.index) if accepted is None else accepted.reindex(values.index).fillna(False)
    stored = history if history is not None and not history.empty else values.iloc[0:0]
    known = pd.concat([stored[["la_code", "period"]].assign(**_numbers(stored, read)),
                       values[["la_code", "period"]].assign(**_numbers(values, read), _accepted=accepted)],
                      ignore_index=True)
    known = known.dropna(subset=["la_code", "period"]).drop_duplicates(["la_code", "period"], keep="last")
    known = known[known["_accepted"].ne(False)]  # a month with an error is not history
    known = known[known["period"].astype("string").str.fullmatch(PERIOD_PATTERN).fillna(False)]
    known = known.set_index([known["la_code"].astype(str), month_number(known["period"]).astype("int64")])[read]

    checked = (values["period"].str.fullmatch(PERIOD_PATTERN).fillna(False) & values["la_code"].notna()).astype(bool)
    rows = values[checked]
    if rows.empty:
        return rows, None, None, None
    codes = rows["la_code"].astype(str).to_numpy()
    months = month_number(rows["period"]).astype("int64").to_numpy()
    own = _numbers(rows, read)
    earlier = {k: _earlier(known, codes, months, k).set_axis(rows.index) for k in range(1, WINDOW + 1)}

    return rows, own, earlier, read


def rolling_table(values: pd.DataFrame, history: pd.DataFrame | None, accepted: pd.Series | None = None) -> pd.DataFrame:
    """One row per return and rolling figure reported: what the rolling-sum rule reads, as a table.

    `month_0` .. `month_11` are the monthly figures of the month and the eleven before it (all
    blank unless every one is held); when they are not, `previous` (last month's rolling figure),
    `current` (this month's monthly figure) and `dropped` (the monthly figure twelve months ago)
    are. `recomputed` is what the rolling figure should be (shown to a steward); `label` is the
    row of `values`. Great Expectations checks this table (`expectations.py`).
    """
    rows, own, earlier, _ = _shifted(values, history, accepted)
    columns = ["label", "la_code", "period", "indicator", "reported", *(f"month_{k}" for k in range(WINDOW)),
               "previous", "current", "dropped", "recomputed"]
    if own is None:
        return pd.DataFrame(columns=columns)
    tables = []
    for indicator in (i for i in indicators_by_column().values() if i.kind == "rolling12"):
        months = [own[indicator.sums], *(earlier[k][indicator.sums] for k in range(1, WINDOW))]
        total = rolling_total(months)
        full = total.notna()
        table = pd.DataFrame({"label": rows.index, "la_code": rows["la_code"].astype("object").to_numpy(),
                              "period": rows["period"].astype("object").to_numpy(), "indicator": indicator.column,
                              "reported": own[indicator.column].to_numpy()}, index=rows.index)
        for k, month in enumerate(months):
            table[f"month_{k}"] = month.where(full)
        table["previous"] = earlier[1][indicator.column].where(~full)
        table["current"] = own[indicator.sums].where(~full)
        table["dropped"] = earlier[WINDOW][indicator.sums].where(~full)
        table["recomputed"] = total.where(full, rolling_from_last_month(table["previous"], table["current"],
                                                                         table["dropped"]))
        tables.append(table[table["reported"].notna()])
    return pd.concat(tables, ignore_index=True)[columns]


def history_findings(values: pd.DataFrame, history: pd.DataFrame | None,
                     accepted: pd.Series | None = None) -> list[Finding]:
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
    rows, own, earlier, _ = _shifted(values, history, accepted)
    if own is None:
        return []
    found: list[tuple[int, int, Finding]] = []  # (row label, rule order within the row, finding)

    def add(order: int, mask: pd.Series, rule: str, column: str, value, expected, detail) -> None:
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
        reported = own[indicator.column]
        current = own[indicator.sums]
        total = rolling_total([current, *(earlier[k][indicator.sums] for k in range(1, WINDOW))])
        full = current.notna()
        for k in range(1, WINDOW):
            full &= earlier[k][indicator.sums].notna()
        add(order, reported.notna() & full & (total != reported), "rolling_sum_mismatch", indicator.column,
            reported, total, lambda mask, s=indicator.sums, t=total: [f"the 12 monthly {s} figures held sum to {v:,.0f}"
                                                                      for v in t[mask]])
        previous, dropped = earlier[1][indicator.column], earlier[WINDOW][indicator.sums]
        expected = rolling_from_last_month(previous, current, dropped)
        partial = reported.notna() & ~full & previous.notna() & dropped.notna() & current.notna()
        details = pd.Series([f"last month's {p:,.0f} + {c:,.0f} this month - {d:,.0f} twelve months ago = {e:,.0f}"
                             for p, c, d, e in zip(previous[partial], current[partial], dropped[partial],
                                                   expected[partial])], index=previous.index[partial], dtype=object)
        add(order, partial & (expected != reported), "rolling_sum_mismatch", indicator.column, reported, expected, details)
        order += 1
    for column in stocks:
        previous, current = earlier[1][column], own[column]
        jump = (current - previous).abs() > np.maximum(STOCK_JUMP_SHARE * previous, STOCK_JUMP_MIN)
        add(order, previous.notna() & current.notna() & jump, "stock_jump", column, current, previous, "")
        order += 1
    for column in flows:
        current = own[column]
        held = pd.concat([earlier[k][column] for k in range(1, WINDOW + 1)], axis=1)
        count = held.notna().sum(axis=1)
        usual = held.median(axis=1, skipna=True)
        far = (current > usual * FLOW_OUTLIER_FACTOR) | (current < usual / FLOW_OUTLIER_FACTOR)
        flagged = current.notna() & (count >= FLOW_OUTLIER_MIN_MONTHS) & far & ((current - usual).abs() >= FLOW_OUTLIER_MIN_DIFFERENCE)
        add(order, flagged, "flow_outlier", column, current, usual,
            lambda mask, n=count: [f"median of the {k} previous months held" for k in n[mask]])
        order += 1
    positions = {label: position for position, label in enumerate(values.index)}
    found.sort(key=lambda item: (positions[item[0]], item[1]))  # the row's findings together, as reported before
    return [finding for _, _, finding in found]
