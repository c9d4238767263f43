"""Waivers: a data steward accepts one finding on one return, with a reason, on the record.

A waiver names the finding (rule, authority, month, column) and carries the fingerprint of
the figures it accepts: the finding's `value` and `expected` as reported, and the sha256 of
the return file. A resubmission is a new file (new sha256) or new figures (new value), so a
waiver never silently carries over to figures nobody looked at: the steward waives again.

Structural findings (a cell that is not a number, a negative count, a malformed code...) and
an unknown authority or unfinished month cannot be waived: there is nothing sound to store.

The table lives in the warehouse (`pipelines.warehouse.connect(home)`); each function creates
it if needed, so this module needs no change to the warehouse schema.
"""
from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from schemas.rules import RULES

UNWAIVABLE_RULES = frozenset({r.id for r in RULES.values() if r.family == "structure"}
                             | {"unknown_authority", "period_in_future", "file_unreadable"})
_SCHEMA = [
    "CREATE SEQUENCE IF NOT EXISTS waiver_seq START 1",
    """CREATE TABLE IF NOT EXISTS waivers (
        waiver_id BIGINT PRIMARY KEY DEFAULT nextval('waiver_seq'),
        rule VARCHAR NOT NULL, la_code VARCHAR NOT NULL, period VARCHAR NOT NULL, "column" VARCHAR,
        value VARCHAR, expected VARCHAR, sha256 VARCHAR NOT NULL,
        reason VARCHAR NOT NULL, who VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL,
        revoked_at TIMESTAMP, revoked_by VARCHAR)""",
]


class WaiverError(ValueError):
    """A waiver that cannot be recorded; the message is one line for the steward."""


def ensure_waivers_table(connection: duckdb.DuckDBPyConnection) -> None:
    for statement in _SCHEMA:
        connection.execute(statement)


def _text(value) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return str(value)


def add_waiver(connection: duckdb.DuckDBPyConnection, *, rule: str, la_code: str, period: str, column: str | None,
               value: str | None, sha256: str, reason: str, who: str, expected: str | None = None,
               now: dt.datetime | None = None) -> int:
    """Record a waiver for one finding on one return file; returns its waiver_id.

    `value` and `expected` are the finding's own text (as in the findings table), `sha256`
    the return file's: together they are the fingerprint the waiver is bound to.
    """
    if rule not in RULES:
        raise WaiverError(f"'{rule}' is not a rule in the rule book")
    if rule in UNWAIVABLE_RULES:
        raise WaiverError(f"'{rule}' cannot be waived: the figures must be corrected and the return resubmitted")
    for name, given in (("la_code", la_code), ("period", period), ("sha256", sha256), ("reason", reason), ("who", who)):
        if not _text(given) or not str(given).strip():
            raise WaiverError(f"a waiver needs {name}")
    ensure_waivers_table(connection)
    created = now or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    row = connection.execute(
        """INSERT INTO waivers (rule, la_code, period, "column", value, expected, sha256, reason, who, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING waiver_id""",
        [rule, la_code, period, _text(column), _text(value), _text(expected), sha256, reason.strip(), who.strip(),
         created],
    ).fetchone()
    return int(row[0])


def waive_finding(connection: duckdb.DuckDBPyConnection, finding: dict | pd.Series, reason: str, who: str,
                  now: dt.datetime | None = None) -> int:
    """Waive a finding exactly as it appears in the findings table (a row or a dict with its columns)."""
    return add_waiver(connection, rule=finding["rule"], la_code=finding["la_code"], period=finding["period"],
                      column=_text(finding.get("column")), value=_text(finding.get("value")),
                      expected=_text(finding.get("expected")), sha256=finding["sha256"], reason=reason, who=who,
                      now=now)


def revoke_waiver(connection: duckdb.DuckDBPyConnection, waiver_id: int, who: str,
                  now: dt.datetime | None = None) -> bool:
    """Stop a waiver applying (it stays on the record); False when there was no such active waiver."""
    ensure_waivers_table(connection)
    revoked = now or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    rows = connection.execute(
        "UPDATE waivers SET revoked_at = ?, revoked_by = ? WHERE waiver_id = ? AND revoked_at IS NULL RETURNING waiver_id",
        [revoked, who, waiver_id]).fetchall()
    return bool(rows)


def list_waivers(connection: duckdb.DuckDBPyConnection, la_code: str | None = None, period: str | None = None,
                 include_revoked: bool = False) -> pd.DataFrame:
    ensure_waivers_table(connection)
    where, params = ["TRUE"], []
    if la_code:
        where.append("la_code = ?"), params.append(la_code)
    if period:
        where.append("period = ?"), params.append(period)
    if not include_revoked:
        where.append("revoked_at IS NULL")
    return connection.execute(
        f"SELECT * FROM waivers WHERE {' AND '.join(where)} ORDER BY waiver_id", params).df()


def apply_waivers(connection: duckdb.DuckDBPyConnection, findings: pd.DataFrame) -> pd.DataFrame:
    """`findings` with `waived` (bool), `waiver_reason` and `waiver_id` added, rows in the same order.

    A finding is waived when an active waiver names its rule, authority, month and column and
    its fingerprint matches: same value, same expected, same return file (sha256).
    """
    missing = [c for c in ("rule", "la_code", "period", "column", "value", "expected", "sha256") if c not in findings.columns]
    if missing:
        raise ValueError(f"findings lack column(s) {', '.join(missing)}")
    out = findings.copy()
    if out.empty:
        out["waived"] = pd.Series(dtype="bool")
        out["waiver_reason"] = pd.Series(dtype="string")
        out["waiver_id"] = pd.Series(dtype="Int64")
        return out
    ensure_waivers_table(connection)
    keys = pd.DataFrame({c: out[c].map(_text).astype("object") for c in
                         ("rule", "la_code", "period", "column", "value", "expected", "sha256")})
    keys["position"] = range(len(keys))
    connection.register("findings_to_waive", keys)
    try:
        matched = connection.execute("""
            SELECT f.position, arg_max(w.waiver_id, w.created_at) AS waiver_id, arg_max(w.reason, w.created_at) AS reason
            FROM findings_to_waive f JOIN waivers w
              ON w.revoked_at IS NULL AND w.rule = f.rule AND w.la_code = f.la_code AND w.period = f.period
             AND w."column" IS NOT DISTINCT FROM f."column" AND w.value IS NOT DISTINCT FROM f.value
             AND w.expected IS NOT DISTINCT FROM f.expected AND w.sha256 = f.sha256
            GROUP BY f.position""").df()
    finally:
        connection.unregister("findings_to_waive")
    by_position = matched.set_index("position")
    positions = pd.Series(range(len(out)), index=out.index)
    out["waived"] = positions.isin(by_position.index).to_numpy()
    out["waiver_reason"] = positions.map(by_position["reason"]).astype("string").to_numpy()
    out["waiver_id"] = positions.map(by_position["waiver_id"]).astype("Int64").to_numpy()
    return out
