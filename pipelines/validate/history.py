"""Rules against the authority's stored months: rolling sums (consistency) and movement (continuity)."""
from __future__ import annotations

import pandas as pd

from schemas.catalogue import PERIOD_PATTERN, indicators_by_column
from schemas.findings import Finding
from schemas.rules import (
    FLOW_OUTLIER_FACTOR,
    FLOW_OUTLIER_MIN_DIFFERENCE,
    FLOW_OUTLIER_MIN_MONTHS,
    STOCK_JUMP_MIN,
    STOCK_JUMP_SHARE,
    make_finding,
)


def _month_offset(period: str, months: int) -> str:
    return (pd.Period(period, freq="M") + months).strftime("%Y-%m")


def history_findings(values: pd.DataFrame, history: pd.DataFrame | None) -> list[Finding]:
    """Rolling sums and month-on-month movement against the authority's stored months.

    `history` holds accepted monthly figures (la_code, period and indicator columns); the
    rows being validated take precedence over stored rows for the same authority-month.
    """
    if history is None or history.empty:
        history = values.iloc[0:0]
    known = pd.concat([history, values], ignore_index=True)
    known = known.dropna(subset=["la_code", "period"]).drop_duplicates(["la_code", "period"], keep="last")
    lookup = known.set_index(["la_code", "period"])
    findings: list[Finding] = []
    valid = values["period"].str.fullmatch(PERIOD_PATTERN).fillna(False)
    rolling = [i for i in indicators_by_column().values() if i.kind == "rolling12"]
    stocks = [i.column for i in indicators_by_column().values() if i.kind == "stock"]
    flows = [i.column for i in indicators_by_column().values() if i.kind == "flow"]
    for label in values.index[valid]:
        row = values.loc[label]
        code, period = row["la_code"], row["period"]

        def stored(column: str, offset: int):
            key = (code, _month_offset(period, offset))
            if key not in lookup.index:
                return None
            value = lookup.at[key, column]
            return None if pd.isna(value) else float(value)

        for indicator in rolling:
            reported = row[indicator.column]
            if pd.isna(reported):
                continue
            months = [stored(indicator.sums, -k) for k in range(12)]
            if all(m is not None for m in months):
                total = sum(months)
                if total != reported:
                    findings.append(make_finding("rolling_sum_mismatch", row, indicator.column, reported, total,
                                                 detail=f"the 12 monthly {indicator.sums} figures held sum to {total:,.0f}"))
                continue
            previous, dropped, current = stored(indicator.column, -1), stored(indicator.sums, -12), row[indicator.sums]
            if previous is not None and dropped is not None and pd.notna(current):
                expected = previous + float(current) - dropped
                if expected != reported:
                    findings.append(make_finding(
                        "rolling_sum_mismatch", row, indicator.column, reported, expected,
                        detail=(f"last month's {previous:,.0f} + {float(current):,.0f} this month"
                                f" - {dropped:,.0f} twelve months ago = {expected:,.0f}")))
        for column in stocks:
            previous, current = stored(column, -1), row[column]
            if previous is None or pd.isna(current):
                continue
            if abs(current - previous) > max(STOCK_JUMP_SHARE * previous, STOCK_JUMP_MIN):
                findings.append(make_finding("stock_jump", row, column, current, previous))
        for column in flows:
            current = row[column]
            held = [v for v in (stored(column, -k) for k in range(1, 13)) if v is not None]
            if pd.isna(current) or len(held) < FLOW_OUTLIER_MIN_MONTHS:
                continue
            usual = float(pd.Series(held).median())
            far = current > usual * FLOW_OUTLIER_FACTOR or current < usual / FLOW_OUTLIER_FACTOR
            if far and abs(current - usual) >= FLOW_OUTLIER_MIN_DIFFERENCE:
                findings.append(make_finding("flow_outlier", row, column, current, usual,
                                             detail=f"median of the {len(held)} previous months held"))
    return findings
