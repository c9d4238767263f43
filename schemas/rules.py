"""The rule book: every rule's id, family, severity, formula and message, in one place.

This is the registry as declarations; the code that evaluates the rules lives in
`pipelines/validate/` (pandera for structure, Great Expectations or numpy for the
cross-column rules, pandas for the rules that need the register, bands and history).
Every finding, whichever code raises it, is made by `new_finding` from its rule's entry here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from schemas.findings import ERROR, WARNING, Finding, one_line

FAMILIES = {
    "structure": "Cells are numbers, blank or x; codes and periods are well formed; counts are whole and not negative; one row per authority and month.",
    "identity": "The authority is on the register, its name matches, the month has ended, and the population is close to the official estimate.",
    "completeness": "Every mandatory indicator is provided, and every derived figure has its components.",
    "consistency": "Rates and percentages equal their recomputed value at the reported precision; parts never exceed their whole; rolling sums agree with history.",
    "plausibility": "Values lie within what English authorities have published.",
    "continuity": "Month-on-month movement is within what the authority's own history makes likely.",
}


@dataclass(frozen=True)
class Rule:
    id: str
    family: str
    severity: str
    summary: str
    formula: str
    message: str  # str.format template over the finding's fields
    expected: str | None = None
    example: str | None = None


_RULE_LIST = [
    # structure
    Rule(
        "file_unreadable",
        "structure",
        ERROR,
        "The file can be opened as a CSV or XLSX return.",
        "container is UTF-8 CSV or XLSX",
        "{message}",
    ),
    Rule(
        "ragged_row",
        "structure",
        ERROR,
        "Every row has as many cells as the header.",
        "len(row) == len(header)",
        "{message}",
    ),
    Rule(
        "no_data_rows",
        "structure",
        ERROR,
        "A file holds at least one return under its header.",
        "rows after the header > 0",
        "{message}",
    ),
    Rule(
        "schema",
        "structure",
        ERROR,
        "The file's columns can be read with the types the standard gives them.",
        "pandera column types",
        "{message}",
    ),
    Rule(
        "missing_required_column",
        "structure",
        ERROR,
        "la_code, period and population_0_17 are present.",
        "column in header",
        "required column '{column}' is missing",
    ),
    Rule("duplicate_column", "structure", ERROR, "A column appears once.", "header names unique", "{message}"),
    Rule(
        "unknown_column",
        "structure",
        WARNING,
        "Columns not in the standard are reported, not read.",
        "column in catalogue",
        "{message}",
    ),
    Rule(
        "invalid_value",
        "structure",
        ERROR,
        "A cell is a number, blank or x; `N/A`, `-`, `..` and the like are not allowed.",
        "cell matches number | blank | x",
        "'{value}' is not allowed: a cell is a number, blank (not provided) or x (not available)",
        "a number, blank or x",
        "`N/A` in cla",
    ),
    Rule(
        "la_code_missing", "structure", ERROR, "Every row names its authority.", "la_code not blank", "la_code is blank"
    ),
    Rule(
        "la_code_format",
        "structure",
        ERROR,
        "la_code is an ONS code of an upper-tier authority.",
        "la_code ~ E(06|08|09|10)nnnnnn",
        "la_code '{value}' is not an ONS upper-tier authority code such as E06000009",
        "E06000009",
    ),
    Rule("period_missing", "structure", ERROR, "Every row names its month.", "period not blank", "period is blank"),
    Rule(
        "period_format",
        "structure",
        ERROR,
        "period is a month written YYYY-MM.",
        "period ~ YYYY-MM",
        "period '{value}' is not a month written YYYY-MM",
        "YYYY-MM",
        "`Dec-17`",
    ),
    Rule(
        "population_missing",
        "structure",
        ERROR,
        "population_0_17 is given.",
        "population_0_17 not blank",
        "population_0_17 is blank: every rate is built on it",
    ),
    Rule(
        "population_not_positive",
        "structure",
        ERROR,
        "population_0_17 is above zero.",
        "population_0_17 > 0",
        "population_0_17 is {value}: it must be above zero",
        "> 0",
    ),
    Rule(
        "negative_count",
        "structure",
        ERROR,
        "A count is never negative.",
        "count >= 0",
        "{column} is {value}: a count cannot be negative",
        ">= 0",
        "cla = -5",
    ),
    Rule(
        "not_whole_number",
        "structure",
        ERROR,
        "A count is a whole number.",
        "count % 1 == 0",
        "{column} is {value}: a count is a whole number",
        "a whole number",
        "contacts = 447.5",
    ),
    Rule(
        "percent_out_of_range",
        "structure",
        ERROR,
        "A percentage lies between 0 and 100.",
        "0 <= percent <= 100",
        "{column} is {value}: a percentage lies between 0 and 100",
        "0 to 100",
        "re_referral_percent = 145",
    ),
    Rule(
        "rate_impossible",
        "structure",
        ERROR,
        "A rate per 10,000 children lies between 0 and 10,000.",
        "0 <= rate <= 10000",
        "{column} is {value}: a rate per 10,000 children cannot exceed 10,000",
        "0 to 10,000",
        "cla_rate_per_10k = 18940 (per 1,000,000)",
    ),
    Rule(
        "duplicate_return",
        "structure",
        ERROR,
        "A file holds one row per authority and month.",
        "unique (la_code, period) within a file",
        "this authority and month appear more than once in the file",
    ),
    # structure: what the reader says about councils' own files (pipelines/ingest/)
    Rule(
        "limit_exceeded",
        "structure",
        ERROR,
        "A file is within the reader's limits (size, uncompressed size, rows, columns, cell length; docs/standard.md).",
        "size, rows, columns, cell length <= limits",
        "{message}",
    ),
    Rule(
        "formula_without_value",
        "structure",
        ERROR,
        "A workbook cell holding a formula also holds its value, as Excel saves it.",
        "formula cell has a cached value",
        "{column} is the formula '{value}' saved without its value: open and save the file in Excel, or type the figure",
        "a figure",
    ),
    Rule(
        "encoding_guessed",
        "structure",
        WARNING,
        "A CSV is UTF-8; one that is not is read as Windows-1252 (Excel's plain 'CSV') and said so.",
        "bytes decode as UTF-8",
        "{message}",
    ),
    Rule(
        "wide_authority_missing",
        "structure",
        ERROR,
        "A wide sheet names its authority (a title cell 'la_code: E06000009' or a row 'la_code | E06000009').",
        "la_code given above or beside the figures",
        "{message}",
    ),
    Rule(
        "wide_column_ignored",
        "structure",
        WARNING,
        "A wide sheet's columns that are not months (Target, England, YTD, Notes) are reported once and not read.",
        "header cell is a month",
        "{message}",
    ),
    Rule(
        "wide_unknown_label",
        "structure",
        WARNING,
        "A wide sheet's row with figures is labelled with a catalogue column, its label, or a label in the row-label mapping.",
        "row label in catalogue or reference/row_labels.csv",
        "{message}",
    ),
    # identity
    Rule(
        "unknown_authority",
        "identity",
        ERROR,
        "la_code is on the register of upper-tier authorities.",
        "la_code in register",
        "la_code '{value}' is not on the register of English upper-tier authorities",
        "a registered la_code",
        "E06099999",
    ),
    Rule(
        "la_name_mismatch",
        "identity",
        ERROR,
        "la_name, when given, matches the register for that code.",
        "la_name == register.la_name",
        "la_name '{value}' does not match the register's '{expected}' for this code",
    ),
    Rule(
        "period_in_future",
        "identity",
        ERROR,
        "The month has ended.",
        "period <= last completed month",
        "period {value} has not ended yet",
        "a completed month",
    ),
    Rule(
        "population_differs",
        "identity",
        WARNING,
        "population_0_17 is within 2% of the official ONS estimate for the authority and year.",
        "|population - official| <= 2% x official",
        "population_0_17 is {value} but the official estimate is {expected} ({detail})",
    ),
    Rule(
        "population_implausible",
        "identity",
        ERROR,
        "population_0_17 is within 50% of the official ONS estimate: beyond that it is a typing or unit mistake.",
        "|population - official| <= 50% x official",
        "population_0_17 is {value} but the official estimate is {expected} ({detail})",
        None,
        "population ten times too large",
    ),
    # completeness
    Rule(
        "mandatory_missing",
        "completeness",
        ERROR,
        "Every mandatory indicator (configuration; default cin, cp_plans, cla) is provided.",
        "mandatory cell not blank and column present",
        "{column} is mandatory but {detail}",
    ),
    Rule(
        "mandatory_not_available",
        "completeness",
        WARNING,
        "A mandatory indicator reported as x (not available) is a query.",
        "mandatory cell != x",
        "{column} is mandatory but reported as x (not available)",
    ),
    Rule(
        "derived_without_components",
        "completeness",
        ERROR,
        "A derived figure comes with its numerator and denominator in the same row.",
        "numerator and denominator given",
        "{column} is {value} but {detail} not given, so it cannot be checked",
    ),
    # consistency
    Rule(
        "derived_inconsistent",
        "consistency",
        ERROR,
        "A rate or percentage equals its recomputed value rounded to the precision reported.",
        "|reported - numerator / denominator x multiplier| <= 0.5 x 10^-decimals",
        "{column} is {value} but {detail}",
        None,
        "cla_rate_per_10k is 125 but 537 / 28,354 x 10,000 = 189.4",
    ),
    Rule(
        "derived_undefined",
        "consistency",
        WARNING,
        "A rate or percentage over a zero denominator cannot be computed.",
        "denominator > 0",
        "{column} is {value} but {detail} is 0, so it cannot be computed",
    ),
    Rule(
        "part_exceeds_whole",
        "consistency",
        ERROR,
        "A part never exceeds its whole.",
        "part <= whole",
        "{column} is {value} but its whole {detail}",
    ),
    Rule(
        "plans_and_looked_after_exceed_cin",
        "consistency",
        WARNING,
        "cp_plans + cla may exceed cin only by the few children on a plan while looked after.",
        "cp_plans + cla <= cin",
        "cp_plans + cla = {value} exceeds cin = {expected}",
    ),
    Rule(
        "referrals_exceed_contacts",
        "consistency",
        WARNING,
        "Every referral starts as a contact.",
        "referrals <= contacts",
        "referrals is {value} but contacts is {expected}",
    ),
    Rule(
        "rolling_sum_mismatch",
        "consistency",
        ERROR,
        "A rolling twelve-month sum agrees with the monthly history held.",
        "x_12m(m) = sum x(m-11..m), or x_12m(m) - x_12m(m-1) = x(m) - x(m-12)",
        "{column} is {value} but {detail}",
    ),
    # plausibility
    Rule(
        "implausible_value",
        "plausibility",
        WARNING,
        "A rate or percentage lies within the band English authorities have published (schemas/plausibility_bands.csv).",
        "band.low <= value <= band.high",
        "{column} is {value}, outside the published range {expected}: check the unit",
    ),
    # continuity
    Rule(
        "flow_outlier",
        "continuity",
        WARNING,
        "A monthly flow stays within 2.5 times (either way) of the median of the authority's previous 12 months held (at least 6 months, and 10 cases apart).",
        "median/2.5 <= flow(m) <= 2.5 x median(flow(m-12..m-1))",
        "{column} is {value}, far from its usual {expected} a month ({detail})",
    ),
    Rule(
        "stock_jump",
        "continuity",
        WARNING,
        "A stock moves by no more than 20% (and 10 children) month on month.",
        "|stock(m) - stock(m-1)| <= max(20% x stock(m-1), 10)",
        "{column} moved from {expected} to {value} in a month",
    ),
]
RULES: dict[str, Rule] = {rule.id: rule for rule in _RULE_LIST}
FAMILY_OF_RULE = {rule.id: rule.family for rule in _RULE_LIST}
FLOW_OUTLIER_FACTOR = 2.5  # a monthly flow beyond 2.5x, or below 1/2.5, of its own recent median
FLOW_OUTLIER_MIN_MONTHS = 6
# The furthest back a history rule reads (x(m-12) in a rolling sum, twelve months of flows): a
# month's figures can change the findings of the HISTORY_MONTHS months after it.
HISTORY_MONTHS = 12
FLOW_OUTLIER_MIN_DIFFERENCE = 10
STOCK_JUMP_SHARE = 0.20
STOCK_JUMP_MIN = 10
POPULATION_WARNING_SHARE = 0.02
POPULATION_ERROR_SHARE = 0.50
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


def new_finding(
    rule_id: str,
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
    """A finding of `rule_id`, its message built from the rule's template.

    A template of `{message}` (the reader's file-level findings) takes the text given as `message`.
    """
    rule = RULES[rule_id]
    value_text, expected_text = describe_value(value), describe_value(expected)
    return Finding(
        rule=rule_id,
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


def make_finding(
    rule_id: str, row: pd.Series, column: str | None, value: object = None, expected: object = None, detail: str = ""
) -> Finding:
    """A finding on one row of a parsed return (its file, row number, authority and month, and
    the cell of `column` when the reader knows it)."""

    def text(key: str) -> str | None:
        return None if pd.isna(row.get(key)) else str(row.get(key))

    locate = row.get(LOCATOR_COLUMN)
    return new_finding(
        rule_id,
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


def in_row_order(index: pd.Index, labelled: list[tuple[object, Finding]]) -> list[Finding]:
    """The findings of `labelled` ((row label, finding) pairs) in the order of their rows in `index`,
    findings of one row in the order given; looks up only the labels given (a million rows' labels
    would be a dict of a hundred MB)."""
    if not labelled:
        return []
    if index.is_unique:
        where = index.get_indexer([label for label, _ in labelled])
    else:
        positions = {label: position for position, label in enumerate(index)}
        where = [positions[label] for label, _ in labelled]
    return [labelled[i][1] for i in sorted(range(len(labelled)), key=lambda i: where[i])]


def make_findings(
    rule_id: str,
    rows: pd.DataFrame,
    column: str | None,
    value: object = None,
    expected: object = None,
    detail: object = "",
) -> list[Finding]:
    """`make_finding` for every row of `rows` (already the failing rows, selected by a column
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
        new_finding(
            rule_id,
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
