"""The DuckDB warehouse: its schema, short-lived connections and transactions.

Connections are short-lived: DuckDB lets one process hold a read-write connection, and a
long-held one would lock stewards and other runs out (docs/architecture.md). Every write
replaces what it selects inside one transaction, so re-runs never duplicate.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

import duckdb
import pandas as pd

from pipelines.home import DataHome
from schemas.catalogue import numeric_columns


def _schema_sql() -> list[str]:
    figures = ", ".join(f"{c} DOUBLE" for c in numeric_columns())
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
            value VARCHAR, expected VARCHAR, message VARCHAR, file VARCHAR, "row" BIGINT, cell VARCHAR,
            sha256 VARCHAR, family VARCHAR, waived BOOLEAN DEFAULT FALSE, waiver_reason VARCHAR, waiver_id BIGINT)""",
        f"""CREATE TABLE IF NOT EXISTS returns (
            la_code VARCHAR NOT NULL, la_name VARCHAR, period VARCHAR NOT NULL, sha256 VARCHAR NOT NULL,
            file VARCHAR NOT NULL, "row" BIGINT NOT NULL, arrival BIGINT NOT NULL, status VARCHAR NOT NULL,
            errors BIGINT NOT NULL, warnings BIGINT NOT NULL, {figures}, cells JSON,
            PRIMARY KEY (la_code, period))""",
        f"""CREATE TABLE IF NOT EXISTS indicator_values (
            la_code VARCHAR NOT NULL, period VARCHAR NOT NULL, period_start DATE NOT NULL, sha256 VARCHAR NOT NULL,
            {figures}, PRIMARY KEY (la_code, period))""",
        # Columns added after a warehouse was first built (figure columns: migrate_figure_columns).
        "ALTER TABLE findings ADD COLUMN IF NOT EXISTS cell VARCHAR",
        "CREATE SEQUENCE IF NOT EXISTS waiver_seq START 1",
        # Waivers are never deleted: a revoked waiver keeps its record and stops applying.
        """CREATE TABLE IF NOT EXISTS waivers (
            waiver_id BIGINT PRIMARY KEY DEFAULT nextval('waiver_seq'),
            rule VARCHAR NOT NULL, la_code VARCHAR NOT NULL, period VARCHAR NOT NULL, "column" VARCHAR,
            value VARCHAR, expected VARCHAR, sha256 VARCHAR NOT NULL,
            reason VARCHAR NOT NULL, who VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL,
            revoked_at TIMESTAMP, revoked_by VARCHAR)""",
    ]


# The tables holding one DOUBLE column per figure of the catalogue.
FIGURE_TABLES = ("returns", "indicator_values")


def migrate_figure_columns(connection: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """Give the figure tables a column for each figure the catalogue gained since they were built.

    A column the catalogue dropped stays (its history is kept; nothing reads it). Each addition
    is recorded in `schema_changes`. Returns the (table, column) pairs added.
    """
    existing = set(connection.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND list_contains(?, table_name)", [list(FIGURE_TABLES)]).fetchall())
    missing = [(table, column) for table in FIGURE_TABLES for column in numeric_columns()
               if (table, column) not in existing]
    if not missing:
        return []
    connection.execute("""CREATE TABLE IF NOT EXISTS schema_changes (
        changed_at TIMESTAMP NOT NULL, "table" VARCHAR NOT NULL, "column" VARCHAR NOT NULL, change VARCHAR NOT NULL)""")
    with transaction(connection):
        for table, column in missing:
            connection.execute(f'ALTER TABLE {table} ADD COLUMN IF NOT EXISTS "{column}" DOUBLE')
            connection.execute("INSERT INTO schema_changes VALUES (now(), ?, ?, 'added from the catalogue')",
                               [table, column])
    return missing


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
            migrate_figure_columns(connection)
        yield connection
    finally:
        connection.close()


@contextlib.contextmanager
def transaction(connection: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All of the writes inside, or none of them."""
    connection.execute("BEGIN TRANSACTION")
    try:
        yield connection
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def replace_rows(connection: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame, where: str,
                 params: list) -> None:
    """Delete what `where` selects and insert `frame`: a re-run replaces, never adds.

    Call it inside `transaction`, with the other writes that belong with it.
    """
    connection.execute(f"DELETE FROM {table} WHERE {where}", params)
    if not frame.empty:
        connection.register("incoming_rows", frame)
        try:
            columns = ", ".join(f'"{c}"' for c in frame.columns)
            connection.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM incoming_rows")
        finally:
            connection.unregister("incoming_rows")


def replace_table(connection: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    """Replace a table built whole from `frame` (its columns are the frame's); inside `transaction`."""
    connection.register("incoming_table", frame)
    try:
        connection.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM incoming_table")
    finally:
        connection.unregister("incoming_table")
