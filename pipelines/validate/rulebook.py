"""The rule book run over parsed rows: one entry point for every rule, one findings list out.

Touches no database and no Dagster: history, reference data and the report folder are given.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.reference import Reference
from pipelines.validate.context import identity_findings, plausibility_findings
from pipelines.validate.cross_column import cross_column_findings
from pipelines.validate.history import history_findings, rolling_table
from pipelines.validate.structure import by_position, structure_findings
from schemas.findings import ERROR, Finding

ENGINES = ("pandas", "gx")


def last_complete_month(today: dt.date | None = None) -> str:
    today = today or dt.date.today()
    return (pd.Period(today, freq="M") - 1).strftime("%Y-%m")


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
    with an error is no one's history (`accepted_history_findings`).

    engine "gx" evaluates the cross-column rules, plausibility bands and rolling sums with Great Expectations
    (the pipeline; with `report_folder` it writes the Data Docs there, and with `targets` (the
    board's table) a target-band suite of warnings joins them); "pandas" with pandas (the fast
    command-line path). Both give the same findings.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine '{engine}' is not one of {', '.join(ENGINES)}")
    if report_folder is not None and engine != "gx":
        raise ValueError("an HTML validation report is written by the gx engine only")
    if values.empty:
        return []
    values, text = by_position(values), by_position(text)
    findings: list[Finding] = structure_findings(values) if include_structure else []
    reference = reference or Reference(None, None)
    if engine == "gx":
        from pipelines.validate.expectations import GxSession  # GX costs seconds to import

        # GX evaluates the consistency rules, the plausibility bands and the rolling sums itself.
        session = GxSession(report_folder, targets, _single_month(values))
        findings += session.cross_column_findings(values, text)
        findings += identity_findings(values, reference.register, reference.populations, last_complete_month(today))
        # Which months are history is settled by the fixed point over the pandas history rules (many
        # cheap passes); GX then evaluates the rolling sums over exactly that history.
        history_found, accepted = _accepted_history(values, history, findings)
        rolling = rolling_table(values, history, accepted)
        findings += [f for f in history_found if f.rule != "rolling_sum_mismatch"] + session.rolling_findings(
            values, rolling
        )
        session.write_docs()
        return findings
    findings += cross_column_findings(values, text)
    findings += identity_findings(values, reference.register, reference.populations, last_complete_month(today))
    findings += plausibility_findings(values)
    return findings + accepted_history_findings(values, history, findings)


def _single_month(values: pd.DataFrame) -> str | None:
    months = values["period"].dropna().unique()
    return str(months[0]) if len(months) == 1 else None


def _with_error(values: pd.DataFrame, findings: list[Finding]) -> pd.Series:
    """Rows of `values` whose authority-month has an error among `findings`."""
    errors = {(f.la_code, f.period) for f in findings if f.severity == ERROR and f.la_code and f.period}
    codes, periods = values["la_code"].astype("string"), values["period"].astype("string")
    # Only rows naming an authority and a month with an error are paired up (a million pairs would be slow).
    candidates = (codes.isin({code for code, _ in errors}) & periods.isin({period for _, period in errors})).to_numpy(
        dtype=bool
    )
    found = np.zeros(len(values), dtype=bool)
    if candidates.any():
        keys = pd.MultiIndex.from_arrays([codes[candidates], periods[candidates]])
        found[candidates] = keys.isin(pd.MultiIndex.from_tuples(errors))
    return pd.Series(found, index=values.index)


def accepted_history_findings(
    values: pd.DataFrame, history: pd.DataFrame | None, other_findings: list[Finding]
) -> list[Finding]:
    """History rules where only accepted months are history: no error cascades into later months."""
    return _accepted_history(values, history, other_findings)[0]


def _accepted_history(
    values: pd.DataFrame, history: pd.DataFrame | None, other_findings: list[Finding]
) -> tuple[list[Finding], pd.Series]:
    """The history rules' findings and the rows accepted as history (`accepted_history_findings`).

    A month is accepted when its row has no error, and whether it has one depends only on the
    months before it (history looks back, never forward). So the accepted rows are the fixed
    point of "rows with no error when the accepted rows are the history": start from the rows
    without an error of the other rules, evaluate the history rules over the whole file at once
    (columnar), drop the rows that now have an error, and repeat until nothing changes. After
    pass n the first n months of the file are settled, so it ends within as many passes as the
    file has months; one wrong month takes two passes (the second confirms nothing moved).
    """
    other_error = _with_error(values, other_findings)
    accepted = ~other_error
    for _ in range(values["period"].nunique() + 1):
        findings = history_findings(values, history, accepted)
        settled = ~(other_error | _with_error(values, findings))
        if settled.equals(accepted):
            break
        accepted = settled
    return findings, accepted
