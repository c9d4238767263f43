"""The DuckDB warehouse: its schema, short-lived connections and transactions.

Connections are short-lived: DuckDB lets one process hold a read-write connection, and a
long-held one would lock stewards and other runs out (docs/architecture.md). Every write
holds the home's writer lock and replaces what it selects inside one transaction, so re-runs
never duplicate; readers outside the writer read a snapshot the writer refreshes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from pipelines.home import DataHome
from pipelines.home.durable import temporary_beside, write_durably_with
from pipelines.home.lock import POLL_SECONDS, WriterLockTimeout, holds_writer_lock, writer_lock
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
        # Why a waiver was revoked: every waiver change keeps who, when and why.
        "ALTER TABLE waivers ADD COLUMN IF NOT EXISTS revoked_reason VARCHAR",
        # The Dagster run that granted or revoked a waiver from the UI (NULL from the command line).
        "ALTER TABLE waivers ADD COLUMN IF NOT EXISTS granted_in_run VARCHAR",
        "ALTER TABLE waivers ADD COLUMN IF NOT EXISTS revoked_in_run VARCHAR",
        # What each month's validation depended on (store/validations.py): the publication guard compares.
        """CREATE TABLE IF NOT EXISTS validations (
            period VARCHAR PRIMARY KEY, validated_at TIMESTAMP NOT NULL, arrival BIGINT NOT NULL,
            waivers JSON NOT NULL, reference JSON NOT NULL)""",
        # What each release disclosed, privately (store/disclosed.py), cell by cell; a release is
        # named by the sha256 of what it disclosed, so recording it again adds nothing.
        """CREATE TABLE IF NOT EXISTS disclosed_figures (
            period VARCHAR NOT NULL, release VARCHAR NOT NULL, geography VARCHAR NOT NULL,
            indicator VARCHAR NOT NULL, figure BIGINT NOT NULL, published BOOLEAN NOT NULL,
            recorded_at TIMESTAMP NOT NULL, PRIMARY KEY (period, release, geography, indicator))""",
        # What each release reported of the attacker's audit (`audit.Audit.summary`: no figure), so that
        # a release published again unchanged reports it again (publish/across_releases.py).
        """CREATE TABLE IF NOT EXISTS disclosed_audits (
            period VARCHAR NOT NULL, release VARCHAR NOT NULL, summary JSON NOT NULL,
            recorded_at TIMESTAMP NOT NULL, PRIMARY KEY (period, release))""",
        # The only deletion the project makes: archived child-level workbooks past the home's
        # retention (steps/retention.py), one row per file, recorded before the file goes; never contents.
        """CREATE TABLE IF NOT EXISTS child_level_purges (
            sha256 VARCHAR NOT NULL, suffix VARCHAR NOT NULL, file_name VARCHAR NOT NULL, size BIGINT NOT NULL,
            received_at TIMESTAMP NOT NULL, purged_at TIMESTAMP NOT NULL, who VARCHAR NOT NULL,
            retention_days BIGINT NOT NULL, PRIMARY KEY (sha256, suffix))""",
        # The return derived from each child-level workbook of a month, current or not (aggregates:
        # no child-level row), replaced with the month's validation (store/month.store_validations).
        f"""CREATE TABLE IF NOT EXISTS derived_returns (
            la_code VARCHAR NOT NULL, period VARCHAR NOT NULL, extract_date VARCHAR, sha256 VARCHAR NOT NULL,
            file VARCHAR NOT NULL, "current" BOOLEAN NOT NULL, {", ".join(f"{c} DOUBLE" for c in _derived_counts())})""",
        # Who asked for the child behind a pseudonym, when and why (never the ID): steps/retention.py.
        """CREATE TABLE IF NOT EXISTS child_lookups (
            asked_at TIMESTAMP NOT NULL, who VARCHAR NOT NULL, os_user VARCHAR NOT NULL, reason VARCHAR NOT NULL,
            pseudonym VARCHAR NOT NULL, found BOOLEAN NOT NULL)""",
    ]


def _derived_counts() -> list[str]:
    from pipelines.derive.months import FIGURES

    return FIGURES


# The tables holding one DOUBLE column per figure of the catalogue.
FIGURE_TABLES = ("returns", "indicator_values")


def migrate_figure_columns(connection: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """Give the figure tables a column for each figure the catalogue gained since they were built.

    A column the catalogue dropped stays (its history is kept; nothing reads it). Each addition
    is recorded in `schema_changes`. Returns the (table, column) pairs added.
    """
    existing = set(
        connection.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND list_contains(?, table_name)",
            [list(FIGURE_TABLES)],
        ).fetchall()
    )
    missing = [
        (table, column) for table in FIGURE_TABLES for column in numeric_columns() if (table, column) not in existing
    ]
    if not missing:
        return []
    connection.execute("""CREATE TABLE IF NOT EXISTS schema_changes (
        changed_at TIMESTAMP NOT NULL, "table" VARCHAR NOT NULL, "column" VARCHAR NOT NULL, change VARCHAR NOT NULL)""")
    with transaction(connection):
        for table, column in missing:
            connection.execute(f'ALTER TABLE {table} ADD COLUMN IF NOT EXISTS "{column}" DOUBLE')
            connection.execute(
                "INSERT INTO schema_changes VALUES (now(), ?, ?, 'added from the catalogue')", [table, column]
            )
    return missing


@contextlib.contextmanager
def connect(home: DataHome, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived connection to the home's warehouse.

    Writing (the default) holds the home's writer lock (`pipelines/home/lock.py`, re-entrant: a run
    that already holds it goes straight on) and, when this process's last write connection
    closes, refreshes the readers' snapshot, unless it writes within a writing session (`writing`,
    here or in the process that started this one), which refreshes it once when it ends. Reading
    (`read_only=True`) opens the live warehouse only for the lock's holder; anyone else reads the
    snapshot, so a reader never blocks a writer and is never blocked by one (docs/architecture.md,
    "Readers read a snapshot").
    """
    if read_only and not holds_writer_lock(home):
        with _snapshot_connection(home) as connection:
            yield connection
        return
    if read_only and not home.warehouse.exists():
        raise FileNotFoundError(home.warehouse)
    with contextlib.ExitStack() as stack:
        if not read_only:
            in_session = holds_writer_lock(home)  # its session refreshes the snapshot when it ends
            stack.enter_context(writer_lock(home))
            if not in_session or not home.warehouse_snapshot.exists():  # a first snapshot at once
                stack.enter_context(_refreshing_snapshot(home))
        home.root.mkdir(parents=True, exist_ok=True)
        connection = stack.enter_context(contextlib.closing(duckdb.connect(str(home.warehouse), read_only=read_only)))
        # A misspelt table name must fail, not silently scan a pandas frame of that name.
        connection.execute("SET python_enable_replacements = false")
        if not read_only:
            for statement in _schema_sql():
                connection.execute(statement)
            migrate_figure_columns(connection)
        yield connection


@contextlib.contextmanager
def writing(
    home: DataHome, *, timeout: float | None = None, announce: Callable[[str], None] | None = None
) -> Iterator[None]:
    """A writing session: the home's writer lock held for many writes (a command, a Dagster run),
    and the readers' snapshot refreshed once, when the outermost session ends (here, or in the
    process that started this one), not after each write: a reader sees the warehouse as it was
    before the session or after it, never half way (a run's findings stored, its figures not yet),
    and a session does not copy the warehouse once a step. `WriterLockTimeout` as `writer_lock`."""
    outermost = not holds_writer_lock(home)
    before = _signature(home.warehouse)
    with writer_lock(home, timeout=timeout, announce=announce):
        try:
            yield
        finally:
            if outermost and not _open_writes.get(home.warehouse):
                refresh_snapshot(home, changed=_signature(home.warehouse) != before)


# Write connections open in this process, by warehouse: the snapshot is refreshed when the last closes.
_open_writes: dict[Path, int] = {}


@contextlib.contextmanager
def _refreshing_snapshot(home: DataHome) -> Iterator[None]:
    before = _signature(home.warehouse)
    _open_writes[home.warehouse] = _open_writes.get(home.warehouse, 0) + 1
    try:
        yield
    finally:
        _open_writes[home.warehouse] -= 1
    # Only after a clean close: a failed write rolled back, and the next write refreshes anyway.
    if not _open_writes[home.warehouse]:
        refresh_snapshot(home, changed=_signature(home.warehouse) != before)


def _signature(path: Path) -> tuple[int, int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


def refresh_snapshot(home: DataHome, changed: bool = True) -> None:
    """Copy the closed warehouse to the readers' snapshot, atomically (copy, fsync, rename).

    Call it holding the writer lock with no connection open in this process. Skipped when the
    warehouse is unchanged since the snapshot was taken (the copy keeps its mtime).
    """
    source, target = home.warehouse, home.warehouse_snapshot
    if not source.exists() or Path(f"{source}.wal").exists():  # a WAL means a connection is still open
        return
    before, now = _signature(target), _signature(source)
    if not changed and before is not None and now is not None and before[1:] == now[1:]:
        return
    partial = temporary_beside(target, "partial")
    try:
        shutil.copy2(source, partial)
        with partial.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(partial, target)  # a reader holding the old snapshot keeps reading it
    finally:
        partial.unlink(missing_ok=True)


@contextlib.contextmanager
def _snapshot_connection(home: DataHome) -> Iterator[duckdb.DuckDBPyConnection]:
    if not home.warehouse_snapshot.exists():
        _first_snapshot(home)
    connection = duckdb.connect(str(home.warehouse_snapshot), read_only=True)
    try:
        connection.execute("SET python_enable_replacements = false")
        yield connection
    finally:
        connection.close()


def _first_snapshot(home: DataHome) -> None:
    """A warehouse made before snapshots existed: take one while no writer is busy, or wait for
    the busy writer's first write to make it."""
    while not home.warehouse_snapshot.exists():
        if not home.warehouse.exists():
            raise FileNotFoundError(home.warehouse)
        try:
            with writer_lock(home, timeout=0, announce=lambda line: None):
                refresh_snapshot(home)
            return
        except WriterLockTimeout:
            time.sleep(POLL_SECONDS)


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


def scalar(connection: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> Any:
    """The first value of the first row `sql` gives (None when it gives no row)."""
    row = connection.execute(sql, params or []).fetchone()
    return None if row is None else row[0]


def has_table(connection: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether the warehouse (or a snapshot of an older one) has `table`."""
    return bool(
        scalar(
            connection,
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?",
            [table],
        )
    )


def replace_rows(
    connection: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame, where: str, params: list
) -> None:
    """Delete what `where` selects and insert `frame`: a re-run replaces, never adds.

    Call it inside `transaction`, with the other writes that belong with it.
    """
    connection.execute(f"DELETE FROM {table} WHERE {where}", params)
    insert_rows(connection, table, frame)


def insert_rows(connection: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    """Insert `frame` into `table` by column name (columns it lacks take their defaults)."""
    if frame.empty:
        return
    connection.register("incoming_rows", frame)
    try:
        columns = ", ".join(f'"{c}"' for c in frame.columns)
        connection.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM incoming_rows")
    finally:
        connection.unregister("incoming_rows")


def periods_stored_differently(
    connection: duckdb.DuckDBPyConnection,
    table: str,
    frame: pd.DataFrame,
    months: Sequence[str],
    condition: str = "true",
    parameters: dict[str, Any] | None = None,
) -> set[str]:
    """The months of `months` whose rows in `table` that meet `condition` (SQL over its columns, with
    named `parameters`) differ from those of `frame`, as `replace_rows` would store it: each cell
    compared as stored, NULLs alike, rows as a multiset. Only a temporary table of this connection is
    written."""
    candidate = f"candidate_{table}"
    connection.execute(f"CREATE OR REPLACE TEMP TABLE {candidate} AS SELECT * FROM {table} LIMIT 0")
    try:
        insert_rows(connection, candidate, frame)
        selected = f"list_contains($months, period) AND ({condition})"
        rows = connection.execute(
            f"SELECT DISTINCT period FROM ((SELECT * FROM {candidate} WHERE {selected} EXCEPT ALL "
            f"SELECT * FROM {table} WHERE {selected}) UNION ALL (SELECT * FROM {table} WHERE {selected} "
            f"EXCEPT ALL SELECT * FROM {candidate} WHERE {selected}))",
            {**(parameters or {}), "months": list(months)},
        ).fetchall()
    finally:
        connection.execute(f"DROP TABLE IF EXISTS {candidate}")
    return {period for (period,) in rows}


def export_csv(connection: duckdb.DuckDBPyConnection, query: str, target: Path) -> Path:
    """Write what `query` selects to `target` as CSV with a header (DuckDB's writer: NULL as an empty
    cell, quotes only where needed, as pandas writes it), durably: the old file or the new, never half."""

    def write(temporary: Path) -> None:
        quoted = str(temporary).replace("'", "''")
        connection.execute(f"COPY ({query}) TO '{quoted}' (FORMAT csv, HEADER)")

    target.parent.mkdir(parents=True, exist_ok=True)
    return write_durably_with(target, write)


def replace_table(connection: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    """Replace a table built whole from `frame` (its columns are the frame's); inside `transaction`."""
    connection.register("incoming_table", frame)
    try:
        connection.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM incoming_table")
    finally:
        connection.unregister("incoming_table")
