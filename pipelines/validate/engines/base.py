"""What an engine is: one evaluation registered per kind class, failing rows out, findings listed once.

An engine (the reader, pandas, Great Expectations) registers how it evaluates each kind class it
decides, like a pandera backend registers how it runs each check type. An evaluation takes the
rules of its kinds and the rows checked, and says which rows of which item (column, pair,
figure) fail each rule (`Failing`), with the figures the message needs that only the engine
computed (`evidence`). The findings are then written by the kind from the failing rows
(`Kind.findings`), the same way whichever engine decided, and listed in one order
(`listed`): by what the rule reads, then as its rules' declarations say.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Generic, TypeVar

import numpy as np
import pandas as pd

from pipelines.reference import Reference
from schemas.findings import Finding
from schemas.month import Month
from schemas.rules import RULE_LIST, Rule
from schemas.rules.kinds import GX, PANDAS, Kind, Reads


def last_complete_month(today: dt.date | None = None) -> str:
    return str(Month.last_completed(today))


def single_month(values: pd.DataFrame) -> str | None:
    """The month of `values` when they are all of one month (None: several, or none)."""
    months = values["period"].dropna().unique()
    return str(months[0]) if len(months) == 1 else None


def rules_decided_by(
    engine: str, reads: Iterable[Reads] = tuple(Reads), rules: Iterable[Rule] = RULE_LIST
) -> tuple[list[Rule], list[Rule]]:
    """(pandas' rules, GX's rules) among `rules` reading what `reads` says, when `engine` runs the
    rule book: GX decides every rule whose kind names it (engine "gx"), pandas every other rule
    (the reader's rules were decided when the file was read)."""
    wanted = set(reads) - {Reads.FILE}
    mine = [rule for rule in rules if rule.kind.reads in wanted]
    by_gx = [rule for rule in mine if engine == GX and GX in rule.kind.engines]
    return [rule for rule in mine if rule not in by_gx and PANDAS in rule.kind.engines], by_gx


@dataclass
class Checked:
    """The rows the rule book checks and what it checks them against.

    `values` (typed) and `text` (cells as submitted) are aligned by position (0..n-1). `history`
    holds accepted figures of other months; `accepted` (aligned with `values`, default all) marks
    the rows that may serve as history for the others.
    """

    values: pd.DataFrame
    text: pd.DataFrame
    reference: Reference = field(default_factory=lambda: Reference(None, None))
    today: dt.date | None = None
    history: pd.DataFrame | None = None
    accepted: pd.Series | None = None

    @property
    def last_complete_month(self) -> str:
        return last_complete_month(self.today)


@dataclass
class Failing:
    """The rows of one item of a rule that fail, as an engine decided.

    `positions` index the checked rows; `evidence` (aligned with `positions`) holds what the
    message needs that only the evaluation computed; `order` is the engine's own listing order
    of the rows (pandera's, for the cells) where the rule book has none of its own.
    """

    rule: Rule
    item: int
    positions: np.ndarray
    evidence: pd.DataFrame | None = None
    order: np.ndarray | None = None


Evaluation = Callable[[Sequence[Rule], Checked], Iterable[Failing]]
How = TypeVar("How")


class Engine(Generic[How]):
    """An engine: for each kind class it decides, how (an evaluation, or for Great Expectations
    the expectations a rule becomes and how its results become failing rows)."""

    def __init__(self, name: str):
        self.name = name
        self._registered: dict[type[Kind], How] = {}

    def register(self, kind: type[Kind], how: How) -> None:
        if kind in self._registered:
            raise ValueError(f"the {self.name} engine already decides {kind.__name__}")
        self._registered[kind] = how

    def evaluates(self, *kinds: type[Kind]) -> Callable[[How], How]:
        """Register the decorated evaluation for `kinds` (called once with all their rules, in order)."""

        def register(how: How) -> How:
            for kind in kinds:
                self.register(kind, how)
            return how

        return register

    def decides(self, kind: type[Kind]) -> bool:
        return kind in self._registered

    def registered(self, kind: type[Kind]) -> How:
        """How this engine decides `kind`; LookupError (naming both) when it does not."""
        if kind not in self._registered:
            raise LookupError(f"the {self.name} engine has no evaluation of {kind.__name__}")
        return self._registered[kind]

    @property
    def kinds(self) -> tuple[type[Kind], ...]:
        """The kind classes decided, in the order they were registered."""
        return tuple(self._registered)


class ColumnEngine(Engine[Evaluation]):
    """An engine whose evaluations run over the checked rows in this process (pandas)."""

    def failing(self, rules: Sequence[Rule], checked: Checked) -> list[Failing]:
        """Every failing row of `rules` in `checked`; a rule of a kind this engine does not decide is refused."""
        grouped: dict[Evaluation, list[Rule]] = {}
        for rule in rules:
            grouped.setdefault(self.registered(type(rule.kind)), []).append(rule)
        return [failing for evaluation, own in grouped.items() for failing in evaluation(own, checked)]

    def findings(self, rules: Sequence[Rule], checked: Checked) -> list[Finding]:
        return listed(self.failing(rules, checked), checked)


@lru_cache(maxsize=1)
def _ranks() -> dict[str, tuple[int, int, int]]:
    """Per rule: (its place in the registry, its group's, its kind's within the group)."""
    place = {rule.id: n for n, rule in enumerate(RULE_LIST)}

    def group(rule: Rule) -> str:
        return rule.kind.listed_with or rule.id

    first_of_group: dict[str, int] = {}
    first_of_kind: dict[tuple[str, type], int] = {}
    for rule in RULE_LIST:
        first_of_group.setdefault(group(rule), place[rule.id])
        first_of_kind.setdefault((group(rule), type(rule.kind)), place[rule.id])
    return {
        rule.id: (place[rule.id], first_of_group[group(rule)], first_of_kind[(group(rule), type(rule.kind))])
        for rule in RULE_LIST
    }


def _keys(failing: Failing, count: int) -> list[tuple]:
    """The listing key of each finding of `failing` (one per failing row but for a rule about columns).

    By what the rule reads (cells, a row, the reference data, the bands, the history); then the
    cells in the engine's order, a row's history rules row by row, and the rest group by group
    (rules whose kinds are `listed_with` one another), item by item, kind by kind, row by row.
    """
    rule_place, group_place, kind_place = _ranks()[failing.rule.id]
    section = int(failing.rule.kind.reads)
    positions = failing.positions if len(failing.positions) == count else np.zeros(count, dtype="int64")
    if section == Reads.CELLS:
        order = failing.order if failing.order is not None else positions
        return [(section, int(o), rule_place) for o in order[:count]]
    if section == Reads.HISTORY:
        return [(section, int(p), group_place, failing.item, rule_place) for p in positions]
    return [(section, group_place, failing.item, kind_place, int(p), rule_place) for p in positions]


def listed(failings: Iterable[Failing], checked: Checked) -> list[Finding]:
    """The findings of `failings`, each written by its rule's kind, in the rule book's order."""
    keyed: list[tuple[tuple, int, Finding]] = []
    for failing in failings:
        if not len(failing.positions) and (failing.evidence is None or failing.evidence.empty):
            continue  # nothing failed (most items of most rules): no empty tables to build
        rows = checked.values.iloc[failing.positions]
        text = checked.text.iloc[failing.positions]
        item: Any = failing.rule.kind.items()[failing.item]
        made = failing.rule.kind.findings(failing.rule, item, rows, text, failing.evidence)
        keyed += [
            (key, len(keyed) + n, finding) for n, (key, finding) in enumerate(zip(_keys(failing, len(made)), made))
        ]
    keyed.sort(key=lambda entry: (entry[0], entry[1]))
    return [finding for _, _, finding in keyed]
