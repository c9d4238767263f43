"""How a rule's finding is written: its message from the rule's template, where it is, what it says.

Every finding, whichever engine decided it, is made here from its rule's declaration.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from schemas.findings import Finding, one_line
from schemas.rules.rule import Rule

# A parsed return's values may carry, per row, a callable giving a column's cell in the file
# (`Dashboard!F12`): the reader sets it (pipelines/ingest/grid.py), every finding made here uses it.
LOCATOR_COLUMN = "cell_of"


def describe_value(value: object) -> str | None:
    """A figure as a person would write it: 184 not 184.0, 1,881 not 1881."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)):
        number = float(value)
        if number.is_integer():
            return f"{int(number):,}"
        return f"{number:,.4f}".rstrip("0").rstrip(".")
    return str(value)


def finding_of(
    rule: Rule,
    *,
    file: str | None = None,
    row: int | None = None,
    la_code: str | None = None,
    period: str | None = None,
    column: str | None = None,
    value: object = None,
    expected: object = None,
    detail: str = "",
    message: str | None = None,
    cell: str | None = None,
) -> Finding:
    """A finding of `rule`, its message built from the rule's template.

    A template of `{message}` (the reader's file-level findings) takes the text given as `message`.
    """
    value_text, expected_text = describe_value(value), describe_value(expected)
    return Finding(
        rule=rule.id,
        severity=rule.severity,
        file=file,
        row=row,
        cell=cell,
        la_code=la_code,
        period=period,
        column=column,
        value=value_text,
        expected=expected_text,
        message=one_line(
            rule.message.format(column=column, value=value_text, expected=expected_text, detail=detail, message=message)
        ),
    )


def finding_on_row(
    rule: Rule, row: pd.Series, column: str | None, value: object = None, expected: object = None, detail: str = ""
) -> Finding:
    """A finding on one row of a parsed return (its file, row number, authority and month, and
    the cell of `column` when the reader knows it)."""

    def text(key: str) -> str | None:
        return None if pd.isna(row.get(key)) else str(row.get(key))

    locate = row.get(LOCATOR_COLUMN)
    return finding_of(
        rule,
        file=text("file"),
        row=None if pd.isna(row.get("row")) else int(row.get("row")),
        la_code=text("la_code"),
        period=text("period"),
        column=column,
        value=value,
        expected=expected,
        detail=detail,
        cell=locate(column) if callable(locate) else None,
    )


def findings_on_rows(
    rule: Rule,
    rows: pd.DataFrame,
    column: str | None,
    value: object = None,
    expected: object = None,
    detail: object = "",
) -> list[Finding]:
    """`finding_on_row` for every row of `rows` (already the failing rows, selected by a column
    operation): `value`, `expected` and `detail` are each a Series aligned with `rows`, a list
    with one item per row, or one value for all. The rule was evaluated on whole columns; this only writes its findings."""
    if rows.empty:
        return []

    def aligned(item: object) -> list:
        if isinstance(item, pd.Series):
            return list(item.reindex(rows.index))
        if isinstance(item, (list, np.ndarray)):
            return list(item)  # already one per row, in order
        return [item] * len(rows)

    def texts(key: str) -> list:
        if key not in rows.columns:
            return [None] * len(rows)
        series = rows[key]
        return [None if pd.isna(v) else str(v) for v in series]

    numbers = rows["row"] if "row" in rows.columns else pd.Series(pd.NA, index=rows.index)
    row_numbers = [None if pd.isna(v) else int(v) for v in numbers]
    # A workbook or wide sheet's rows carry a locator naming each figure's cell (ingest/grid.py).
    locators = rows[LOCATOR_COLUMN] if LOCATOR_COLUMN in rows.columns else [None] * len(rows)
    cells = [locate(column) if callable(locate) else None for locate in locators]
    return [
        finding_of(
            rule,
            file=file,
            row=row,
            la_code=code,
            period=period,
            column=column,
            value=v,
            expected=e,
            detail=d,
            cell=cell,
        )
        for file, row, code, period, v, e, d, cell in zip(
            texts("file"),
            row_numbers,
            texts("la_code"),
            texts("period"),
            aligned(value),
            aligned(expected),
            aligned(detail),
            cells,
        )
    ]


def in_row_order(index: pd.Index, labelled: Sequence[tuple[object, Finding]]) -> list[Finding]:
    """The findings of `labelled` ((row label, finding) pairs) in the order of their rows in `index`,
    findings of one row in the order given; looks up only the labels given (a million rows' labels
    would be a dict of a hundred MB)."""
    if not labelled:
        return []
    if index.is_unique:
        where = index.get_indexer([label for label, _ in labelled])
    else:
        positions = {label: position for position, label in enumerate(index)}
        where = np.array([positions[label] for label, _ in labelled])
    return [labelled[i][1] for i in sorted(range(len(labelled)), key=lambda i: where[i])]
