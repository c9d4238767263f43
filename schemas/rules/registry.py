"""The rule book: the ordered list of every rule's declaration, family by family.

One module per family (`structure`, `identity`, `completeness`, `consistency`, `plausibility`,
`continuity`, and for child-level records `reconciliation` and `child_level`) declares its rules; this list is the registry every engine, the docs page and
the registry test walk.
"""

from __future__ import annotations

from schemas.rules import (
    child_level,
    completeness,
    consistency,
    continuity,
    identity,
    plausibility,
    reconciliation,
    structure,
)
from schemas.rules.kinds.base import Reads
from schemas.rules.rule import Rule

_FAMILY_MODULES = (
    structure,
    identity,
    completeness,
    consistency,
    plausibility,
    continuity,
    reconciliation,
    child_level,
)

FAMILIES: dict[str, str] = {module.FAMILY: module.DESCRIPTION for module in _FAMILY_MODULES}
# The families about child-level records: their Dagster checks are on `derived_months`, the others' on `received_returns`.
CHILD_LEVEL_FAMILIES: tuple[str, ...] = ("child_level", "reconciliation")


def checked_asset(family: str) -> str:
    """The Dagster asset whose check shows a family's findings."""
    return "derived_months" if family in CHILD_LEVEL_FAMILIES else "received_returns"


RULE_LIST: tuple[Rule, ...] = tuple(rule for module in _FAMILY_MODULES for rule in module.RULES)
RULES: dict[str, Rule] = {rule.id: rule for rule in RULE_LIST}
FAMILY_OF_RULE: dict[str, str] = {rule.id: rule.family for rule in RULE_LIST}
# The furthest back a history rule reads (x(m-12) in a rolling sum, twelve months of flows): a
# month's figures can change the findings of the HISTORY_MONTHS months after it.
HISTORY_MONTHS: int = max(rule.kind.lookback for rule in RULE_LIST if rule.kind.reads == Reads.HISTORY)
# The rules that read other months: the only findings of a month that another month's figures change.
HISTORY_RULES: frozenset[str] = frozenset(rule.id for rule in RULE_LIST if rule.kind.reads == Reads.HISTORY)
