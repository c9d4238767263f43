"""The reader as an engine: the kinds decided while a file is read (`pipelines/ingest/`).

The reader writes these findings itself, by rule id, as it reads; its evaluation of a rule is
reading the file and keeping that rule's findings.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from pipelines.home import DataHome
from pipelines.ingest.readers import read_return
from pipelines.validate.engines.base import Engine
from schemas.findings import Finding
from schemas.rules import Rule
from schemas.rules.kinds import (
    READER,
    CellReadable,
    DataRowsGiven,
    EncodedAsUtf8,
    FileReadable,
    FormulaHasValue,
    HeaderColumns,
    RowsAsWideAsHeader,
    WideSheetReadable,
    WithinReaderLimits,
)

ReadFile = Callable[[Sequence[Rule], Path, DataHome | None], list[Finding]]
READER_ENGINE: Engine[ReadFile] = Engine(READER)


def read_findings(rules: Sequence[Rule], path: Path, home: DataHome | None = None) -> list[Finding]:
    """The findings of `rules` the reader makes reading `path`."""
    wanted = {rule.id for rule in rules}
    return [finding for finding in read_return(path, home=home).findings if finding.rule in wanted]


for _kind in (
    FileReadable,
    RowsAsWideAsHeader,
    DataRowsGiven,
    WithinReaderLimits,
    FormulaHasValue,
    EncodedAsUtf8,
    HeaderColumns,
    CellReadable,
    WideSheetReadable,
):
    READER_ENGINE.register(_kind, read_findings)
