"""A month's verdict: its inputs in, its findings and the status of every return out.

`check_month` is a function over tables: the month's current returns with the files they came
from, the accepted history of other months, the reference data and the waivers, all read
beforehand (`pipelines.steps.monthly.validate_months`). It opens no database; storing its result is
the next stage's work. A return with an unwaived error is held back.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.ingest.readers import ParsedReturn
from pipelines.ingest.received import ReceivedMonth, placed_rows
from pipelines.reference import Reference
from pipelines.validate.rulebook import validate_rows
from pipelines.validate.structure import structure_findings
from pipelines.validate.waivers import match_waivers, unwaived_errors
from schemas.catalogue import all_columns, numeric_columns
from schemas.findings import ERROR, WARNING, Finding, findings_frame
from schemas.rules import FAMILY_OF_RULE

ACCEPTED = "accepted"
HELD_BACK = "held_back"


@dataclass(frozen=True)
class MonthInputs:
    """Everything a month's validation reads, read once."""

    received: ReceivedMonth
    history: pd.DataFrame  # accepted figures of the other months
    reference: Reference
    waivers: pd.DataFrame  # the waiver register (revoked waivers included: they do not apply)
    targets: pd.DataFrame | None = None  # the board's targets, for the Data Docs' target bands (never findings)


@dataclass
class MonthValidation:
    month: str
    returns: pd.DataFrame  # la_code, status, errors, warnings, file, sha256, figures, cells
    findings: pd.DataFrame  # the findings table (FINDING_COLUMNS + sha256, family, waived)
    files: list[str] = field(default_factory=list)
    report: Path | None = None  # GX Data Docs index for the month, when written

    @property
    def accepted(self) -> list[str]:
        return sorted(self.returns.loc[self.returns["status"] == ACCEPTED, "la_code"])

    @property
    def held_back(self) -> list[str]:
        return sorted(self.returns.loc[self.returns["status"] == HELD_BACK, "la_code"])


def _about_the_file(finding: Finding) -> bool:
    """A finding about the file as a whole: no row, or the header row."""
    return finding.row is None or finding.row == 1


def file_findings(parsed: ParsedReturn, sha256: str) -> pd.DataFrame:
    """A received file's own findings, as stored with no month: about the whole file, its header,
    or rows no month can hold (reading and structure)."""
    findings = parsed.findings + (structure_findings(parsed.values) if parsed.readable else [])
    placed = placed_rows(parsed.values)
    own = [f for f in findings if _about_the_file(f) or f.row not in placed]
    frame = findings_frame(own).assign(sha256=sha256, period=None)
    frame["family"] = frame["rule"].map(FAMILY_OF_RULE)
    return frame


def _received_findings(received: ReceivedMonth) -> list[Finding]:
    """Reading and structure findings of the month's current returns, and the header problems of
    their files: a header error (a column twice) holds back every return the file gives this
    month; a header warning is said once per file."""
    month, values = received.month, received.values
    current = set(zip(values["sha256"], values["row"]))
    findings, header = [], []
    for file in received.files:
        # Structure per file: a file holds one row per authority and month, two files may not.
        own = file.parsed.findings + structure_findings(file.parsed.values[file.in_month(month).to_numpy()])
        findings += [f for f in own if f.period == month and (file.sha256, f.row) in current]
        returns = values.loc[values["sha256"] == file.sha256, "la_code"]
        if returns.empty:
            continue
        for finding in filter(_about_the_file, own):
            if finding.severity == ERROR:
                header += [replace(finding, la_code=code, period=month) for code in returns]
            else:
                header.append(replace(finding, period=month))
    return findings + header


def check_month(
    inputs: MonthInputs, engine: str = "gx", today: dt.date | None = None, report_folder: Path | None = None
) -> MonthValidation:
    """Every rule over the month's current returns; waivers applied; each return accepted or held back.

    With `report_folder` (engine "gx"), Great Expectations also writes the month's Data Docs there.
    """
    received = inputs.received
    values, text, month = received.values, received.text, received.month
    report_folder = report_folder if not values.empty else None
    findings = _received_findings(received)
    findings += validate_rows(
        values,
        text,
        inputs.reference,
        inputs.history,
        engine=engine,
        today=today,
        include_structure=False,  # checked per file above
        report_folder=report_folder,
        targets=inputs.targets if report_folder else None,
    )
    # Each authority's current return comes from one file; findings on no authority name their file.
    sha_by_authority = dict(zip(values["la_code"], values["sha256"]))
    sha_by_file = dict(zip(values["file"], values["sha256"]))
    frame = findings_frame(findings)
    by_authority = frame["la_code"].astype(object).map(sha_by_authority)
    frame["sha256"] = by_authority.where(frame["la_code"].notna(), frame["file"].astype(object).map(sha_by_file))
    frame["sha256"] = frame["sha256"].astype(object).where(frame["sha256"].notna(), None)
    frame["family"] = frame["rule"].map(FAMILY_OF_RULE)
    frame["period"] = month
    frame = match_waivers(frame, inputs.waivers)
    returns = _returns_table(values, text, frame)
    report = report_folder / "index.html" if report_folder else None
    return MonthValidation(month, returns, frame, sorted(set(values["file"])), report)


def _json_string(cells: pd.Series) -> pd.Series:
    """Each cell as a JSON string literal (quotes, backslashes and control characters escaped)."""
    escaped = cells.str.replace("\\", "\\\\", regex=False).str.replace('"', '\\"', regex=False)
    escaped = escaped.str.replace(r"[\x00-\x1f]", lambda match: f"\\u{ord(match.group()):04x}", regex=True)
    return '"' + escaped + '"'


def cells_json(text: pd.DataFrame) -> pd.Series:
    """Each row's non-blank cells as submitted, as a JSON object (column -> text), built column by column."""
    fragments = []
    for column in all_columns():
        cells = (
            text[column].astype("string")
            if column in text.columns
            else pd.Series(pd.NA, index=text.index, dtype="string")
        )
        given = (cells.notna() & (cells != "")).fillna(False).astype(bool)
        fragments.append((json.dumps(column) + ": " + _json_string(cells)).where(given, ""))
    return "{" + _join_nonblank(fragments) + "}"


def _join_nonblank(fragments: list[pd.Series]) -> pd.Series:
    """Concatenate columns of fragments with ', ' between the non-blank ones."""
    joined = fragments[0].fillna("")
    for fragment in fragments[1:]:
        fragment = fragment.fillna("")
        separator = pd.Series(np.where((joined != "") & (fragment != ""), ", ", ""), index=joined.index)
        joined = joined + separator + fragment
    return joined


def _returns_table(values: pd.DataFrame, text: pd.DataFrame, findings: pd.DataFrame) -> pd.DataFrame:
    errors = unwaived_errors(findings).groupby("la_code").size()
    warnings = findings[findings["severity"] == WARNING].groupby("la_code").size()
    table = values[["la_code", "la_name", "period", "sha256", "file", "row", "arrival", *numeric_columns()]].copy()
    table["errors"] = table["la_code"].map(errors).fillna(0).astype("int64")
    table["warnings"] = table["la_code"].map(warnings).fillna(0).astype("int64")
    table["status"] = np.where(table["errors"] > 0, HELD_BACK, ACCEPTED)
    # The cells as submitted: the precision rule and any later re-check need the text.
    table["cells"] = cells_json(text)
    for column in numeric_columns():
        table[column] = table[column].astype("float64")
    return table.astype({"row": "int64", "arrival": "int64"})
