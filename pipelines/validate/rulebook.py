"""The rule book run over parsed rows: which engine decides which rule, and one findings list out.

What runs where is read from the declarations (`schemas/rules/`): with engine "gx" (the
pipeline) Great Expectations decides every rule whose kind names GX and pandas the rest; with
engine "pandas" (`csc-returns validate`, and every check of a file) pandas decides them all.
The reader's rules were decided when the file was read. Touches no database and no Dagster:
history, reference data and the report folder are given.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.reference import Reference
from pipelines.validate.engines import PANDAS_ENGINE, RULE_BOOK_ENGINES
from pipelines.validate.engines.base import (
    Checked,
    Failing,
    last_complete_month,
    listed,
    rules_decided_by,
    single_month,
)
from pipelines.validate.structure import by_position
from schemas.findings import ERROR, Finding
from schemas.rules import RULE_LIST, Rule
from schemas.rules.kinds import GX, Reads

__all__ = ["RULE_BOOK_ENGINES", "accepted_history_findings", "history_findings", "last_complete_month", "validate_rows"]


def _history(rules: Sequence[Rule]) -> list[Rule]:
    return [rule for rule in rules if rule.kind.reads == Reads.HISTORY]


def _present(rules: Sequence[Rule]) -> list[Rule]:
    return [rule for rule in rules if rule.kind.reads != Reads.HISTORY]


def validate_rows(
    values: pd.DataFrame,
    text: pd.DataFrame,
    reference: Reference | None = None,
    history: pd.DataFrame | None = None,
    engine: str = "pandas",
    today: dt.date | None = None,
    include_structure: bool = True,
    report_folder: Path | None = None,
    targets: pd.DataFrame | None = None,
) -> list[Finding]:
    """Findings for `values` (typed rows) and `text` (their cells as submitted), aligned by index.

    The history rules read `history` (accepted stored months) and the rows given, but a row
    with an error is no one's history (`settle_history`). With engine "gx" and `report_folder`,
    Great Expectations writes its Data Docs there (with `targets`, the board's table, a
    target-band suite of warnings joins them). Both engines give the same findings.
    """
    if engine not in RULE_BOOK_ENGINES:
        raise ValueError(f"engine '{engine}' is not one of {', '.join(RULE_BOOK_ENGINES)}")
    if report_folder is not None and engine != GX:
        raise ValueError("an HTML validation report is written by the gx engine only")
    if values.empty:
        return []
    checked = Checked(by_position(values), by_position(text), reference or Reference(None, None), today, history)
    run = None
    if engine == GX:
        from pipelines.validate.engines.gx_engine import GxRun  # GX costs seconds to import

        month = single_month(checked.values)
        run = GxRun(checked, targets=targets if report_folder is not None and month is not None else None)
    failings = evaluate(checked, engine, include_structure, run)
    if run is not None and report_folder is not None:
        from pipelines.validate.gx_docs import write_data_docs

        write_data_docs(run, {None: report_folder})
    return listed(failings, checked)


def evaluate(
    checked: Checked,
    engine: str,
    include_structure: bool = True,
    run=None,
    other_findings: Sequence[Finding] = (),
    held: Callable[[pd.DataFrame, list[Finding]], pd.Series] | None = None,
) -> list[Failing]:
    """The failing rows of every rule `engine` runs over `checked` (`run`: the GX run, engine "gx").

    The history rules are settled over the rows' accepted history (`settle_history`; `held` says
    which rows findings hold back, default: any error), then GX decides its history kinds over it.
    """
    sections = [reads for reads in Reads if include_structure or reads != Reads.CELLS]
    by_pandas, by_gx = rules_decided_by(engine, sections)
    failings = PANDAS_ENGINE.failing(_present(by_pandas), checked)
    if by_gx:
        failings += run.failing(_present(by_gx))
    if not _history(by_pandas + by_gx):
        return failings
    present = [*other_findings, *listed(failings, checked)]
    history_failing, accepted = settle_history(checked, present, held)
    settled = replace(checked, accepted=accepted)
    if by_gx:
        run.checked = settled
        failings += run.history_failing(_history(by_gx))
    decided_by_gx = {rule.id for rule in by_gx}
    return failings + [failing for failing in history_failing if failing.rule.id not in decided_by_gx]


def with_error(values: pd.DataFrame, findings: list[Finding]) -> pd.Series:
    """Rows of `values` whose authority-month has an error among `findings`."""
    errors = {(f.la_code, f.period) for f in findings if f.severity == ERROR and f.la_code and f.period}
    return rows_of(values, errors)


def rows_of(values: pd.DataFrame, authority_months: Collection[tuple[object, object]]) -> pd.Series:
    """Rows of `values` naming one of `authority_months` ((la_code, period) pairs)."""
    codes, periods = values["la_code"].astype("string"), values["period"].astype("string")
    # Only rows naming an authority and a month given are paired up (a million pairs would be slow).
    candidates = (
        codes.isin({code for code, _ in authority_months}) & periods.isin({period for _, period in authority_months})
    ).to_numpy(dtype=bool)
    found = np.zeros(len(values), dtype=bool)
    if candidates.any():
        keys = pd.MultiIndex.from_arrays([codes[candidates], periods[candidates]])
        found[candidates] = keys.isin(pd.MultiIndex.from_tuples(list(authority_months)))
    return pd.Series(found, index=values.index)


def history_findings(
    values: pd.DataFrame, history: pd.DataFrame | None, accepted: pd.Series | None = None
) -> list[Finding]:
    """The history rules (pandas) over `values` against `history` and the rows `accepted` as history (default all)."""
    checked = Checked(by_position(values), by_position(values), history=history, accepted=accepted)
    return listed(PANDAS_ENGINE.failing(_history(RULE_LIST), checked), checked)


def accepted_history_findings(
    values: pd.DataFrame, history: pd.DataFrame | None, other_findings: list[Finding]
) -> list[Finding]:
    """History rules where only accepted months are history: no error cascades into later months."""
    checked = Checked(by_position(values), by_position(values), history=history)
    failings, _ = settle_history(checked, other_findings)
    return listed(failings, checked)


def settle_history(
    checked: Checked,
    other_findings: Sequence[Finding],
    held: Callable[[pd.DataFrame, list[Finding]], pd.Series] | None = None,
) -> tuple[list[Failing], pd.Series]:
    """The history rules' failing rows and the rows accepted as history.

    A month is accepted when its row is not held back (`held`, default: it has an error), and
    whether it is depends only on the months before it (history looks back, never forward). So
    the accepted rows are the fixed point of "rows not held back when the accepted rows are the
    history": start from the rows the other findings hold back, evaluate the history rules
    over all the rows at once (columnar), drop the rows that now are held back, and repeat until
    nothing changes. After pass n the first n months are settled, so it ends within as many
    passes as there are months; one wrong month takes two passes (the second confirms nothing moved).
    """
    held = held or with_error
    values = checked.values
    rules = _history(RULE_LIST)
    other_held = held(values, list(other_findings))
    accepted = ~other_held
    failings: list[Failing] = []
    for _ in range(values["period"].nunique() + 1):
        settled_checked = replace(checked, accepted=accepted)
        failings = PANDAS_ENGINE.failing(rules, settled_checked)
        settled = ~(other_held | held(values, listed(failings, settled_checked)))
        if settled.equals(accepted):
            break
        accepted = settled
    return failings, accepted
