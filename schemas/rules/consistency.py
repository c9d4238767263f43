"""Consistency: rates and percentages equal their parts' arithmetic, parts stay within their
wholes, rolling sums agree with the months they sum."""

from schemas.findings import ERROR, WARNING
from schemas.rules.kinds import DenominatorNonZero, DerivedFromParts, PartWithinWhole, RollingSumAgrees, SumWithinWhole
from schemas.rules.kinds.base import STRICT_PARTS
from schemas.rules.rule import Rule

FAMILY = "consistency"
DESCRIPTION = (
    "Rates and percentages equal their recomputed value at the reported precision; "
    "parts never exceed their whole; rolling sums agree with history."
)

RULES = [
    Rule(
        "derived_undefined",
        FAMILY,
        WARNING,
        "A rate or percentage over a zero denominator cannot be computed.",
        "denominator > 0",
        "{column} is {value} but {detail} is 0, so it cannot be computed",
        DenominatorNonZero(),
    ),
    Rule(
        "derived_inconsistent",
        FAMILY,
        ERROR,
        "A rate or percentage equals its recomputed value rounded to the precision reported.",
        "|reported - numerator / denominator x multiplier| <= 0.5 x 10^-decimals",
        "{column} is {value} but {detail}",
        DerivedFromParts(),
        example="cla_rate_per_10k is 125 but 537 / 28,354 x 10,000 = 189.4",
    ),
    Rule(
        "part_exceeds_whole",
        FAMILY,
        ERROR,
        "A part never exceeds its whole.",
        "part <= whole",
        "{column} is {value} but its whole {detail}",
        PartWithinWhole(STRICT_PARTS),
    ),
    Rule(
        "plans_and_looked_after_exceed_cin",
        FAMILY,
        WARNING,
        "cp_plans + cla may exceed cin only by the few children on a plan while looked after.",
        "cp_plans + cla <= cin",
        "cp_plans + cla = {value} exceeds cin = {expected}",
        SumWithinWhole(("cp_plans", "cla"), "cin"),
    ),
    Rule(
        "referrals_exceed_contacts",
        FAMILY,
        WARNING,
        "Every referral starts as a contact.",
        "referrals <= contacts",
        "referrals is {value} but contacts is {expected}",
        PartWithinWhole((("referrals", "contacts"),)),
    ),
    Rule(
        "rolling_sum_mismatch",
        FAMILY,
        ERROR,
        "A rolling twelve-month sum agrees with the monthly history held.",
        "x_12m(m) = sum x(m-11..m), or x_12m(m) - x_12m(m-1) = x(m) - x(m-12)",
        "{column} is {value} but {detail}",
        RollingSumAgrees(),
    ),
]
