"""What the child-level records decide (`pipelines/derive/`): checks of an authority's Annex A lists,
and a typed return reconciled against the return derived from them.

The derivation writes these findings itself, by rule id, as it reads and derives a workbook; each
kind here declares the check and plants a SYNTHETIC workbook (`Case.annex_a`: sheets as rows of
cells, dates as `YYYY-MM-DD`) that fails it beside the clean typed return.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import ClassVar, Literal

from schemas.month import Month
from schemas.rules.kinds.base import CHILD_LEVEL, Case, Kind, Reads

_ID, _BIRTH = "Child Unique ID", "Date of Birth"
_LIST_8 = (_ID, _BIRTH, "Date Started to be Looked After", "Child's Legal Status", "Date Ceased to be Looked After")
_LIST_5 = (
    _ID,
    _BIRTH,
    "Strategy discussion initiating Section 47 Enquiry Start Date",
    "Date of Initial Child Protection Conference",
)


def _with_workbook(case: Case, sheets: Mapping[str, tuple[tuple[str, ...], ...]]) -> Case:
    """`case` with a SYNTHETIC workbook of its authority whose extract ends with its last month."""
    extract = ((Month.parse(case.cell("period")) + 1).first_day - dt.timedelta(days=1)).isoformat()
    name = f"{case.cell('la_code')}_annex_a_{extract}_SYNTHETIC.xlsx"
    return replace(case, annex_a=tuple(sheets.items()), annex_a_name=name)


class ChildLevelKind(Kind):
    """A check decided while an authority's child-level workbook is read and its return derived."""

    engines: ClassVar[tuple[str, ...]] = (CHILD_LEVEL,)
    reads: ClassVar[Reads] = Reads.FILE

    def items(self) -> tuple:
        return ("workbook",)


@dataclass(frozen=True)
class ListsHold(ChildLevelKind):
    """The lists hold what the definitions assume (`pipelines/derive/checks.py`, the reader's dates)."""

    problem: Literal[
        "child_twice",
        "end_before_start",
        "no_start",
        "conference_without_enquiry",
        "rows_left_out",
        "date_after_extract",
    ]

    def describe(self) -> str:
        return {
            "child_twice": "list 8 holds one row per child",
            "end_before_start": "an assessment authorised, a conference held, a case closed, a plan ended, a period of care ceased on or after its start",
            "no_start": "an episode of lists 6 to 8 has a start date",
            "conference_without_enquiry": "an initial conference has an enquiry before it",
            "rows_left_out": "every row has a readable child ID, dates and date of birth",
            "date_after_extract": "no date after the extract date",
        }[self.problem]

    def plant(self, case: Case) -> Case:
        month = case.cell("period")
        day = f"{month}-15"
        start, birth = f"{month}-01", "2012-01-01"
        list_8: tuple[tuple[str, ...], ...] = {
            "child_twice": (("SYNTHETIC-1", birth, start, "C2", ""), ("SYNTHETIC-1", birth, day, "C2", "")),
            "end_before_start": (("SYNTHETIC-1", birth, day, "C2", start),),
            "no_start": (("SYNTHETIC-1", birth, "", "C2", ""),),
            "rows_left_out": (("SYNTHETIC-1", "31/31/2012", start, "C2", ""),),
            "date_after_extract": (("SYNTHETIC-1", birth, "2099-01-01", "C2", ""),),
            "conference_without_enquiry": (("SYNTHETIC-1", birth, start, "C2", ""),),
        }[self.problem]
        sheets = {"List_8": (_LIST_8, *list_8)}
        if self.problem == "conference_without_enquiry":
            sheets["List_5"] = (_LIST_5, ("SYNTHETIC-2", birth, "", day))
        return _with_workbook(case, sheets)


@dataclass(frozen=True)
class TypedAgreesWithDerived(ChildLevelKind):
    """Each count of a typed return equals the one derived from the authority's child-level records."""

    def describe(self) -> str:
        return "every count given in both, within the home's tolerance of the figure (default exact)"

    def plant(self, case: Case) -> Case:
        # One child looked after all month; the typed return says a different number.
        month = case.cell("period")
        sheets: dict[str, tuple[tuple[str, ...], ...]] = {
            "List_8": (_LIST_8, ("SYNTHETIC-1", "2012-01-01", f"{month}-01", "C2", ""))
        }
        typed = int(float(case.cell("cla") or 0)) + 2
        return _with_workbook(case.with_cells({"cla": str(typed)}), sheets)
