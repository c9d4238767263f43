"""Reconciliation: a typed return agrees with the return derived from the authority's child-level records."""

from schemas.findings import ERROR
from schemas.rules.kinds.child_level import TypedAgreesWithDerived
from schemas.rules.rule import Rule

FAMILY = "reconciliation"
DESCRIPTION = (
    "Where an authority-month has a typed return and one derived from its child-level records (Annex A), "
    "each count agrees with the derived one, within the home's tolerance of the figure."
)

RULES = [
    Rule(
        "child_level_reconciliation",
        FAMILY,
        ERROR,
        "Each count of a typed return equals the count derived from the authority's child-level extract nearest "
        "its arrival; beyond the home's tolerance of the figure an error (the typed return held back until it is "
        "corrected or waived), within it a warning.",
        "typed count = derived count (|typed - derived| <= absolute or <= relative x derived: a warning)",
        "{message}",
        TypedAgreesWithDerived(),
        example="cla is 537 but list 8 gives 535 children looked after at 31 December 2017 (extract of 2018-01-31)",
    ),
]
