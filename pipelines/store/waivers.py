"""The register of waivers in the warehouse: granted, revoked, listed; never deleted.

What may be waived and which findings a waiver covers is decided in `pipelines.validate.waivers`.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from pipelines.store.warehouse import scalar
from pipelines.validate.waivers import WaiverError, match_waivers, new_waiver, waiver_for

__all__ = [
    "WaiverError",
    "add_waiver",
    "apply_waivers",
    "list_waivers",
    "revoke_waiver",
    "waive_finding",
    "waiver_record",
]


def _record(connection: duckdb.DuckDBPyConnection, waiver: dict) -> int:
    columns = list(waiver)
    return int(
        scalar(
            connection,
            f"INSERT INTO waivers ({', '.join(chr(34) + c + chr(34) for c in columns)}) "
            f"VALUES ({', '.join('?' * len(columns))}) RETURNING waiver_id",
            list(waiver.values()),
        )
    )


def add_waiver(
    connection: duckdb.DuckDBPyConnection,
    *,
    rule: str,
    la_code: str,
    period: str,
    column: str | None,
    value: str | None,
    sha256: str,
    reason: str,
    who: str,
    expected: str | None = None,
    now: dt.datetime | None = None,
) -> int:
    """Record a waiver for one finding on one return file; returns its waiver_id (WaiverError if it cannot be)."""
    return _record(
        connection,
        new_waiver(
            rule=rule,
            la_code=la_code,
            period=period,
            column=column,
            value=value,
            sha256=sha256,
            reason=reason,
            who=who,
            expected=expected,
            now=now,
        ),
    )


def waive_finding(
    connection: duckdb.DuckDBPyConnection,
    finding: dict | pd.Series,
    reason: str,
    who: str,
    now: dt.datetime | None = None,
    run_id: str | None = None,
) -> int:
    """Waive a finding exactly as it appears in the findings table (a row or a dict with its columns);
    `run_id`: the Dagster run granting it from the UI."""
    waiver = waiver_for(finding, reason, who, now)
    return _record(connection, {**waiver, "granted_in_run": run_id} if run_id else waiver)


def revoke_waiver(
    connection: duckdb.DuckDBPyConnection,
    waiver_id: int,
    who: str,
    reason: str,
    now: dt.datetime | None = None,
    run_id: str | None = None,
) -> bool:
    """Stop a waiver applying, saying who and why (it stays on the record); False when there was
    no such active waiver. WaiverError when who or why is missing."""
    for name, given in (("who", who), ("reason", reason)):
        if not given or not str(given).strip():
            raise WaiverError(f"revoking a waiver needs {name}")
    revoked = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    rows = connection.execute(
        "UPDATE waivers SET revoked_at = ?, revoked_by = ?, revoked_reason = ?, revoked_in_run = ? "
        "WHERE waiver_id = ? AND revoked_at IS NULL RETURNING waiver_id",
        [revoked, who.strip(), reason.strip(), run_id, waiver_id],
    ).fetchall()
    return bool(rows)


def waiver_record(connection: duckdb.DuckDBPyConnection, waiver_id: int) -> dict | None:
    """One waiver as recorded (granted and, if so, revoked), or None when there is no such id."""
    frame = connection.execute("SELECT * FROM waivers WHERE waiver_id = ?", [waiver_id]).df()
    return None if frame.empty else frame.iloc[0].to_dict()


def list_waivers(
    connection: duckdb.DuckDBPyConnection,
    la_code: str | None = None,
    period: str | None = None,
    include_revoked: bool = False,
) -> pd.DataFrame:
    conditions = {"la_code = ?": la_code, "period = ?": period}
    where = [condition for condition, given in conditions.items() if given]
    params = [given for given in conditions.values() if given]
    if not include_revoked:
        where.append("revoked_at IS NULL")
    return connection.execute(
        f"SELECT * FROM waivers WHERE {' AND '.join(where) or 'TRUE'} ORDER BY waiver_id", params
    ).df()


def apply_waivers(connection: duckdb.DuckDBPyConnection, findings: pd.DataFrame) -> pd.DataFrame:
    """`findings` with the register's active waivers applied (see `match_waivers`)."""
    return match_waivers(findings, list_waivers(connection))
