"""Child level: what an authority's child-level lists (Annex A) hold that the definitions do not expect.

Warnings (a count with such rows in it is still the best the lists give), but for a date after the
extract date, which says the extract is not what it claims to be.
"""

from schemas.findings import ERROR, WARNING
from schemas.rules.kinds.child_level import ListsHold
from schemas.rules.rule import Rule

FAMILY = "child_level"
DESCRIPTION = "The child-level lists (Annex A) a return is derived from hold what the definitions assume."

RULES = [
    Rule(
        "child_level_child_twice",
        FAMILY,
        WARNING,
        "A child is on one row of list 8 (the list holds each child's latest period of care).",
        "child IDs of list 8 distinct",
        "{message}",
        ListsHold("child_twice"),
        example="list 8 (children looked after): 2 row(s) give a child seen on another row (rows 2, 3)",
    ),
    Rule(
        "child_level_end_before_start",
        FAMILY,
        WARNING,
        "An assessment is authorised, a conference held, a case closed, a plan ended, a period of care ceased "
        "on or after it started.",
        "end >= start",
        "{message}",
        ListsHold("end_before_start"),
        example="list 4 (assessments): 1 row(s) authorised before they started (rows 7)",
    ),
    Rule(
        "child_level_no_start",
        FAMILY,
        WARNING,
        "An episode of lists 6 to 8 has a start date (without one it is left out of every figure).",
        "start date given",
        "{message}",
        ListsHold("no_start"),
    ),
    Rule(
        "child_level_conference_without_enquiry",
        FAMILY,
        WARNING,
        "An initial child protection conference has a section 47 enquiry before it.",
        "conference date given -> strategy discussion date given",
        "{message}",
        ListsHold("conference_without_enquiry"),
    ),
    Rule(
        "child_level_rows_left_out",
        FAMILY,
        WARNING,
        "Every row of a list counts: how many rows each list's figures leave out, and why (no readable child "
        "ID, an unreadable date or date of birth).",
        "rows left out = 0",
        "{message}",
        ListsHold("rows_left_out"),
    ),
    Rule(
        "child_level_date_after_extract",
        FAMILY,
        ERROR,
        "No date of a list is after the extract date (the extract is not what it claims to be; every month "
        "the workbook gives is held back).",
        "date <= extract date",
        "{message}",
        ListsHold("date_after_extract"),
    ),
]
