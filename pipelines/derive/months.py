"""Each month's figures from Annex A extracts, by the definitions of ../shared/child-level.md.

Counts are column operations over each list (a month's events are counted by the month ordinal
of their date; a month's stocks by masks over whole columns, one month at a time); nothing loops
over rows. An extract covers the days after the date six months before its extract date up to
the extract date; a month is derived only where one extract covers all of it, and where several
do, the latest extract decides (authorities correct their records). Every figure needs its
lists: a list (or a column) missing leaves the figures counted from it blank, never zero.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipelines.derive.checks import child_level_checks
from pipelines.derive.working_days import working_days_after
from pipelines.ingest.annex_a import ChildLevel, months_covered, window_first_day
from schemas.findings import Finding
from schemas.month import Month

EVENT_FIGURES = [
    "contacts",
    "referrals",
    "referrals_to_assessment",
    "re_referrals",
    "assessments_completed",
    "assessments_within_15wd",
    "assessments_within_45wd",
    "s47_enquiries",
    "icpcs",
    "icpcs_within_15wd",
    "cp_plans_started",
    "cla_started",
    "cla_ceased",
]
STOCK_FIGURES = ["cin", "cp_plans", "cla"]
ROLLING_FIGURES = {"contacts_12m": "contacts", "referrals_12m": "referrals", "s47_enquiries_12m": "s47_enquiries"}
FIGURES = [*EVENT_FIGURES, *ROLLING_FIGURES, *STOCK_FIGURES]  # the catalogue's order of the counts
SHORT_BREAKS = ("V3", "V4")  # legal statuses of short breaks, left out of looked-after figures
ADULT_MONTHS = 18 * 12
# Referrals that lead to an assessment are known only once the assessment could have started.
ASSESSMENT_WAIT_WORKING_DAYS = 20


@dataclass
class DerivedReturn:
    """The months derived: one row per authority and month (`la_code`, `period`, `extract_date`, the
    count columns; missing where blank) and the findings of deriving them."""

    rows: pd.DataFrame
    findings: list[Finding] = field(default_factory=list)


def month_end(month: Month) -> pd.Timestamp:
    return pd.Timestamp((month + 1).first_day) - pd.Timedelta(days=1)


def _ordinals(dates: pd.Series) -> pd.Series:
    return (dates.dt.year * 12 + dates.dt.month - 1).astype("Int64")


def _count_by_month(dates: pd.Series, months: list[Month], keep: pd.Series | None = None) -> dict[str, int]:
    ordinals = _ordinals(dates if keep is None else dates[keep.to_numpy(dtype=bool)])
    counts = ordinals.value_counts()
    return {str(m): int(counts.get(m.ordinal, 0)) for m in months}


def _has(lists: dict[int, pd.DataFrame], number: int, *columns: str) -> bool:
    return number in lists and all(column in lists[number] for column in columns)


def _episodes_at(rows: pd.DataFrame, start: str, end: str, month: Month) -> dict[str, pd.Series]:
    """The masks deciding which episodes of `rows` count at the end of `month` (`open`), and the
    reasons an episode started by then does not (for the steward's explanation)."""
    last = month_end(month)
    started = (rows[start] <= last).fillna(False)
    ended_after = (rows[end].isna() & ~rows[f"{end}_unreadable"] | (rows[end] > last)).fillna(False)
    born = rows["birth_month"]
    under_18 = (born.isna() & ~rows["birth_unreadable"] | (born > month.ordinal - ADULT_MONTHS)).fillna(False)
    known = rows["child"].notna()
    return {
        "open": started & ended_after & under_18 & known,
        "date of birth unreadable": started & ended_after & known & rows["birth_unreadable"],
        "18 or over at the month's end": started & ended_after & known & ~under_18 & ~rows["birth_unreadable"],
        "end date unreadable": started & under_18 & known & rows[f"{end}_unreadable"],
        "ended on the month's last day": started & under_18 & known & (rows[end] == last).fillna(False),
    }


def _open_children(rows: pd.DataFrame, start: str, end: str, month: Month) -> pd.Series:
    """Pseudonyms of the children under 18 whose episode is open at the end of `month`."""
    return rows.loc[_episodes_at(rows, start, end, month)["open"].to_numpy(dtype=bool), "child"]


def _left_out(rows: pd.DataFrame, start: str, end: str, month: Month, counted: pd.Series) -> pd.DataFrame:
    """The rows of children a stock leaves out at the end of `month` though their episode had
    started, with the first reason (children it counts anyway, on another row, left aside)."""
    masks = _episodes_at(rows, start, end, month)
    reason = pd.Series(None, index=rows.index, dtype=object)
    for why, mask in list(masks.items())[1:]:
        reason = reason.where(reason.notna() | ~mask.to_numpy(dtype=bool), why)
    chosen = reason.notna() & ~rows["child"].isin(set(counted.dropna()))
    return rows.loc[chosen.to_numpy(dtype=bool)].assign(reason=reason[chosen.to_numpy(dtype=bool)])


def _re_referred(referrals: pd.DataFrame, held: pd.DataFrame, covered_from: dt.date) -> pd.Series:
    """Which of `referrals` follow an earlier referral of the child, on a strictly earlier date no
    more than 12 calendar months before, among `held`; where those 12 months are not all covered,
    the list's own count of earlier referrals (at least 1) decides."""
    ordered = referrals[["child", "referral_date"]].reset_index().rename(columns={"index": "position"})
    ordered = ordered[ordered["child"].notna() & ordered["referral_date"].notna()].sort_values("referral_date")
    earlier = held.loc[held["child"].notna() & held["referral_date"].notna(), ["child", "referral_date"]]
    earlier = earlier.rename(columns={"referral_date": "earlier_date"}).sort_values("earlier_date")
    matched = pd.merge_asof(
        ordered,
        earlier,
        left_on="referral_date",
        right_on="earlier_date",
        by="child",
        direction="backward",
        allow_exact_matches=False,
    ).set_index("position")
    year_before = matched["referral_date"] - pd.DateOffset(years=1)
    found = (matched["earlier_date"] >= year_before).reindex(referrals.index, fill_value=False).fillna(False)
    year_before_all = referrals["referral_date"] - pd.DateOffset(years=1)
    not_covered = year_before_all < pd.Timestamp(covered_from)
    if "referrals_before" in referrals:
        by_count = not_covered & (referrals["referrals_before"].fillna(0) >= 1) & referrals["child"].notna()
    else:
        by_count = pd.Series(False, index=referrals.index)
    return (found.astype(bool) | by_count.astype(bool)).to_numpy(dtype=bool)


def _to_assessment(referrals: pd.DataFrame, assessments: pd.DataFrame) -> np.ndarray:
    """Which referrals have an assessment of the child starting on or after the referral's date
    and before the child's next referral."""
    rows = referrals[["child", "referral_date"]].copy()
    rows["position"] = np.arange(len(rows))
    rows = rows[rows["child"].notna() & rows["referral_date"].notna()]
    dates = rows[["child", "referral_date"]].drop_duplicates().sort_values(["child", "referral_date"])
    dates["next_referral"] = dates.groupby("child")["referral_date"].shift(-1)
    rows = rows.merge(dates, on=["child", "referral_date"], how="left")
    starts = assessments.loc[assessments["child"].notna() & assessments["assessment_start"].notna()]
    pairs = rows.merge(starts[["child", "assessment_start"]], on="child")
    hit = (pairs["assessment_start"] >= pairs["referral_date"]) & (
        pairs["next_referral"].isna() | (pairs["assessment_start"] < pairs["next_referral"])
    )
    led = np.zeros(len(referrals), dtype=bool)
    led[pairs.loc[hit.to_numpy(dtype=bool), "position"].to_numpy(dtype="int64")] = True
    return led


def extract_figures(
    extract: ChildLevel,
    held_referrals: pd.DataFrame,
    referrals_covered_from: dt.date,
    members: list[pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """The figures of each month `extract` wholly covers (one row per month; missing where blank).

    With `members`, also what each count counted: frames of figure, period, list, child (pseudonym),
    sheet and row, one per row counted (a stock: per child), for the steward's explanation."""
    assert extract.extract_date is not None and extract.la_code is not None
    lists, extract_date = extract.lists, extract.extract_date
    months = months_covered(extract_date)
    periods = [str(m) for m in months]
    window_first = pd.Timestamp(window_first_day(extract_date))
    figures = pd.DataFrame(index=pd.Index(periods, name="period"), columns=EVENT_FIGURES + STOCK_FIGURES, dtype="Int64")
    if not months:
        return figures
    first = periods[0]

    def put(figure: str, counts: dict[str, int], blank_first: bool = False) -> None:
        figures[figure] = pd.Series(counts, dtype="Int64")
        if blank_first:
            figures.loc[first, figure] = pd.NA

    def count(
        figure: str, number: int, rows: pd.DataFrame, dates: pd.Series, keep=None, blank_first: bool = False
    ) -> None:
        """`put` the figure counting `rows` by the month of `dates` (those `keep` says), keeping members."""
        keep = None if keep is None else pd.Series(np.asarray(keep, dtype=bool), index=rows.index)
        put(figure, _count_by_month(dates, months, keep), blank_first)
        if members is not None:
            chosen = rows if keep is None else rows[keep.to_numpy(dtype=bool)]
            period = _ordinals(dates.loc[chosen.index]).map({m.ordinal: str(m) for m in months})
            in_months = period.notna().to_numpy(dtype=bool)
            _remember(members, figure, number, chosen[in_months], period[in_months])

    if _has(lists, 1, "contact_date"):
        count("contacts", 1, lists[1], lists[1]["contact_date"])
    if _has(lists, 3, "referral_date"):
        referrals = lists[3]
        count("referrals", 3, referrals, referrals["referral_date"])
        re_referred = _re_referred(referrals, held_referrals, referrals_covered_from)
        count("re_referrals", 3, referrals, referrals["referral_date"], re_referred)
        if "referrals_before" not in referrals:
            # Without the list's count, a month whose referrals' 12 months are not all held is not known.
            unknown = [
                str(m)
                for m in months
                if pd.Timestamp(m.first_day) - pd.DateOffset(years=1) < pd.Timestamp(referrals_covered_from)
            ]
            figures.loc[unknown, "re_referrals"] = pd.NA
        if _has(lists, 4, "assessment_start"):
            led = _to_assessment(referrals, lists[4])
            count("referrals_to_assessment", 3, referrals, referrals["referral_date"], led)
            ends = pd.Series([month_end(m) for m in months])
            waited = working_days_after(ends, pd.Series([pd.Timestamp(extract_date)] * len(months)))
            too_soon = [p for p, days in zip(periods, waited) if days < ASSESSMENT_WAIT_WORKING_DAYS]
            figures.loc[too_soon, "referrals_to_assessment"] = pd.NA
    if _has(lists, 4, "assessment_start", "assessment_authorised"):
        assessments = lists[4]
        # Completions in the window's first month need the assessments started before it.
        blank_first = not bool((assessments["assessment_start"] < window_first).any())
        authorised = assessments["assessment_authorised"]
        count("assessments_completed", 4, assessments, authorised, blank_first=blank_first)
        days = working_days_after(assessments["assessment_start"], authorised)
        for limit in (45, 15):
            within = (days <= limit).fillna(False)
            count(f"assessments_within_{limit}wd", 4, assessments, authorised, within, blank_first)
    if _has(lists, 5, "strategy_date"):
        enquiries = lists[5]
        count("s47_enquiries", 5, enquiries, enquiries["strategy_date"])
        if "icpc_date" in enquiries:
            blank_first = not bool((enquiries["strategy_date"] < window_first).any())
            count("icpcs", 5, enquiries, enquiries["icpc_date"], blank_first=blank_first)
            days = working_days_after(enquiries["strategy_date"], enquiries["icpc_date"])
            within = (days <= 15).fillna(False)
            count("icpcs_within_15wd", 5, enquiries, enquiries["icpc_date"], within, blank_first)
    plans_known = _has(lists, 7, "cp_start", "cp_end")
    if _has(lists, 7, "cp_start"):
        count("cp_plans_started", 7, lists[7], lists[7]["cp_start"])
    looked_after = None
    if _has(lists, 8, "cla_start", "cla_end", "legal_status"):
        looked_after = lists[8][~lists[8]["legal_status"].isin(SHORT_BREAKS).fillna(False).to_numpy(dtype=bool)]
        count("cla_started", 8, looked_after, looked_after["cla_start"])
        count("cla_ceased", 8, looked_after, looked_after["cla_end"])
    in_need_known = _has(lists, 6, "cin_start", "cin_end") and plans_known and looked_after is not None
    for month, period in zip(months, periods):
        plans = _open_children(lists[7], "cp_start", "cp_end", month) if plans_known else None
        cla = _open_children(looked_after, "cla_start", "cla_end", month) if looked_after is not None else None
        if plans is not None:
            figures.loc[period, "cp_plans"] = plans.nunique()
        if cla is not None:
            figures.loc[period, "cla"] = cla.nunique()
        in_need = _open_children(lists[6], "cin_start", "cin_end", month) if in_need_known else None
        if in_need is not None:
            figures.loc[period, "cin"] = pd.concat([in_need, plans, cla]).nunique()
        if members is not None:  # a stock counts children: each once, at the row that first counts them
            for figure, number, open_rows in (("cp_plans", 7, plans), ("cla", 8, cla), ("cin", 6, in_need)):
                if open_rows is None:
                    continue
                source = lists[7] if number == 7 else looked_after if number == 8 else lists[6]
                assert source is not None
                counted = source.loc[open_rows.index]
                if figure == "cin":  # the children of lists 7 and 8 count too
                    assert plans is not None and cla is not None and looked_after is not None
                    counted = pd.concat(
                        [
                            counted.assign(list=6),
                            lists[7].loc[plans.index].assign(list=7),
                            looked_after.loc[cla.index].assign(list=8),
                        ]
                    )
                counted = counted.drop_duplicates("child")
                _remember(members, figure, number, counted, pd.Series(period, index=counted.index))
                ends = {6: ("cin_start", "cin_end"), 7: ("cp_start", "cp_end"), 8: ("cla_start", "cla_end")}
                start, end = ends[number]
                left = _left_out(source, start, end, month, counted["child"])
                if figure == "cla":  # short breaks are never counted: open ones are left out with that reason
                    breaks = lists[8][lists[8]["legal_status"].isin(SHORT_BREAKS).fillna(False).to_numpy(dtype=bool)]
                    open_breaks = breaks.loc[_open_children(breaks, "cla_start", "cla_end", month).index]
                    open_breaks = open_breaks[~open_breaks["child"].isin(set(counted["child"].dropna()))]
                    left = pd.concat([left, open_breaks.assign(reason="short breaks (legal status V3 or V4)")])
                left = left.drop_duplicates("child")
                _remember(members, figure, number, left, pd.Series(period, index=left.index), left["reason"])
    return figures


def _remember(
    members: list[pd.DataFrame],
    figure: str,
    number: int,
    rows: pd.DataFrame,
    periods: pd.Series,
    left_out: pd.Series | None = None,
) -> None:
    """Record what a figure counted (`left_out` None), or what it left out and why."""
    lists = rows["list"].to_numpy() if "list" in rows else number
    members.append(
        pd.DataFrame(
            {
                "figure": figure,
                "period": periods.astype("string").to_numpy(),
                "list": lists,
                "child": rows["child"].to_numpy(),
                "sheet": rows["sheet"].to_numpy() if "sheet" in rows else None,
                "row": rows["row"].to_numpy() if "row" in rows else None,
                "left_out": None if left_out is None else left_out.to_numpy(),
            }
        )
    )


def derive_return(extracts: list[ChildLevel]) -> DerivedReturn:
    """Every month the derivable extracts wholly cover, per authority; the latest extract decides a month."""
    usable = sorted((e for e in extracts if e.derivable), key=lambda e: (e.la_code, e.extract_date))
    findings = [finding for extract in usable for finding in child_level_checks(extract)]
    frames = []
    for la_code in dict.fromkeys(e.la_code for e in usable):
        own = [e for e in usable if e.la_code == la_code]
        for position, extract in enumerate(own):
            figures = extract_figures(extract, *_referrals_held(extract, own[:position]))
            figures.insert(0, "extract_date", pd.Timestamp(extract.extract_date))
            figures.insert(0, "la_code", la_code)
            frames.append(figures.reset_index())
    if not frames:
        return DerivedReturn(_empty_rows(), findings)
    rows = pd.concat(frames, ignore_index=True)
    # The latest extract covering a month decides it.
    rows = rows.sort_values(["la_code", "period", "extract_date"]).drop_duplicates(["la_code", "period"], keep="last")
    rows = _with_rolling_sums(rows.reset_index(drop=True))
    rows["extract_date"] = rows["extract_date"].dt.date.astype("string")
    return DerivedReturn(rows[["la_code", "period", "extract_date", *FIGURES]], findings)


def _referrals_held(extract: ChildLevel, before: list[ChildLevel]) -> tuple[pd.DataFrame, dt.date]:
    """(the referrals held for `extract`'s re-referrals, the first day they cover): the extract's
    own for its window, the earlier extracts' (`before`, of the same authority) before it."""
    assert extract.extract_date is not None
    window_first = window_first_day(extract.extract_date)
    earlier = [e for e in before if 3 in e.lists and "referral_date" in e.lists[3]]
    held = [extract.lists[3]] if 3 in extract.lists else []
    held += [e.lists[3][e.lists[3]["referral_date"] < pd.Timestamp(window_first)] for e in earlier]
    held_referrals = (
        pd.concat([h[["child", "referral_date"]] for h in held if "referral_date" in h], ignore_index=True)
        if held
        else pd.DataFrame({"child": pd.Series(dtype="string"), "referral_date": pd.Series(dtype="datetime64[ns]")})
    )
    covered_from = window_first
    for other in reversed(earlier):  # a chain of windows with no gap extends what is covered
        assert other.extract_date is not None
        if other.extract_date >= covered_from - dt.timedelta(days=1):
            covered_from = min(covered_from, window_first_day(other.extract_date))
    return held_referrals, covered_from


def figure_members(extract: ChildLevel) -> pd.DataFrame:
    """What each figure of `extract`, derived alone (as the pipeline derives each workbook), counted:
    figure, period, list, child (pseudonym), sheet and row; one row per row counted (a stock: per
    child). For a stock also the children it leaves out though their episode had started, with why
    (`left_out`: aged 18 or over, a date unreadable, ended on the month's last day, short breaks);
    `left_out` is missing for what is counted."""
    members: list[pd.DataFrame] = []
    if extract.derivable:
        extract_figures(extract, *_referrals_held(extract, []), members=members)
    columns = ["figure", "period", "list", "child", "sheet", "row", "left_out"]
    return pd.concat(members, ignore_index=True) if members else pd.DataFrame(columns=columns)


def _with_rolling_sums(rows: pd.DataFrame) -> pd.DataFrame:
    """The 12-month sums, only where all 12 months are derived and known."""
    rows = rows.sort_values(["la_code", "period"]).reset_index(drop=True)
    ordinal = rows["period"].map(lambda text: Month.parse(text).ordinal)
    for total, figure in ROLLING_FIGURES.items():
        rows[total] = pd.Series(pd.NA, index=rows.index, dtype="Int64")
        known = rows.loc[rows[figure].notna(), ["la_code", figure]].assign(ordinal=ordinal)
        for la_code, own in known.groupby("la_code"):
            series = pd.Series(own[figure].astype("int64").to_numpy(), index=own["ordinal"].to_numpy())
            full = series.reindex(range(int(series.index.min()), int(series.index.max()) + 1))
            sums = full.rolling(12, min_periods=12).sum()
            sums = sums[sums.notna()]
            where = rows.index[(rows["la_code"] == la_code) & ordinal.isin(sums.index)]
            rows.loc[where, total] = sums.reindex(ordinal[where]).astype("int64").to_numpy()
    return rows


def _empty_rows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "la_code": pd.Series(dtype="string"),
            "period": pd.Series(dtype="string"),
            "extract_date": pd.Series(dtype="string"),
            **{figure: pd.Series(dtype="Int64") for figure in FIGURES},
        }
    )
