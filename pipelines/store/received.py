"""The register of received files: every archived version, its arrival and its own findings.

Arrivals are decided in `pipelines.ingest.arrivals`; this module only remembers them.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

import duckdb
import pandas as pd

from pipelines.home.durable import crash_point
from pipelines.ingest.arrivals import LandingMemory, Refusal
from pipelines.store.warehouse import replace_rows, transaction
from schemas.findings import findings_frame
from schemas.rules import FAMILY_OF_RULE, new_finding

REFUSED_RULE = "file_unreadable"


class RecordedVersion(NamedTuple):
    periods: tuple[str, ...]  # the months its rows state
    readable: bool


def landing_memory(connection: duckdb.DuckDBPyConnection) -> LandingMemory[RecordedVersion]:
    held = dict(connection.execute("SELECT file_name, sha256 FROM landing_seen").fetchall())
    versions = {
        (sha256, suffix): RecordedVersion(tuple(periods), readable)
        for sha256, suffix, periods, readable in connection.execute(
            "SELECT sha256, suffix, periods, readable FROM received_files"
        ).fetchall()
    }
    return LandingMemory(held, versions)


def record_sighting(connection: duckdb.DuckDBPyConnection, name: str, sha256: str, suffix: str, arrived: bool) -> None:
    """A version already registered, seen under `name`: an arrival moves it to the end of the order."""
    with transaction(connection):
        connection.execute("INSERT OR REPLACE INTO landing_seen VALUES (?, ?)", [name, sha256])
        if arrived:
            connection.execute(
                "UPDATE received_files SET arrival = nextval('arrival_seq') WHERE sha256 = ? AND suffix = ?",
                [sha256, suffix],
            )


def register_file(
    connection: duckdb.DuckDBPyConnection,
    name: str,
    sha256: str,
    suffix: str,
    size: int,
    version: RecordedVersion,
    findings: pd.DataFrame,
) -> None:
    """A new version, archived: registered as the latest arrival, with its own findings, at once."""
    with transaction(connection):
        connection.execute("INSERT OR REPLACE INTO landing_seen VALUES (?, ?)", [name, sha256])
        connection.execute(
            "INSERT INTO received_files VALUES (?, ?, ?, ?, nextval('arrival_seq'), ?, ?, ?)",
            [
                sha256,
                name,
                suffix,
                size,
                dt.datetime.now(dt.UTC).replace(tzinfo=None),
                list(version.periods),
                version.readable,
            ],
        )
        crash_point("registering")  # test hook: killed inside the transaction, nothing of it stays
        replace_rows(connection, "findings", findings, "sha256 = ? AND file = ? AND period IS NULL", [sha256, name])


def update_version(
    connection: duckdb.DuckDBPyConnection, name: str, sha256: str, version: RecordedVersion, findings: pd.DataFrame
) -> None:
    """A registered version read again (a child-level workbook given its authority and extract date
    since): its months and own findings replaced, its arrival kept."""
    with transaction(connection):
        connection.execute(
            "UPDATE received_files SET periods = ?, readable = ? WHERE sha256 = ? AND file_name = ?",
            [list(version.periods), version.readable, sha256, name],
        )
        replace_rows(connection, "findings", findings, "sha256 = ? AND file = ? AND period IS NULL", [sha256, name])


def month_files(connection: duckdb.DuckDBPyConnection, month: str) -> list[tuple[str, str, int]]:
    """(sha256, file name, arrival) of every version holding rows for `month`, in order of arrival;
    a child-level workbook purged after its retention (steps/retention.py) holds none any more."""
    return connection.execute(
        """SELECT sha256, file_name, arrival FROM received_files AS f WHERE list_contains(periods, ?)
           AND NOT EXISTS (SELECT 1 FROM child_level_purges AS p WHERE p.sha256 = f.sha256 AND p.suffix = f.suffix)
           ORDER BY arrival""",
        [month],
    ).fetchall()


def file_errors(connection: duckdb.DuckDBPyConnection, names: list[str]) -> list[tuple]:
    """(file, row, column, message) of the errors of the named files that no month holds."""
    return connection.execute(
        """SELECT file, "row", "column", message FROM findings
           WHERE period IS NULL AND severity = 'error' AND list_contains(?, file) ORDER BY file, "row" """,
        [names],
    ).fetchall()


def record_refusals(connection: duckdb.DuckDBPyConnection, refusals: list[Refusal]) -> None:
    """The landing folder's refused entries (`ingest.arrivals.scan_landing`) as file-level findings
    under their printable names, with no sha256 (never read): they replace the previous scan's."""
    findings = findings_frame([new_finding(REFUSED_RULE, file=r.name, message=r.reason) for r in refusals])
    findings = findings.assign(sha256=None, period=None, family=FAMILY_OF_RULE[REFUSED_RULE])
    with transaction(connection):
        replace_rows(connection, "findings", findings, "sha256 IS NULL AND period IS NULL AND rule = ?", [REFUSED_RULE])
