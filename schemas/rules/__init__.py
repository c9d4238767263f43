"""The rule book: every rule declared once, with the kind of check that decides it.

A rule is a `Rule` in the module of its family (`structure.py`, `identity.py`,
`completeness.py`, `consistency.py`, `plausibility.py`, `continuity.py`): its id, severity,
summary, formula, message template, example, and its kind (`kinds/`: an instance of a kind
class carrying the kind's parameters: columns, formula, thresholds). `registry.RULE_LIST` is the
ordered list of them. The engines in `pipelines/validate/engines/` evaluate each kind; every
finding, whichever engine decided it, is written from its rule's declaration (`messages.py`).
"""

from __future__ import annotations

import pandas as pd

from schemas.findings import Finding
from schemas.rules.continuity import FLOWS_STAY, STOCKS_MOVE
from schemas.rules.identity import POPULATION_ERROR_SHARE, POPULATION_WARNING_SHARE
from schemas.rules.messages import (
    LOCATOR_COLUMN,
    describe_value,
    finding_of,
    finding_on_row,
    findings_on_rows,
    in_row_order,
)
from schemas.rules.registry import (
    CHILD_LEVEL_FAMILIES,
    FAMILIES,
    FAMILY_OF_RULE,
    HISTORY_MONTHS,
    HISTORY_RULES,
    RULE_LIST,
    RULES,
    checked_asset,
)
from schemas.rules.rule import Rule

# The thresholds by their former names (they are the declarations' parameters).
FLOW_OUTLIER_FACTOR = FLOWS_STAY.factor
FLOW_OUTLIER_MIN_MONTHS = FLOWS_STAY.min_months
FLOW_OUTLIER_MIN_DIFFERENCE = FLOWS_STAY.min_difference
STOCK_JUMP_SHARE = STOCKS_MOVE.share
STOCK_JUMP_MIN = STOCKS_MOVE.minimum


def new_finding(rule_id: str, **where) -> Finding:
    """A finding of the rule `rule_id` (`messages.finding_of`): file, row, la_code, period, column,
    value, expected, detail, message, cell."""
    return finding_of(RULES[rule_id], **where)


def make_finding(
    rule_id: str, row: pd.Series, column: str | None, value: object = None, expected: object = None, detail: str = ""
) -> Finding:
    """A finding of `rule_id` on one row of a parsed return (`messages.finding_on_row`)."""
    return finding_on_row(RULES[rule_id], row, column, value, expected, detail)


def make_findings(
    rule_id: str, rows: pd.DataFrame, column: str | None, value: object = None, expected: object = None, detail=""
) -> list[Finding]:
    """Findings of `rule_id` on the failing rows `rows` (`messages.findings_on_rows`)."""
    return findings_on_rows(RULES[rule_id], rows, column, value, expected, detail)


__all__ = [
    "CHILD_LEVEL_FAMILIES",
    "FAMILIES",
    "FAMILY_OF_RULE",
    "FLOW_OUTLIER_FACTOR",
    "FLOW_OUTLIER_MIN_DIFFERENCE",
    "FLOW_OUTLIER_MIN_MONTHS",
    "HISTORY_MONTHS",
    "HISTORY_RULES",
    "LOCATOR_COLUMN",
    "POPULATION_ERROR_SHARE",
    "POPULATION_WARNING_SHARE",
    "RULES",
    "RULE_LIST",
    "STOCK_JUMP_MIN",
    "STOCK_JUMP_SHARE",
    "Rule",
    "checked_asset",
    "describe_value",
    "in_row_order",
    "make_finding",
    "make_findings",
    "new_finding",
]
