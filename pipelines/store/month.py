"""A month in the warehouse: its validation (returns and findings) and its accepted figures.

Every write replaces the whole month in one transaction; the reads hand the next stage plain tables.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import duckdb
import pandas as pd

from pipelines.home import DataHome
from pipelines.home.durable import crash_point
from pipelines.store.lake import write_lake_month
from pipelines.store.validations import ValidationBasis, record_basis
from pipelines.store.warehouse import connect, periods_stored_differently, replace_rows, transaction
from pipelines.validate.month import ACCEPTED, HELD_BACK, MonthValidation
from schemas.catalogue import numeric_columns
from schemas.findings import FINDING_COLUMNS, findings_frame
from schemas.rules import HISTORY_RULES

_STORED_FINDING_COLUMNS = [*FINDING_COLUMNS, "family", "waived", "waiver_reason"]


def store_accepted(home: DataHome, month: str) -> pd.DataFrame:
    """Copy the month's accepted returns into `indicator_values` and the Parquet lake."""
    with connect(home) as connection:
        accepted = connection.execute(
            f"SELECT la_code, period, sha256, {', '.join(numeric_columns())} FROM returns "
            "WHERE period = ? AND status = ? ORDER BY la_code",
            [month, ACCEPTED],
        ).df()
        accepted.insert(2, "period_start", pd.to_datetime(accepted["period"] + "-01").dt.date)
        with transaction(connection):
            replace_rows(connection, "indicator_values", accepted, "period = ?", [month])
    write_lake_month(home, month, accepted.drop(columns=["period_start"]))
    return accepted


def store_validations(
    connection: duckdb.DuckDBPyConnection,
    validations: Sequence[MonthValidation],
    bases: Sequence[ValidationBasis] = (),
    derived: pd.DataFrame | None = None,
) -> None:
    """Months' findings and the status of each return, replacing those months', in one transaction,
    with what each validation depended on (`bases`, for the publication guard) and the returns
    derived from child-level workbooks (`derived`, table derived_returns)."""
    months = [v.month for v in validations]
    findings = [v.findings for v in validations if not v.findings.empty]
    returns = [v.returns for v in validations if not v.returns.empty]
    with transaction(connection):
        replace_rows(
            connection,
            "findings",
            pd.concat(findings, ignore_index=True) if findings else pd.DataFrame(),
            "list_contains(?, period)",
            [months],
        )
        crash_point("storing")  # test hook: killed inside the transaction, nothing of it stays
        replace_rows(
            connection,
            "returns",
            pd.concat(returns, ignore_index=True) if returns else pd.DataFrame(),
            "list_contains(?, period)",
            [months],
        )
        for basis in bases:
            record_basis(connection, basis)
        if derived is not None:
            replace_rows(connection, "derived_returns", derived, "list_contains(?, period)", [months])


def months_history_findings_differ(
    connection: duckdb.DuckDBPyConnection, months: Sequence[str], found: pd.DataFrame
) -> set[str]:
    """The months of `months` whose stored findings of the history rules are not `found` (a findings
    table as `store_validations` stores it), cell by cell."""
    return periods_stored_differently(
        connection, "findings", found, months, "list_contains($rules, rule)", {"rules": sorted(HISTORY_RULES)}
    )


def store_accepted_months(home: DataHome, months: Sequence[str]) -> pd.DataFrame:
    """`store_accepted` for several months in one transaction; the lake keeps one file per month."""
    with connect(home) as connection:
        accepted = connection.execute(
            f"SELECT la_code, period, sha256, {', '.join(numeric_columns())} FROM returns "
            "WHERE list_contains(?, period) AND status = ? ORDER BY period, la_code",
            [list(months), ACCEPTED],
        ).df()
        accepted.insert(2, "period_start", pd.to_datetime(accepted["period"] + "-01").dt.date)
        with transaction(connection):
            replace_rows(connection, "indicator_values", accepted, "list_contains(?, period)", [list(months)])
    by_month = dict(tuple(accepted.drop(columns=["period_start"]).groupby("period", sort=False)))
    for month in months:
        write_lake_month(home, month, by_month.get(month, accepted.iloc[0:0].drop(columns=["period_start"])))
    return accepted


def accepted_history(
    connection: duckdb.DuckDBPyConnection, except_month: str | None = None, months: Sequence[str] | None = None
) -> pd.DataFrame:
    """Accepted monthly figures (la_code, period, indicators): of every month but `except_month` (the
    month being validated afresh: the history rolling sums and continuity rules read), or of `months`."""
    query = "SELECT * EXCLUDE (period_start, sha256) FROM indicator_values WHERE true"
    params: list = []
    if except_month:
        query += " AND period <> ?"
        params.append(except_month)
    if months is not None:
        query += " AND list_contains(?, period)"
        params.append(list(months))
    return connection.execute(query, params).df()


def accepted_values(connection: duckdb.DuckDBPyConnection, month: str) -> pd.DataFrame:
    """The month's stored figures by authority, with the sha256 of the file each comes from."""
    return connection.execute(
        "SELECT * EXCLUDE (period_start) FROM indicator_values WHERE period = ? ORDER BY la_code", [month]
    ).df()


def accepted_sources(connection: duckdb.DuckDBPyConnection, months: Sequence[str]) -> pd.DataFrame:
    """(period, la_code, sha256) of every stored authority-month of `months`: which file each comes from."""
    return connection.execute(
        "SELECT period, la_code, sha256 FROM indicator_values WHERE list_contains(?, period) ORDER BY period, la_code",
        [list(months)],
    ).df()


def accepted_values_by_month(connection: duckdb.DuckDBPyConnection, months: Sequence[str]) -> dict[str, pd.DataFrame]:
    """`accepted_values` of each of `months` in one query (a month with none: an empty frame)."""
    stored = connection.execute(
        "SELECT * EXCLUDE (period_start) FROM indicator_values WHERE list_contains(?, period) ORDER BY period, la_code",
        [list(months)],
    ).df()
    by_month = {str(month): part.reset_index(drop=True) for month, part in stored.groupby("period", sort=False)}
    return {month: by_month.get(month, stored.iloc[0:0]) for month in months}


def sums_disagreeing_with_their_months(connection: duckdb.DuckDBPyConnection, rolling: dict[str, str]) -> pd.DataFrame:
    """(la_code, period, column) of each twelve-month sum an authority returned that differs from the
    sum of its twelve accepted months as stored now: returned before one of them was resubmitted.

    `rolling` maps each twelve-month column to the monthly flow it sums. Sums whose window is not
    all accepted are not listed (their window holds months unknown here).
    """
    selects = [
        f"""SELECT s.la_code, s.period, '{column}' AS "column" FROM indicator_values s
        JOIN indicator_values m ON m.la_code = s.la_code
         AND m.period_start BETWEEN s.period_start - INTERVAL 11 MONTH AND s.period_start
        WHERE s."{column}" IS NOT NULL GROUP BY s.la_code, s.period, s."{column}"
        HAVING count(m."{flow}") = 12 AND round(sum(m."{flow}")) <> round(s."{column}")"""
        for column, flow in rolling.items()
        if column in numeric_columns() and flow in numeric_columns()
    ]
    if not selects:
        return pd.DataFrame(columns=["la_code", "period", "column"])
    return connection.execute(" UNION ALL ".join(selects) + " ORDER BY 2, 1, 3").df()


def accepted_since(connection: duckdb.DuckDBPyConnection, month: str):
    """When the latest file behind the month's stored figures arrived (None when there are none)."""
    return accepted_since_by_month(connection, [month])[month]


def accepted_since_by_month(connection: duckdb.DuckDBPyConnection, months: Sequence[str]) -> dict:
    """`accepted_since` of each of `months`, in one query."""
    arrived = dict(
        connection.execute(
            "SELECT v.period, max(f.received_at) FROM received_files f "
            "JOIN indicator_values v ON v.sha256 = f.sha256 WHERE list_contains(?, v.period) GROUP BY v.period",
            [list(months)],
        ).fetchall()
    )
    return {month: arrived.get(month) for month in months}


def month_returns(connection: duckdb.DuckDBPyConnection, months: Sequence[str]) -> pd.DataFrame:
    """The status of every return of `months` (la_code, period, status, errors, warnings, file, row, sha256)."""
    return connection.execute(
        'SELECT la_code, period, status, errors, warnings, file, "row", sha256 FROM returns '
        "WHERE list_contains(?, period) ORDER BY period, la_code",
        [list(months)],
    ).df()


def held_back_by_month(
    connection: duckdb.DuckDBPyConnection, months: Sequence[str], registered: Collection[str]
) -> dict[str, list[str]]:
    """The authorities whose return of each of `months` is held back, in one query: by their
    register code, or, for a code the register does not hold (text a submitter wrote, which is
    published nowhere), as `unknown code in archived file <sha256 prefix> row R`."""
    held: dict[str, list[str]] = {month: [] for month in months}
    for month, code, sha256, row in connection.execute(
        'SELECT period, la_code, sha256, "row" FROM returns WHERE list_contains(?, period) AND status = ? '
        'ORDER BY period, la_code, sha256, "row"',
        [list(months), HELD_BACK],
    ).fetchall():
        held[month].append(code if code in registered else f"unknown code in archived file {sha256[:12]} row {row}")
    return held


def month_findings(
    connection: duckdb.DuckDBPyConnection, months: Sequence[str], severity: str | None = None
) -> pd.DataFrame:
    """The stored findings of `months` (of one `severity`, if given), by authority, file, row and column."""
    columns = ", ".join(f'"{c}"' for c in _STORED_FINDING_COLUMNS)
    frame = connection.execute(
        f"SELECT {columns} FROM findings WHERE list_contains(?, period) AND (? IS NULL OR severity = ?) "
        'ORDER BY period, la_code, file, "row", "column", rule',
        [list(months), severity, severity],
    ).df()
    return frame if not frame.empty else findings_frame().assign(family=None, waived=None, waiver_reason=None)


def stored_findings(home: DataHome, month: str) -> pd.DataFrame:
    with connect(home, read_only=True) as connection:  # the run's live warehouse, else the readers' snapshot
        return month_findings(connection, [month])


def findings_matching(
    connection: duckdb.DuckDBPyConnection, rule: str, la_code: str, period: str, column: str | None
) -> pd.DataFrame:
    """The stored findings of one rule on one authority-month and column (None: no column)."""
    return connection.execute(
        """SELECT * FROM findings WHERE rule = ? AND la_code = ? AND period = ? AND "column" IS NOT DISTINCT FROM ?""",
        [rule, la_code, period, column],
    ).df()


def derived_months(connection: duckdb.DuckDBPyConnection, months: Sequence[str]) -> pd.DataFrame:
    """The returns derived from child-level workbooks for `months`, stored with their validation."""
    return connection.execute(
        'SELECT * FROM derived_returns WHERE list_contains(?, period) ORDER BY period, la_code, extract_date, "current"',
        [list(months)],
    ).df()
