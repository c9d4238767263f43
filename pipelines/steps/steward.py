"""What a data steward asks of a data home and decides between runs: each month's state, a month's
findings, and waivers granted, listed and revoked (`csc-returns status`, `findings`, `waive`).

A question opens the warehouse once, briefly, through `reading` (the readers' snapshot: a run
writing never makes it wait; `WarehouseBusy`, in one line, when a program outside the pipeline
holds the file). A decision (`waive`, `revoke`) writes through the home's writer lock, which the
caller holds. A request naming what the home does not hold (a month, an authority, a waiver, a
finding), or asking what cannot be done, is refused in one line: `RequestRefused`.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from pipelines.home import DataHome
from pipelines.publish.files import released_at
from pipelines.reference import load_reference
from pipelines.shown import spreadsheet_cell
from pipelines.store.month import findings_matching
from pipelines.store.status import (
    FINDINGS_EXPORT_COLUMNS,
    WarehouseBusy,
    finding_columns,
    findings_export,
    iso_utc,
    known_authorities,
    month_statuses,
    names_seen,
    pending_files,
    reading,
    records,
    stored_months,
    unvalidated_names,
    waiver_history,
)
from pipelines.store.waivers import revoke_waiver, waive_finding, waiver_record
from pipelines.store.warehouse import connect
from pipelines.validate.waivers import WaiverError
from schemas.month import Month

__all__ = [
    "FINDINGS_EXPORT_COLUMNS",
    "RequestRefused",
    "WarehouseBusy",
    "finding_named",
    "findings",
    "month_status",
    "nothing_run_yet",
    "revoke",
    "spreadsheet_safe",
    "waive",
    "waivers",
]


class RequestRefused(ValueError):
    """A steward's request that names what the home does not hold, or asks what cannot be done;
    the message is one line."""


def nothing_run_yet(home: DataHome) -> str | None:
    """What every steward's command says of a home with no warehouse yet; None when it has one."""
    if home.warehouse.exists():
        return None
    return f"nothing has been run in {home.root} yet"


def finding_named(rule: str, la_code: str, month: str, column: str | None) -> str:
    """`derived_inconsistent on E06000006 2024-06 [cla_rate_per_10k]`, or `... (no column)`."""
    return f"{rule} on {la_code} {month}{f' [{column}]' if column else ' (no column)'}"


def month_status(home: DataHome, month: str | None = None) -> dict:
    """`{"months": [...], "pending_files": [...]}` (docs/operations.md, `status --json`): per stored
    month (or `month` alone) its returns received, accepted and held back, its waivers, when it was
    validated and released; then the landed files no run has taken in yet."""
    _check_month_written(month)
    statuses: list[dict] = []
    seen: dict[str, str] = {}
    unvalidated: set[str] = set()
    if nothing_run_yet(home) is None:
        with reading(home) as connection:
            _check_known(connection, home, month, None)
            statuses = month_statuses(connection, [month] if month else stored_months(connection))
            seen = names_seen(connection)
            unvalidated = unvalidated_names(connection)
    for status in statuses:
        status["released_at"] = iso_utc(released_at(home.publish, status["month"]))
    return {"months": statuses, "pending_files": pending_files(home, seen, unvalidated)}


def findings(home: DataHome, month: str, la_code: str | None = None, severity: str | None = None) -> list[dict]:
    """The stored findings of `month` (of `la_code`, of `severity`), one record each with the
    columns of FINDINGS_EXPORT_COLUMNS; none when nothing has been run."""
    _check_month_written(month)
    if nothing_run_yet(home) is not None:
        return []
    with reading(home) as connection:
        _check_known(connection, home, month, la_code)
        return records(findings_export(connection, month, la_code, severity))


def explain(home: DataHome, month: str, la_code: str | None = None) -> list[dict]:
    """The pseudonymous children behind each reconciliation difference of `month` (of `la_code`):
    `steps/child_level.explain_differences`; none when nothing has been run."""
    from pipelines.steps.child_level import explain_differences

    _check_month_written(month)
    if nothing_run_yet(home) is not None:
        return []
    with reading(home) as connection:
        _check_known(connection, home, month, la_code)
    return explain_differences(home, month, la_code)


def spreadsheet_safe(rows: list[dict]) -> list[dict]:
    """`rows` for a spreadsheet: a text cell it would run as a formula (text an authority sent) gets
    a leading apostrophe, as in the published files."""
    return [
        {key: spreadsheet_cell(value) if isinstance(value, str) else value for key, value in row.items()}
        for row in rows
    ]


def waivers(home: DataHome, month: str | None = None, la_code: str | None = None) -> list[dict]:
    """Every waiver granted (of `month`, of `la_code`), open or revoked, oldest first by month."""
    _check_month_written(month)
    if nothing_run_yet(home) is not None:
        return []
    with reading(home) as connection:
        _check_known(connection, home, month, la_code)
        return records(waiver_history(connection, [month] if month else None, la_code))


def waive(
    home: DataHome,
    rule: str,
    la_code: str,
    month: str,
    column: str | None,
    reason: str,
    who: str,
    run_id: str | None = None,
) -> list[int]:
    """Waive the current return's findings of `rule` on `la_code` in `month` and `column` (None: the
    finding with no column), with who and why; the new waivers' ids. It applies from the month's next
    run. The caller holds the home's writer lock (the command line, or the UI's waiver job, whose run
    id is recorded with the waiver)."""
    where = finding_named(rule, la_code, month, column)
    nothing_run = nothing_run_yet(home)
    if nothing_run is not None:
        raise RequestRefused(f"no finding {where}: {nothing_run}")
    with connect(home) as connection:
        _check_known(connection, home, month, la_code)
        matches = findings_matching(connection, rule, la_code, month, column)
        if matches.empty:
            others = finding_columns(connection, rule, la_code, month)
            hint = f": its columns are {', '.join(others)}; give --column" if others and not column else ""
            raise RequestRefused(f"no finding {where} in the current return{hint}")
        try:
            return [
                waive_finding(connection, finding, reason=reason, who=who, run_id=run_id)
                for _, finding in matches.iterrows()
            ]
        except WaiverError as exc:
            raise RequestRefused(str(exc)) from None


def revoke(home: DataHome, waiver_id: int, who: str, reason: str, run_id: str | None = None) -> dict:
    """Stop waiver `waiver_id` applying from its month's next run, saying who and why (it stays on
    the record); the waiver as it was granted."""
    nothing_run = nothing_run_yet(home)
    if nothing_run is not None:
        raise RequestRefused(f"no waiver {waiver_id}: {nothing_run}")
    with connect(home) as connection:
        record = waiver_record(connection, waiver_id)
        if record is None:
            raise RequestRefused(f"no waiver {waiver_id} (csc-returns waive list shows them)")
        if not pd.isna(record["revoked_at"]):
            raise RequestRefused(
                f"waiver {waiver_id} was already revoked by {record['revoked_by']} at {iso_utc(record['revoked_at'])}"
            )
        try:
            revoke_waiver(connection, waiver_id, who=who, reason=reason, run_id=run_id)
        except WaiverError as exc:
            raise RequestRefused(str(exc)) from None
    return record


def _check_month_written(month: str | None) -> None:
    if month is None:
        return
    try:
        Month.parse(month)
    except ValueError:
        raise RequestRefused(f"--month {month}: not a month written YYYY-MM") from None


def _check_known(connection: duckdb.DuckDBPyConnection, home: DataHome, month: str | None, la_code: str | None) -> None:
    """RequestRefused, in one line, when `month` or `la_code` names nothing in this data home."""
    if month is not None:
        _check_month_written(month)
        months = stored_months(connection)
        if month not in months:
            held = f"stored: {months[0]} to {months[-1]}" if months else "no month is stored yet"
            raise RequestRefused(f"--month {month}: no returns stored for this month ({held})")
    if la_code is not None:
        register = load_reference(home).register
        known = known_authorities(connection) | (set(register["new_la_code"]) if register is not None else set())
        if la_code not in known:
            raise RequestRefused(f"--la-code {la_code}: not an authority on the register or in any stored return")
