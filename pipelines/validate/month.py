"""Months' verdicts: their inputs in, their findings and the status of every return out.

`check_months` is a function over tables: the months' current returns with the files they
came from, the accepted history, the reference data and the waivers, all read beforehand
(`pipelines.steps.monthly.validate_months`). It validates a range of months in one pass, as
month-by-month runs would (a month's history is the accepted returns of the months before it,
a waived error accepted), and opens no database; storing its result is the next stage's work.
A return with an unwaived error is held back.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.ingest.readers import ParsedReturn
from pipelines.ingest.received import ReceivedFile, ReceivedMonth, placed_rows
from pipelines.reference import Reference
from pipelines.validate.engines.base import Checked, listed
from pipelines.validate.rulebook import evaluate, rows_of, settle_history
from pipelines.validate.structure import structure_findings
from pipelines.validate.waivers import match_waivers, unwaived_errors
from schemas.catalogue import all_columns, numeric_columns
from schemas.findings import ERROR, WARNING, Finding, findings_frame
from schemas.rules import FAMILY_OF_RULE
from schemas.rules.kinds import GX

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


@dataclass(frozen=True)
class RangeInputs:
    """Everything the validation of a range of months reads, read once."""

    months: Sequence[ReceivedMonth]  # in calendar order
    history: pd.DataFrame  # accepted figures as stored (the range's own months are validated afresh)
    reference: Reference
    waivers: pd.DataFrame
    targets: pd.DataFrame | None = None


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
    placed = placed_rows(parsed.values)
    findings = list(parsed.findings)
    if parsed.readable:
        # Cell rules read one cell each: only the rows no month holds can give a finding kept here
        # (a month's run checks the rest), so a file whose rows are all placed costs no pandera pass.
        rows = parsed.values["row"]
        unplaced = (~rows.isin(placed) | (rows == 1)).to_numpy(dtype=bool)
        if unplaced.any():
            findings += structure_findings(parsed.values[unplaced], parsed.text[unplaced])
    own = [f for f in findings if _about_the_file(f) or f.row not in placed]
    frame = findings_frame(own).assign(sha256=sha256, period=None)
    frame["family"] = frame["rule"].map(FAMILY_OF_RULE)
    return frame


FileStructure = Callable[[ReceivedFile], list[Finding]]


def file_structure(months: Sequence[str]) -> FileStructure:
    """The structure findings of a file's rows of `months`, found once per file however many
    of the months it holds (a file holds one row per authority and month, two files may not)."""
    found: dict[tuple[str, str], list[Finding]] = {}

    def of(file: ReceivedFile) -> list[Finding]:
        key = (file.sha256, file.file_name)
        if key not in found:
            values, text = file.parsed.values, file.parsed.text
            in_months = values["period"].isin(months).fillna(False).to_numpy(dtype=bool)
            found[key] = structure_findings(values[in_months], text[in_months])
        return found[key]

    return of


def _received_findings(received: ReceivedMonth, structure: FileStructure) -> list[Finding]:
    """Reading and structure findings of the month's current returns, and the header problems of
    their files: a header error (a column twice) holds back every return the file gives this
    month; a header warning is said once per file."""
    month, values = received.month, received.values
    current = set(zip(values["sha256"], values["row"]))
    findings, header = [], []
    for file in received.files:
        # Structure per file: a file holds one row per authority and month, two files may not.
        in_month = [f for f in structure(file) if f.period == month or (f.period is None and f.row is None)]
        own = file.parsed.findings + in_month
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
    inputs: MonthInputs, engine: str = GX, today: dt.date | None = None, report_folder: Path | None = None
) -> MonthValidation:
    """Every rule over the month's current returns; waivers applied; each return accepted or held back.

    With `report_folder` (engine "gx"), Great Expectations also writes the month's Data Docs there.
    """
    month = inputs.received.month
    [validation] = check_months(
        RangeInputs([inputs.received], inputs.history, inputs.reference, inputs.waivers, inputs.targets),
        engine,
        today,
        {month: report_folder} if report_folder is not None else None,
    )
    return validation


def load_engine(engine: str = GX) -> None:
    """Load what validating with `engine` loads once in a process, ahead of need: for GX its context,
    suites and Data Docs renderer (seconds: Great Expectations is the longest import of a run)."""
    if engine == GX:
        from pipelines.validate import gx_docs  # noqa: F401  (imports the engine too)
        from pipelines.validate.engines.gx_engine import validations

        validations()


def check_months(
    inputs: RangeInputs,
    engine: str = GX,
    today: dt.date | None = None,
    report_folders: Mapping[str, Path] | None = None,
) -> list[MonthValidation]:
    """Every rule over the current returns of a range of months, in one pass; waivers applied.

    The same findings, statuses and tables as validating the months one after the other, each
    against the accepted returns of the months before it: the rule book runs once over all the
    months' rows (Great Expectations once per suite), the history rules settle which returns
    are accepted over the whole range at once (`rulebook.settle_history`, holding back a return
    only for an unwaived error), and with `report_folders` each month gets its Data Docs.
    """
    months = [received.month for received in inputs.months]
    structure = file_structure(months)
    received_findings = {received.month: _received_findings(received, structure) for received in inputs.months}
    given = [received for received in inputs.months if not received.values.empty]
    checked = _checked(inputs, today)
    values = checked.values
    shas = _sha256_of(values)
    run = None
    if engine == GX and not values.empty:
        from pipelines.validate.engines.gx_engine import GxRun  # GX costs seconds to import

        run = GxRun(checked, by_month=True, targets=inputs.targets if report_folders else None)

    other = [finding for month in months for finding in received_findings[month]]
    rule_findings: dict[str | None, list[Finding]] = {}
    if not values.empty:
        held = _held_by_unwaived_errors(shas, inputs.waivers)
        failings = evaluate(checked, engine, include_structure=False, run=run, other_findings=other, held=held)
        for finding in listed(failings, checked):
            rule_findings.setdefault(finding.period, []).append(finding)
    reports: dict[str | None, Path] = {}
    if run is not None and report_folders:
        from pipelines.validate.gx_docs import write_data_docs

        with_rows = {r.month for r in given}
        written: dict[str | None, Path] = {m: Path(f) for m, f in report_folders.items() if m in with_rows}
        write_data_docs(run, written)
        reports = {m: folder / "index.html" for m, folder in written.items()}
    labelled = [(month, f) for month in months for f in received_findings[month] + rule_findings.get(month, [])]
    frame = _findings_table(labelled, shas, inputs.waivers)
    returns = _returns_table(values, checked.text, frame)
    findings_by_month = dict(tuple(frame.groupby("period", sort=False)))
    returns_by_month = dict(tuple(returns.groupby("period", sort=False))) if not returns.empty else {}
    return [
        MonthValidation(
            month,
            returns_by_month.get(month, returns.iloc[0:0]).reset_index(drop=True),
            findings_by_month[month].reset_index(drop=True)
            if month in findings_by_month
            else _findings_table([], shas, inputs.waivers),
            sorted(set(received.values["file"])),
            reports.get(month),
        )
        for month, received in zip(months, inputs.months)
    ]


def _checked(inputs: RangeInputs, today: dt.date | None) -> Checked:
    """The months' current returns as the rules read them, beside the accepted history of the months before."""
    months = [received.month for received in inputs.months]
    given = [received for received in inputs.months if not received.values.empty]
    values = pd.concat([r.values for r in given], ignore_index=True) if given else inputs.months[0].values
    text = pd.concat([r.text for r in given], ignore_index=True) if given else inputs.months[0].text
    stored = inputs.history
    stored = stored[~stored["period"].isin(months)] if not stored.empty else None
    return Checked(values, text, inputs.reference, today, stored)


def _held_by_unwaived_errors(
    shas: dict[str, pd.Series], waivers: pd.DataFrame, held_already: Collection[tuple[str, str]] = ()
) -> Callable[[pd.DataFrame, list[Finding]], pd.Series]:
    """Which rows findings hold back: those whose authority-month has an unwaived error among them,
    or is one of `held_already` ((la_code, period) pairs)."""

    def held(rows: pd.DataFrame, findings: list[Finding]) -> pd.Series:
        pairs = set(held_already)
        errors = [f for f in findings if f.severity == ERROR and f.la_code and f.period]
        if errors:
            blocking = unwaived_errors(match_waivers(_with_sha256(findings_frame(errors), shas), waivers))
            pairs |= set(zip(blocking["la_code"], blocking["period"]))
        return rows_of(rows, pairs) if pairs else pd.Series(False, index=rows.index)

    return held


def history_findings(
    inputs: RangeInputs, held_by_other_rules: Collection[tuple[str, str]], today: dt.date | None = None
) -> pd.DataFrame:
    """The history rules' findings over the months of `inputs`, as `check_months` stores them (the
    rule book's pandas engine deciding them, as it and Great Expectations decide them alike), when
    the other rules hold back the authority-months `held_by_other_rules` ((la_code, period) pairs):
    the history rules settled over the months at once, each against the months before it."""
    checked = _checked(inputs, today)
    shas = _sha256_of(checked.values)
    labelled: list[tuple[str, Finding]] = []
    if not checked.values.empty:
        failings, _ = settle_history(checked, [], _held_by_unwaived_errors(shas, inputs.waivers, held_by_other_rules))
        labelled = [(str(finding.period), finding) for finding in listed(failings, checked)]
    return _findings_table(labelled, shas, inputs.waivers)


def _findings_table(
    labelled: list[tuple[str, Finding]], shas: dict[str, pd.Series], waivers: pd.DataFrame
) -> pd.DataFrame:
    """The findings table of (month, finding) pairs: the file each comes from, its family, the waiver that covers it."""
    frame = findings_frame([finding for _, finding in labelled])
    frame["period"] = pd.array([month for month, _ in labelled], dtype="string")
    return match_waivers(_with_sha256(frame, shas), waivers)


def _sha256_of(values: pd.DataFrame) -> dict[str, pd.Series]:
    """Which file each finding comes from: an authority's current return in its month, else
    (a finding naming no authority) the file named."""
    months = values["period"].astype(object)
    by_authority = pd.Series(
        values["sha256"].to_numpy(), index=pd.MultiIndex.from_arrays([months, values["la_code"].astype(object)])
    )
    by_file = pd.Series(
        values["sha256"].to_numpy(), index=pd.MultiIndex.from_arrays([months, values["file"].astype(object)])
    )
    return {
        "authority": by_authority[~by_authority.index.duplicated(keep="last")],
        "file": by_file[~by_file.index.duplicated(keep="last")],
    }


def _with_sha256(frame: pd.DataFrame, shas: dict[str, pd.Series]) -> pd.DataFrame:
    months = frame["period"].astype(object)
    by_authority = shas["authority"].reindex(pd.MultiIndex.from_arrays([months, frame["la_code"].astype(object)]))
    by_file = shas["file"].reindex(pd.MultiIndex.from_arrays([months, frame["file"].astype(object)]))
    sha = np.where(frame["la_code"].notna().to_numpy(dtype=bool), by_authority.to_numpy(), by_file.to_numpy())
    frame["sha256"] = pd.Series(sha, index=frame.index, dtype=object)
    frame["sha256"] = frame["sha256"].where(frame["sha256"].notna(), None)
    frame["family"] = frame["rule"].map(FAMILY_OF_RULE)
    return frame


_CONTROL = r"[\x00-\x1f]"


def _json_string(cells: pd.Series) -> pd.Series:
    """Each cell as a JSON string literal (quotes, backslashes and control characters escaped)."""
    escaped = cells.str.replace("\\", "\\\\", regex=False).str.replace('"', '\\"', regex=False)
    control = escaped.str.contains(_CONTROL, regex=True).fillna(False).astype(bool)
    if control.any():  # rare: only those cells go through a Python function
        escaped[control] = escaped[control].str.replace(
            _CONTROL, lambda match: f"\\u{ord(match.group()):04x}", regex=True
        )
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
    """Each return's status from its month's findings: held back by an unwaived error."""
    table = values[["la_code", "la_name", "period", "sha256", "file", "row", "arrival", *numeric_columns()]].copy()
    keys = pd.MultiIndex.from_arrays([table["period"].astype(object), table["la_code"].astype(object)])

    def count(rows: pd.DataFrame) -> np.ndarray:
        per_return = rows.groupby([rows["period"].astype(object), rows["la_code"].astype(object)]).size()
        return per_return.reindex(keys).fillna(0).astype("int64").to_numpy()

    table["errors"] = count(unwaived_errors(findings))
    table["warnings"] = count(findings[findings["severity"] == WARNING])
    table["status"] = np.where(table["errors"] > 0, HELD_BACK, ACCEPTED)
    # The cells as submitted: the precision rule and any later re-check need the text.
    table["cells"] = cells_json(text)
    for column in numeric_columns():
        table[column] = table[column].astype("float64")
    return table.astype({"row": "int64", "arrival": "int64"})
