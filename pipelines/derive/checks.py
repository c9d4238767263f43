"""Child-level checks: what in the lists looks wrong, said as warnings naming rows, never children.

The rules are declared in the rule book (`schemas/rules/child_level.py`, family `child_level`).

Each check is a column operation over a list, and gives one finding per list and kind of problem,
with how many rows and the first rows' numbers (a steward opens the workbook at them): a child
twice in list 8 (one row per child), an end before its start, an episode with no start, a
conference with no enquiry, an assessment authorised before it started; and for each list how
many rows its figures leave out and why.
"""

from __future__ import annotations

import pandas as pd

from pipelines.ingest.annex_a import LIST_BY_NUMBER, ChildLevel
from pipelines.ingest.grid import cell_address
from schemas.findings import Finding
from schemas.rules import RULES

TWICE = "child_level_child_twice"
END_BEFORE_START = "child_level_end_before_start"
NO_START = "child_level_no_start"
CONFERENCE_WITHOUT_ENQUIRY = "child_level_conference_without_enquiry"
ROWS_LEFT_OUT = "child_level_rows_left_out"
ROWS_NAMED = 10
# (list, start, end, what the end is called): pairs whose end may not come before the start.
EPISODES = (
    (4, "assessment_start", "assessment_authorised", "authorised"),
    (5, "strategy_date", "icpc_date", "conference held"),
    (6, "cin_start", "cin_end", "closed"),
    (7, "cp_start", "cp_end", "ended"),
    (8, "cla_start", "cla_end", "ceased"),
)


def _rows_text(rows: pd.Series) -> str:
    numbers = [str(int(r)) for r in rows[:ROWS_NAMED]]
    return ", ".join(numbers) + (" ..." if len(rows) > ROWS_NAMED else "")


def child_level_checks(extract: ChildLevel) -> list[Finding]:
    """The warnings of the child-level checks over an extract's lists."""
    findings: list[Finding] = []

    def say(rule: str, number: int, flagged: pd.DataFrame, what: str) -> None:
        if flagged.empty:
            return
        label = LIST_BY_NUMBER[number].label
        first = flagged.iloc[0]
        findings.append(
            Finding(
                rule=rule,
                severity=RULES[rule].severity,
                message=f"{label}: {len(flagged)} row(s) {what} (rows {_rows_text(flagged['row'])})",
                file=extract.file,
                cell=cell_address(str(first["sheet"]), int(first["row"]), 0),
                la_code=extract.la_code,
            )
        )

    lists = extract.lists
    if 8 in lists:
        looked_after = lists[8]
        twice = looked_after[looked_after["child"].notna() & looked_after["child"].duplicated(keep=False)]
        say(TWICE, 8, twice, "give a child seen on another row: list 8 holds one row per child")
    for number, start, end, ended in EPISODES:
        rows = lists.get(number)
        if rows is None or start not in rows or end not in rows:
            continue
        say(
            END_BEFORE_START,
            number,
            rows[(rows[end] < rows[start]).to_numpy(dtype=bool)],
            f"{ended} before they started",
        )
        no_start = rows[start].isna() & ~rows[f"{start}_unreadable"]
        if number == 5:
            say(
                CONFERENCE_WITHOUT_ENQUIRY,
                5,
                rows[(no_start & rows[end].notna()).to_numpy(dtype=bool)],
                "record a conference with no enquiry before it",
            )
        elif number != 4:
            say(NO_START, number, rows[no_start.to_numpy(dtype=bool)], "have no start date: left out of every figure")
    for number, rows in lists.items():
        reasons = []
        no_child = int(rows["child"].isna().sum())
        if no_child:
            reasons.append(f"{no_child} without a readable child ID (left out of the counts of children)")
        unreadable = [c for c in rows.columns if c.endswith("_unreadable") and c != "birth_unreadable"]
        bad_dates = int(rows[unreadable].any(axis=1).sum()) if unreadable else 0
        if bad_dates:
            reasons.append(f"{bad_dates} with a date that cannot be read (left out of the figures that need it)")
        bad_births = int(rows["birth_unreadable"].sum())
        if bad_births:
            reasons.append(
                f"{bad_births} with a date of birth that cannot be read (left out of the counts of children)"
            )
        if reasons:
            label = LIST_BY_NUMBER[number].label
            findings.append(
                Finding(
                    rule=ROWS_LEFT_OUT,
                    severity=RULES[ROWS_LEFT_OUT].severity,
                    message=f"{label}: of {len(rows)} rows, " + "; ".join(reasons),
                    file=extract.file,
                    la_code=extract.la_code,
                )
            )
    return findings
