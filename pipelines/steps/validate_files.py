"""Returns checked before they are sent (`csc-returns validate`): every rule, by the pandas engine,
against the data home's reference data and its accepted history; nothing is written.

This is an analyst's quick check, so it pays for nothing it does not use: no Great Expectations,
no Dagster, and DuckDB only when the home has a warehouse to read history from (tests/test_cli.py
holds that a new home's `validate` imports none of them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pipelines.home import DataHome
from pipelines.ingest.readers import read_return
from pipelines.reference import load_reference
from pipelines.validate.rulebook import validate_rows
from schemas.findings import ERROR, Finding
from schemas.rules import new_finding


@dataclass
class FilesChecked:
    """What `validate_files` found: each readable file with its count of rows, and every finding."""

    files: list[dict] = field(default_factory=list)  # {"file": name as given, "rows": n}
    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(finding.severity == ERROR for finding in self.findings)


def validate_files(home: DataHome, names: list[str]) -> FilesChecked:
    """Findings for each file named (a name that is no file is a finding too). Each file is checked
    on its own: rows of the other files given do not count as its history."""
    reference = load_reference(home)
    history = accepted_history(home)
    checked = FilesChecked()
    for name in names:
        path = Path(name)
        if not path.is_file():
            checked.findings.append(new_finding("file_unreadable", file=name, message="no such file"))
            continue
        parsed = read_return(path, home=home)
        checked.files.append({"file": name, "rows": len(parsed.values)})
        checked.findings.extend(parsed.findings)
        if parsed.readable:
            checked.findings.extend(validate_rows(parsed.values, parsed.text, reference, history, engine="pandas"))
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
