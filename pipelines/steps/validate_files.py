"""Returns checked before they are sent (`csc-returns validate`): every rule, by the pandas engine,
against the data home's reference data and its accepted history; nothing is written.

A workbook of Ofsted's Annex A child-level lists is not a return: it is read, its IDs
pseudonymised with a key that lives only in this process (never the home's), and the return it
gives is derived (`rows`: one per authority and month) beside its findings, as a steward asks
"what does the pipeline make of this file". A typed return given with it is reconciled against
it: each count that differs is a finding.

This is an analyst's quick check, so it pays for nothing it does not use: no Great Expectations,
no Dagster, and DuckDB only when the home has a warehouse to read history from (tests/test_cli.py
holds that a new home's `validate` imports none of them); the rule book (pandera) only when a typed
return is given.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pipelines.derive.months import derive_return
from pipelines.derive.reconcile import reconcile
from pipelines.derive.settings import ChildLevelSettingsError as ChildLevelSettingsError  # the CLI's refusal
from pipelines.derive.settings import reconciliation_settings
from pipelines.home import DataHome
from pipelines.ingest.annex_a import CHILD_LEVEL_SUFFIXES, read_child_level
from pipelines.ingest.pseudonyms import ephemeral_key
from pipelines.ingest.readers import read_return
from pipelines.reference import load_reference
from schemas.findings import ERROR, Finding
from schemas.rules import new_finding


@dataclass
class FilesChecked:
    """What `validate_files` found: each readable file with its count of rows, and every finding."""

    files: list[dict] = field(default_factory=list)  # {"file": name as given, "rows": n}
    findings: list[Finding] = field(default_factory=list)
    # The return derived from child-level workbooks: one row per authority and month, blanks as None.
    derived: list[dict] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(finding.severity == ERROR for finding in self.findings)


def validate_files(
    home: DataHome, names: list[str], la_code: str | None = None, extract_date: dt.date | None = None
) -> FilesChecked:
    """Findings for each file named (a name that is no file is a finding too). Each file is checked
    on its own: rows of the other files given do not count as its history. `la_code` and
    `extract_date` serve child-level workbooks that state neither (front sheet, file name)."""
    reference = load_reference(home)
    history = accepted_history(home)
    checked = FilesChecked()
    child_level = []
    typed: list[pd.DataFrame] = []
    for name in names:
        path = Path(name)
        if not path.is_file():
            checked.findings.append(new_finding("file_unreadable", file=name, message="no such file"))
            continue
        if path.suffix.lower() in CHILD_LEVEL_SUFFIXES:
            data = path.read_bytes()
            if (read := read_child_level(data, path.name, ephemeral_key(), la_code, extract_date)) is not None:
                checked.findings.extend(read.findings)
                child_level.append(read)
                checked.files.append(
                    {"file": name, "rows": sum(len(rows) for rows in read.lists.values()), "child_level": True}
                )
                continue
        parsed = read_return(path, home=home)
        checked.files.append({"file": name, "rows": len(parsed.values)})
        checked.findings.extend(parsed.findings)
        if parsed.readable:
            # The rule book (pandera's import, a few tenths of a second) only when a typed return is given.
            from pipelines.validate.rulebook import validate_rows

            checked.findings.extend(validate_rows(parsed.values, parsed.text, reference, history, engine="pandas"))
            typed.append(parsed.values)
    if child_level:
        derived = derive_return(child_level)
        checked.findings.extend(derived.findings)
        # A typed return given beside the workbook is reconciled against the return derived from it.
        # Within the home's tolerances, as the pipeline reconciles (its child-level.toml, read-only).
        if typed:
            tolerances = reconciliation_settings(home).tolerances
            checked.findings.extend(reconcile(pd.concat(typed, ignore_index=True), derived.rows, tolerances))
        rows = derived.rows.astype(object).where(derived.rows.notna(), None)
        checked.derived = [
            {k: (int(v) if isinstance(v, (int, float)) else v) for k, v in r.items()} for r in rows.to_dict("records")
        ]
    return checked


def accepted_history(home: DataHome) -> pd.DataFrame | None:
    """The home's accepted figures, from the readers' snapshot (a running pipeline never blocks it);
    None for a home with no warehouse yet."""
    if not home.warehouse.exists():
        return None
    # DuckDB and the store, imported only when there is history to read (a new home's cold start).
    from pipelines.store.month import accepted_history as stored_history
    from pipelines.store.warehouse import connect

    with connect(home, read_only=True) as connection:
        return stored_history(connection)
