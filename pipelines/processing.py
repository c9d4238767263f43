"""A month's journey through the warehouse: validate what was received, then keep what is accepted.

Plain functions over a DataHome; the Dagster assets in `assets/` are thin wrappers around them.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pipelines.home import DataHome
from pipelines.intake import received_month
from pipelines.reference import load_reference
from pipelines.validation import validate_rows
from pipelines.waivers import apply_waivers
from pipelines.warehouse import accepted_history, connect, month_findings, replace_rows, write_lake_month
from schemas.catalogue import all_columns, numeric_columns
from schemas.findings import ERROR, WARNING, findings_frame
from schemas.rules import RULES

ACCEPTED = "accepted"
HELD_BACK = "held_back"


@dataclass
class MonthValidation:
    month: str
    returns: pd.DataFrame  # la_code, status, errors, warnings, file, sha256
    findings: pd.DataFrame  # the findings table (FINDING_COLUMNS + sha256, family, waived)
    files: list[str] = field(default_factory=list)
    report: Path | None = None  # GX Data Docs index for the month, when written

    @property
    def accepted(self) -> list[str]:
        return sorted(self.returns.loc[self.returns["status"] == ACCEPTED, "la_code"])

    @property
    def held_back(self) -> list[str]:
        return sorted(self.returns.loc[self.returns["status"] == HELD_BACK, "la_code"])


def data_docs_folder(home: DataHome, month: str) -> Path:
    return home.reports / "gx" / month


def validate_month(home: DataHome, month: str, engine: str = "gx", today: dt.date | None = None,
                   write_report: bool = False) -> MonthValidation:
    """Validate the current return of every authority for `month` and store returns and findings.

    `write_report` (engine "gx") also writes Great Expectations' HTML Data Docs for the month's
    cross-column rules under `<home>/reports/gx/<month>/`, the page a steward opens from the check.
    """
    received = received_month(home, month)
    with connect(home) as connection:
        history = accepted_history(connection, except_month=month)
    reference = load_reference(home)
    findings = list(received.findings)
    report_folder = data_docs_folder(home, month) if write_report and not received.values.empty else None
    findings += validate_rows(received.values, received.text, reference, history, engine=engine, today=today,
                              include_structure=False,  # structure was checked per file on intake
                              report_folder=report_folder)
    # Each authority's current return comes from one file; findings on no authority name their file.
    sha_by_authority = dict(zip(received.values["la_code"], received.values["sha256"]))
    sha_by_file = dict(zip(received.values["file"], received.values["sha256"]))
    frame = findings_frame(findings)
    frame["sha256"] = [sha_by_authority.get(code) if isinstance(code, str) else sha_by_file.get(file)
                       for code, file in zip(frame["la_code"], frame["file"])]
    frame["family"] = frame["rule"].map(lambda rule: RULES[rule].family)
    frame["period"] = month
    with connect(home) as connection:
        frame = apply_waivers(connection, frame)
        blocking = frame[(frame["severity"] == ERROR) & ~frame["waived"].fillna(False).astype(bool)]
        returns = _returns_table(received.values, received.text, frame, blocking)
        replace_rows(connection, "findings", frame, "period = ?", [month])
        replace_rows(connection, "returns", returns, "period = ?", [month])
    report = report_folder / "index.html" if report_folder else None
    return MonthValidation(month, returns, frame, sorted(set(received.values["file"])), report)


def _returns_table(values: pd.DataFrame, text: pd.DataFrame, findings: pd.DataFrame, blocking: pd.DataFrame) -> pd.DataFrame:
    errors = blocking.groupby("la_code").size()
    warnings = findings[findings["severity"] == WARNING].groupby("la_code").size()
    table = values[["la_code", "la_name", "period", "sha256", "file", "row", "arrival", *numeric_columns()]].copy()
    table["errors"] = table["la_code"].map(errors).fillna(0).astype("int64")
    table["warnings"] = table["la_code"].map(warnings).fillna(0).astype("int64")
    table["status"] = [HELD_BACK if n else ACCEPTED for n in table["errors"]]
    # The cells as submitted: the precision rule and any later re-check need the text.
    table["cells"] = [json.dumps({c: text.at[i, c] for c in all_columns() if text.at[i, c] not in (None, "")})
                      for i in text.index]
    for column in numeric_columns():
        table[column] = table[column].astype("float64")
    return table.astype({"row": "int64", "arrival": "int64"})


def store_accepted(home: DataHome, month: str) -> pd.DataFrame:
    """Copy the month's accepted returns into `indicator_values` and the Parquet lake."""
    with connect(home) as connection:
        accepted = connection.execute(
            f"SELECT la_code, period, sha256, {', '.join(numeric_columns())} FROM returns "
            "WHERE period = ? AND status = ? ORDER BY la_code", [month, ACCEPTED]).df()
        accepted.insert(2, "period_start", pd.to_datetime(accepted["period"] + "-01").dt.date)
        replace_rows(connection, "indicator_values", accepted, "period = ?", [month])
    write_lake_month(home, month, accepted.drop(columns=["period_start"]))
    return accepted


def stored_findings(home: DataHome, month: str) -> pd.DataFrame:
    with connect(home) as connection:
        return month_findings(connection, month)


def publication_blockers(home: DataHome, month: str) -> pd.DataFrame:
    """Reasons the month's `indicator_values` must not be published; must always be empty.

    An accepted figure with an unwaived error finding, or figures that are not the current
    accepted return (a month validated again without storing the accepted figures after it).
    """
    with connect(home) as connection:
        return connection.execute(
            """SELECT f.la_code, f.period, f."column", f.value, f.expected, f.message, f.rule, f.file, f."row", f.waived
               FROM findings f JOIN indicator_values v ON f.la_code = v.la_code AND f.period = v.period
               WHERE f.period = $month AND f.severity = 'error' AND NOT coalesce(f.waived, FALSE)
               UNION ALL
               SELECT s.la_code, $month, NULL, NULL, NULL,
                      'the stored figures are not the current accepted return: run the whole month again',
                      'stale_indicator_values', r.file, r."row", FALSE
               FROM (SELECT la_code FROM (
                       (SELECT la_code, sha256 FROM indicator_values WHERE period = $month
                        EXCEPT SELECT la_code, sha256 FROM returns WHERE period = $month AND status = 'accepted')
                       UNION
                       (SELECT la_code, sha256 FROM returns WHERE period = $month AND status = 'accepted'
                        EXCEPT SELECT la_code, sha256 FROM indicator_values WHERE period = $month))
                     GROUP BY la_code) s
               LEFT JOIN returns r ON r.la_code = s.la_code AND r.period = $month""", {"month": month}).df()


def refresh_scorecard(home: DataHome):
    """Rebuild the scorecard from every accepted month; None when no targets are imported."""
    from pipelines.reference import TARGETS_FILE
    from pipelines.scorecard import build_scorecard, load_targets, write_scorecard

    targets_path = home.reference / TARGETS_FILE
    if not targets_path.exists():
        return None
    with connect(home) as connection:
        values = connection.execute("SELECT * EXCLUDE (period_start, sha256) FROM indicator_values").df()
        table = build_scorecard(values, load_targets(targets_path))
        connection.register("scorecard_rows", table)
        connection.execute("CREATE OR REPLACE TABLE scorecard AS SELECT * FROM scorecard_rows")
        connection.unregister("scorecard_rows")
    register = load_reference(home).register
    names = dict(zip(register["new_la_code"], register["la_name"])) if register is not None else {}
    return table, write_scorecard(table, home.reports / "scorecard", title="Scorecard against improvement board targets",
                                  names=names)
