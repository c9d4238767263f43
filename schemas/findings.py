"""The one findings table every rule writes to, whichever engine found it."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

import pandas as pd

FINDING_COLUMNS = [
    "rule",
    "severity",
    "la_code",
    "period",
    "column",
    "value",
    "expected",
    "message",
    "file",
    "row",
    "cell",
]
# A finding as a steward reviews it: where, what, why, and whether a waiver accepts it.
REVIEW_COLUMNS = [
    "la_code",
    "period",
    "column",
    "value",
    "expected",
    "message",
    "rule",
    "file",
    "row",
    "cell",
    "waived",
]
ERROR = "error"
WARNING = "warning"
# Characters that would break a finding's one line (or a terminal): C0 and C1 controls, DEL, and
# Unicode's line and paragraph separators. Submitted text reaches messages (a header, a cell).
_BREAKS_A_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: str) -> str:
    """`text` with every control character written as an escape (a newline as `\\n`): one line, inert."""
    return _BREAKS_A_LINE.sub(lambda match: match.group().encode("unicode_escape").decode("ascii"), text)


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    message: str
    file: str | None = None
    row: int | None = None
    # Where a spreadsheet user finds it: `Sheet!F12` for a workbook cell, blank for a CSV row.
    cell: str | None = None
    la_code: str | None = None
    period: str | None = None
    column: str | None = None
    value: str | None = None
    expected: str | None = None

    def one_line(self) -> str:
        """`file:row [column] severity rule: message`, the way compilers report; a cell known in
        the file (`Dashboard!F12`) is shown in place of the row, as a spreadsheet user finds it."""
        where = self.file or "<input>"
        if self.cell:
            where += f" {self.cell}"
        elif self.row is not None:
            where += f":{self.row}"
        if self.column:
            where += f" [{self.column}]"
        return f"{where} {self.severity} {self.rule}: {self.message}"


def findings_frame(findings: list[Finding] | None = None) -> pd.DataFrame:
    records = [asdict(f) for f in findings or []]
    frame = pd.DataFrame.from_records(records, columns=FINDING_COLUMNS)
    frame["row"] = frame["row"].astype("Int64")
    for column in FINDING_COLUMNS:
        if column != "row":
            frame[column] = frame[column].astype("string")
    return frame
