"""Completeness: every mandatory figure is given, and every derived figure comes with its parts."""

from schemas.findings import ERROR, WARNING
from schemas.rules.kinds import ComponentsGiven, Mandatory
from schemas.rules.kinds.base import MANDATORY_INDICATORS
from schemas.rules.rule import Rule

FAMILY = "completeness"
DESCRIPTION = "Every mandatory indicator is provided, and every derived figure has its components."

RULES = [
    Rule(
        "mandatory_missing",
        FAMILY,
        ERROR,
        "Every mandatory indicator (configuration; default cin, cp_plans, cla) is provided.",
        "mandatory cell not blank and column present",
        "{column} is mandatory but {detail}",
        Mandatory(MANDATORY_INDICATORS, marked="blank"),
    ),
    Rule(
        "mandatory_not_available",
        FAMILY,
        WARNING,
        "A mandatory indicator reported as x (not available) is a query.",
        "mandatory cell != x",
        "{column} is mandatory but reported as x (not available)",
        Mandatory(MANDATORY_INDICATORS, marked="x"),
    ),
    Rule(
        "derived_without_components",
        FAMILY,
        ERROR,
        "A derived figure comes with its numerator and denominator in the same row.",
        "numerator and denominator given",
        "{column} is {value} but {detail} not given, so it cannot be checked",
        ComponentsGiven(),
    ),
]
