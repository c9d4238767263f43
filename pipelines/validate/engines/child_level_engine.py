"""The child-level records as an engine: the kinds decided while an authority's Annex A workbook is
read and its return derived (`pipelines/derive/`), and a typed return reconciled against it.

The reader and the derivation write these findings themselves, by rule id; evaluating a rule is
reading the workbook (with an ephemeral key: nothing is kept), deriving, reconciling the typed
rows given, and keeping that rule's findings.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd

from pipelines.derive.months import derive_return
from pipelines.derive.reconcile import reconcile
from pipelines.ingest.annex_a import read_annex_a
from pipelines.ingest.pseudonyms import ephemeral_key
from pipelines.validate.engines.base import Engine
from schemas.findings import Finding
from schemas.rules import Rule
from schemas.rules.kinds import CHILD_LEVEL, ListsHold, TypedAgreesWithDerived

DecideWorkbook = Callable[[Sequence[Rule], bytes, str, "pd.DataFrame | None"], list[Finding]]
CHILD_LEVEL_ENGINE: Engine[DecideWorkbook] = Engine(CHILD_LEVEL)


def workbook_findings(
    rules: Sequence[Rule], workbook: bytes, file_name: str, typed: pd.DataFrame | None = None
) -> list[Finding]:
    """The findings of `rules` that reading and deriving `workbook` gives, `typed` (a return's rows,
    as read) reconciled against the derived return."""
    wanted = {rule.id for rule in rules}
    read = read_annex_a(workbook, file_name, ephemeral_key())
    derived = derive_return([read])
    findings = [*read.findings, *derived.findings]
    if typed is not None and not typed.empty:
        findings += reconcile(typed, derived.rows)
    return [finding for finding in findings if finding.rule in wanted]


for _kind in (ListsHold, TypedAgreesWithDerived):
    CHILD_LEVEL_ENGINE.register(_kind, workbook_findings)
