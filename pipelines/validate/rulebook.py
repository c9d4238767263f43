"""The rule book run over parsed rows: one entry point for every rule, one findings list out.

Touches no database and no Dagster: history, reference data and the report folder are given.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from pipelines.reference import Reference
from pipelines.validate.context import identity_findings, plausibility_findings
from pipelines.validate.cross_column import cross_column_findings
from pipelines.validate.history import history_findings
from pipelines.validate.structure import structure_findings
from schemas.findings import Finding

ENGINES = ("pandas", "gx")


def last_complete_month(today: dt.date | None = None) -> str:
    today = today or dt.date.today()
    return (pd.Period(today, freq="M") - 1).strftime("%Y-%m")


def validate_rows(values: pd.DataFrame, text: pd.DataFrame, reference: Reference | None = None,
                  history: pd.DataFrame | None = None, engine: str = "pandas",
                  today: dt.date | None = None, include_structure: bool = True,
                  report_folder: Path | None = None) -> list[Finding]:
    """Findings for `values` (typed rows) and `text` (their cells as submitted), aligned by index.

    engine "gx" evaluates the cross-column rules with Great Expectations (the pipeline);
    "pandas" with numpy (the fast command-line path). Both give the same findings.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine '{engine}' is not one of {', '.join(ENGINES)}")
    if report_folder is not None and engine != "gx":
        raise ValueError("an HTML validation report is written by the gx engine only")
    if values.empty:
        return []
    values = values.reset_index(drop=True)
    text = text.reset_index(drop=True)
    findings: list[Finding] = structure_findings(values) if include_structure else []
    if engine == "gx":
        from pipelines.validate.expectations import gx_cross_column_findings  # GX costs seconds to import

        findings += gx_cross_column_findings(values, text, docs_folder=report_folder)
    else:
        findings += cross_column_findings(values, text)
    reference = reference or Reference(None, None)
    findings += identity_findings(values, reference.register, reference.populations, last_complete_month(today))
    findings += plausibility_findings(values)
    findings += history_findings(values, history)
    return findings
