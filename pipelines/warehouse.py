"""DuckDB warehouse and Parquet lake. Every write replaces a whole month, so re-runs never duplicate.

Connections are short-lived: DuckDB lets one process hold a read-write connection, and a
long-held one would lock stewards and other runs out (docs/architecture.md).
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

import duckdb
import pandas as pd

from pipelines.home import DataHome
from schemas.catalogue import numeric_columns
from schemas.findings import FINDING_COLUMNS, findings_frame


def _figure_columns_sql() -> str:
    return ", ".join(f"{c} DOUBLE" for c in numeric_columns())


def _schema_sql() -> list[str]:
    figures = _figure_columns_sql()
    return [
        "CREATE SEQUENCE IF NOT EXISTS arrival_seq START 1",
        # One row per file version: the same bytes under another extension read differently.
        """CREATE TABLE IF NOT EXISTS received_files (
            sha256 VARCHAR NOT NULL, file_name VARCHAR NOT NULL, suffix VARCHAR NOT NULL,
            size BIGINT NOT NULL, arrival BIGINT NOT NULL, received_at TIMESTAMP NOT NULL,
            periods VARCHAR[] NOT NULL, readable BOOLEAN NOT NULL, PRIMARY KEY (sha256, suffix))""",
        # What each landing-folder name held when last seen: new content under a name is an arrival.
        """CREATE TABLE IF NOT EXISTS landing_seen (
            file_name VARCHAR PRIMARY KEY, sha256 VARCHAR NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS findings (
            rule VARCHAR, severity VARCHAR, la_code VARCHAR, period VARCHAR, "column" VARCHAR,
            value VARCHAR, expected VARCHAR, message VARCHAR, file VARCHAR, "row" BIGINT,
            sha256 VARCHAR, family VARCHAR, waived BOOLEAN DEFAULT FALSE, waiver_reason VARCHAR, waiver_id BIGINT)""",
        f"""CREATE TABLE IF NOT EXISTS returns (
            la_code VARCHAR NOT NULL, la_name VARCHAR, period VARCHAR NOT NULL, sha256 VARCHAR NOT NULL,
            file VARCHAR NOT NULL, "row" BIGINT NOT NULL, arrival BIGINT NOT NULL, status VARCHAR NOT NULL,
            errors BIGINT NOT NULL, warnings BIGINT NOT NULL, {figures}, cells JSON,
            PRIMARY KEY (la_code, period))""",
        f"""CREATE TABLE IF NOT EXISTS indicator_values (
            la_code VARCHAR NOT NULL, period VARCHAR NOT NULL, period_start DATE NOT NULL, sha256 VARCHAR NOT NULL,
            {figures}, PRIMARY KEY (la_code, period))""",
    ]


@contextlib.contextmanager
def connect(home: DataHome, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    if read_only and not home.warehouse.exists():
        raise FileNotFoundError(home.warehouse)
    home.root.mkdir(parents=True, exist_ok=True)
    connection = duckdb.connect(str(home.warehouse), read_only=read_only)
    try:
        # A misspelt table name must fail, not silently scan a pandas frame of that name.
        connection.execute("SET python_enable_replacements = false")
        if not read_only:
            for statement in _schema_sql():
                connection.execute(statement)
        yield connection
    finally:
        connection.close()


def replace_rows(connection: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame, where: str,
                 params: list) -> None:
    """Delete what `where` selects and insert `frame`, in one transaction: a re-run replaces, never adds."""
    connection.execute("BEGIN TRANSACTION")
    try:
        connection.execute(f"DELETE FROM {table} WHERE {where}", params)
        if not frame.empty:
            connection.register("incoming_rows", frame)
            columns = ", ".join(f'"{c}"' for c in frame.columns)
            connection.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM incoming_rows")
            connection.unregister("incoming_rows")
        connection.execute("COMMIT")
    except Exception:
        connection.execute("ROLLBACK")
        raise


def month_findings(connection: duckdb.DuckDBPyConnection, month: str) -> pd.DataFrame:
    frame = connection.execute(
        f'SELECT {", ".join(chr(34) + c + chr(34) for c in FINDING_COLUMNS)}, family, waived, waiver_reason '
        'FROM findings WHERE period = ? ORDER BY la_code, file, "row", "column", rule', [month]).df()
    return frame if not frame.empty else findings_frame().assign(family=None, waived=None, waiver_reason=None)


def accepted_history(connection: duckdb.DuckDBPyConnection, except_month: str | None = None) -> pd.DataFrame:
    """Accepted monthly figures (the history rolling sums and continuity rules read), but for
    `except_month`, the month being validated afresh."""
    query = "SELECT * EXCLUDE (period_start, sha256) FROM indicator_values"
    params: list = []
    if except_month:
        query += " WHERE period <> ?"
        params.append(except_month)
    return connection.execute(query, params).df()


def write_lake_month(home: DataHome, month: str, frame: pd.DataFrame) -> None:
    """Parquet, hive-partitioned by period; one file per month replaced whole (never the folder)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = home.lake / "indicator_values" / f"period={month}"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "part-0.parquet"
    if frame.empty:
        target.unlink(missing_ok=True)
        return
    temporary = folder / ".part-0.parquet.tmp"
    pq.write_table(pa.Table.from_pandas(frame.drop(columns=["period"]), preserve_index=False), temporary)
    temporary.replace(target)
