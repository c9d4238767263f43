"""The structure of a file's rows: every cell rule (pandera, through the pandas engine), on its own.

The pipeline checks structure file by file (a file holds one row per authority and month, two
files may not), once per file however many months it holds.
"""

from __future__ import annotations

import pandas as pd

from pipelines.validate.engines import PANDAS_ENGINE
from pipelines.validate.engines.base import Checked, listed
from schemas.findings import Finding
from schemas.rules import RULE_LIST
from schemas.rules.kinds import Reads

CELL_RULES = tuple(rule for rule in RULE_LIST if rule.kind.reads == Reads.CELLS)


def by_position(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` indexed 0..n-1, copied only when it is not already (a million rows are hundreds of MB)."""
    index = frame.index
    if isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1:
        return frame
    return frame.reset_index(drop=True)


def structure_findings(values: pd.DataFrame, text: pd.DataFrame | None = None) -> list[Finding]:
    """Every structural failure in `values` (lazy: all collected), one finding per cell.

    `values` is `ParsedReturn.values` (or several concatenated), `text` its cells as submitted
    (aligned; a finding quotes a figure as submitted, never as the float it became); missing
    identity cells are reported here too, since pandera's nullable flag would only say 'column has nulls'.
    """
    if values.empty:
        return []
    checked = Checked(by_position(values), by_position(values if text is None else text))
    return listed(PANDAS_ENGINE.failing(CELL_RULES, checked), checked)
