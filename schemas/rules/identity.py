"""Identity: the authority, its name, its month and its population, against the reference data."""

from schemas.findings import ERROR, WARNING
from schemas.rules.kinds import MonthEnded, PopulationNearEstimate, Registered
from schemas.rules.rule import Rule

FAMILY = "identity"
DESCRIPTION = (
    "The authority is on the register, its name matches, the month has ended, "
    "and the population is close to the official estimate."
)
# How far population_0_17 may lie from the official estimate: a query beyond the first share,
# a typing or unit mistake beyond the second.
POPULATION_WARNING_SHARE = 0.02
POPULATION_ERROR_SHARE = 0.50

RULES = [
    Rule(
        "period_in_future",
        FAMILY,
        ERROR,
        "The month has ended.",
        "period <= last completed month",
        "period {value} has not ended yet",
        MonthEnded(),
        expected="a completed month",
    ),
    Rule(
        "unknown_authority",
        FAMILY,
        ERROR,
        "la_code is on the register of upper-tier authorities.",
        "la_code in register",
        "la_code '{value}' is not on the register of English upper-tier authorities",
        Registered("code"),
        expected="a registered la_code",
        example="E06099999",
    ),
    Rule(
        "la_name_mismatch",
        FAMILY,
        ERROR,
        "la_name, when given, matches the register for that code.",
        "la_name == register.la_name",
        "la_name '{value}' does not match the register's '{expected}' for this code",
        Registered("name"),
    ),
    Rule(
        "population_differs",
        FAMILY,
        WARNING,
        f"population_0_17 is within {POPULATION_WARNING_SHARE:.0%} of the official ONS estimate for the authority and year.",
        f"|population - official| <= {POPULATION_WARNING_SHARE:.0%} x official",
        "population_0_17 is {value} but the official estimate is {expected} ({detail})",
        PopulationNearEstimate(beyond=POPULATION_WARNING_SHARE, up_to=POPULATION_ERROR_SHARE),
    ),
    Rule(
        "population_implausible",
        FAMILY,
        ERROR,
        f"population_0_17 is within {POPULATION_ERROR_SHARE:.0%} of the official ONS estimate: beyond that it is a typing or unit mistake.",
        f"|population - official| <= {POPULATION_ERROR_SHARE:.0%} x official",
        "population_0_17 is {value} but the official estimate is {expected} ({detail})",
        PopulationNearEstimate(beyond=POPULATION_ERROR_SHARE),
        example="population ten times too large",
    ),
]
