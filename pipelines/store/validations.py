"""What a month's validation depended on, recorded with its findings, so the guard can tell it is out of date.

A month's verdict holds only while its inputs do: the files received for it, the waivers of
its findings and the reference data (register, populations, targets). Each validation stores
one `validations` row (in the transaction that stores the month's findings): the latest arrival
among the month's files, the month's waivers with whether each is revoked, and the sha256 of
each reference file. `changes_since_validation` compares that row with the warehouse and the
reference folder now; `publish/guard.py` refuses to publish while it names anything.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import pandas as pd

from pipelines.home import DataHome
from pipelines.ingest.archive import sha256_of
from pipelines.reference import POPULATION_FILE, REGISTER_FILE, TARGETS_FILE

REFERENCE_FILES = (REGISTER_FILE, POPULATION_FILE, TARGETS_FILE)
NO_FILE = "none"


@dataclass(frozen=True)
class ValidationBasis:
    month: str
    arrival: int  # the latest arrival among the month's files (0: none)
    waivers: dict[str, bool]  # the month's waivers: id -> revoked
    reference: dict[str, str]  # each reference file -> its sha256, or "none"


def waiver_states(waivers: pd.DataFrame, month: str) -> dict[str, bool]:
    """The month's waivers from a `waivers` table frame: id -> revoked."""
    if waivers.empty:
        return {}
    mine = waivers[waivers["period"] == month]
    return {str(int(w)): bool(pd.notna(r)) for w, r in zip(mine["waiver_id"], mine["revoked_at"])}


def reference_fingerprint(home: DataHome, names: Sequence[str] = REFERENCE_FILES) -> dict[str, str]:
    """The content of each reference file of `names` (default: those validation reads) now: a
    re-import of the same bytes changes nothing."""
    return {name: sha256_of(home.reference / name) if (home.reference / name).is_file() else NO_FILE for name in names}


def latest_arrival(connection: duckdb.DuckDBPyConnection, month: str) -> tuple[int, str | None]:
    """(arrival, file name) of the latest arrival among the files holding rows for `month`."""
    row = connection.execute(
        "SELECT arrival, file_name FROM received_files WHERE list_contains(periods, ?) ORDER BY arrival DESC LIMIT 1",
        [month],
    ).fetchone()
    return (int(row[0]), row[1]) if row else (0, None)


def record_basis(connection: duckdb.DuckDBPyConnection, basis: ValidationBasis) -> None:
    """Replace the month's record; call it inside the transaction storing the month's findings."""
    connection.execute("DELETE FROM validations WHERE period = ?", [basis.month])
    connection.execute(
        "INSERT INTO validations VALUES (?, ?, ?, ?, ?)",
        [
            basis.month,
            dt.datetime.now(dt.UTC).replace(tzinfo=None),
            basis.arrival,
            json.dumps(basis.waivers, sort_keys=True),
            json.dumps(basis.reference, sort_keys=True),
        ],
    )


def recorded_basis(connection: duckdb.DuckDBPyConnection, month: str) -> ValidationBasis | None:
    row = connection.execute("SELECT arrival, waivers, reference FROM validations WHERE period = ?", [month]).fetchone()
    if row is None:
        return None
    return ValidationBasis(month, int(row[0]), json.loads(row[1]), json.loads(row[2]))


def current_basis(home: DataHome, connection: duckdb.DuckDBPyConnection, month: str) -> ValidationBasis:
    """What a validation of `month` would depend on now."""
    waivers = connection.execute("SELECT waiver_id, period, revoked_at FROM waivers WHERE period = ?", [month]).df()
    return ValidationBasis(
        month, latest_arrival(connection, month)[0], waiver_states(waivers, month), reference_fingerprint(home)
    )


def changes_since_validation(home: DataHome, connection: duckdb.DuckDBPyConnection, month: str) -> list[str]:
    """What the month's validation depended on that has changed since, one phrase each; empty when nothing.

    A month with stored returns but no record (validated by a version that kept none) counts as
    changed: nothing says it is not.
    """
    return changes_since_validation_by_month(home, connection, [month])[month]


def changes_since_validation_by_month(
    home: DataHome, connection: duckdb.DuckDBPyConnection, months: Sequence[str]
) -> dict[str, list[str]]:
    """`changes_since_validation` of each of `months`: the reference files hashed once, the
    warehouse asked once per kind of input."""
    months = list(months)
    recorded = {
        period: ValidationBasis(period, int(arrival), json.loads(waivers), json.loads(reference))
        for period, arrival, waivers, reference in connection.execute(
            "SELECT period, arrival, waivers, reference FROM validations WHERE list_contains(?, period)", [months]
        ).fetchall()
    }
    stored = dict(
        connection.execute(
            "SELECT period, count(*) FROM returns WHERE list_contains(?, period) GROUP BY period", [months]
        ).fetchall()
    )
    latest = _latest_arrivals(connection, months)
    waivers = connection.execute(
        "SELECT waiver_id, period, revoked_at FROM waivers WHERE list_contains(?, period)", [months]
    ).df()
    reference = reference_fingerprint(home)
    changes = {}
    for month in months:
        then = recorded.get(month)
        if then is None:
            changes[month] = (
                ["no record of what its validation depended on (validated by an older version)"]
                if stored.get(month)
                else []
            )
            continue
        now = ValidationBasis(month, latest[month][0], waiver_states(waivers, month), reference)
        causes = []
        if now.arrival > then.arrival:
            causes.append(f"a file arrived for {month} after its validation ({latest[month][1]})")
        granted = sorted(set(now.waivers) - set(then.waivers), key=int)
        revoked = sorted((w for w, r in now.waivers.items() if r and not then.waivers.get(w, False)), key=int)
        if granted:
            causes.append(f"waiver {', '.join(granted)} granted after its validation")
        if revoked:
            causes.append(f"waiver {', '.join(revoked)} revoked after its validation")
        changed = [name for name, digest in now.reference.items() if then.reference.get(name) != digest]
        if changed:
            causes.append(f"reference data re-imported after its validation ({', '.join(changed)})")
        changes[month] = causes
    return changes


def _latest_arrivals(connection: duckdb.DuckDBPyConnection, months: list[str]) -> dict[str, tuple[int, str | None]]:
    """`latest_arrival` of each of `months`, in one query."""
    latest: dict[str, tuple[int, str | None]] = {month: (0, None) for month in months}
    for month, arrival, name in connection.execute(
        "SELECT month, max(arrival), arg_max(file_name, arrival) FROM "
        "(SELECT unnest(periods) AS month, arrival, file_name FROM received_files) "
        "WHERE list_contains(?, month) GROUP BY month",
        [months],
    ).fetchall():
        latest[month] = (int(arrival), name)
    return latest
