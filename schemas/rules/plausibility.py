"""Plausibility: figures within what English authorities have published."""

from schemas.findings import WARNING
from schemas.rules.kinds import WithinBand
from schemas.rules.rule import Rule

FAMILY = "plausibility"
DESCRIPTION = "Values lie within what English authorities have published."

RULES = [
    Rule(
        "implausible_value",
        FAMILY,
        WARNING,
        "A rate or percentage lies within the band English authorities have published (schemas/plausibility_bands.csv).",
        "band.low <= value <= band.high",
        "{column} is {value}, outside the published range {expected}: check the unit",
        WithinBand(),
    ),
]
