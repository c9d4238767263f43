"""What a steward asks the warehouse: each month's returns, who is held back and why, the waivers,
the findings as a spreadsheet wants them, and which landed files have not been run.

Every read opens the warehouse read-only and briefly (`reading`): a steward's question must never
hold the single writer's lock while a run wants it. A warehouse built before a table or column
existed is read as it is (those parts are empty) rather than changed: readers never write.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Iterator, Sequence

import duckdb
import pandas as pd

from pipelines.home import DataHome
from pipelines.ingest.arrivals import LandingChanged, landed_files, open_landed, sha256_of_handle
from pipelines.store.month import month_findings, month_returns
from pipelines.store.received import landing_memory
from pipelines.store.warehouse import connect, has_table, scalar
from pipelines.validate.month import ACCEPTED, HELD_BACK
from pipelines.validate.waivers import unwaived_errors

# `csc-returns findings`: the columns a steward's spreadsheet gets, in this order (docs/operations.md).
FINDINGS_EXPORT_COLUMNS = [
    "file",
    "row",
    "cell",
    "authority",
    "column",
    "value",
    "expected",
    "message",
    "waived",
    "month",
    "severity",
    "rule",
    "waiver_reason",
]
# `csc-returns waive list` and the waivers of `csc-returns status`: a waiver's whole history.
WAIVER_COLUMNS = [
    "waiver_id",
    "state",
    "period",
    "la_code",
    "rule",
    "column",
    "value",
    "expected",
    "reason",
    "who",
    "created_at",
    "revoked_at",
    "revoked_by",
    "revoked_reason",
    "granted_in_run",
    "revoked_in_run",
]
OPEN, REVOKED = "open", "revoked"


class WarehouseBusy(RuntimeError):
    """A writer held the warehouse for longer than a reader waits; the message is one line."""


@contextlib.contextmanager
def reading(home: DataHome, wait_seconds: float = 5.0) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection, retried while a run's short write connection holds the file.

    Use it for one batch of queries and let it go: a reader also keeps writers out while open.
    """
    deadline = time.monotonic() + wait_seconds
    with contextlib.ExitStack() as stack:
        while True:
            try:
                connection = stack.enter_context(connect(home, read_only=True))
                break
            except duckdb.IOException as exc:
                if time.monotonic() >= deadline:
                    raise WarehouseBusy(
                        f"{home.warehouse} is busy (a run is writing): try again in a moment "
                        f"({str(exc).splitlines()[0][:80]})"
                    ) from None
                time.sleep(0.2)
        yield connection


def _has_column(connection: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    return bool(
        scalar(
            connection,
            "SELECT count(*) FROM duckdb_columns() WHERE table_name = ? AND column_name = ?",
            [table, column],
        )
    )


def stored_months(connection: duckdb.DuckDBPyConnection) -> list[str]:
    """The months with at least one return stored, oldest first."""
    return [month for (month,) in connection.execute("SELECT DISTINCT period FROM returns ORDER BY period").fetchall()]


def known_authorities(connection: duckdb.DuckDBPyConnection) -> set[str]:
    """Every authority that has sent a return (of any month)."""
    return {code for (code,) in connection.execute("SELECT DISTINCT la_code FROM returns").fetchall()}


def finding_columns(connection: duckdb.DuckDBPyConnection, rule: str, la_code: str, month: str) -> list[str]:
    """The columns of one rule's findings on one return: what a steward waiving it may have meant."""
    return [
        column
        for (column,) in connection.execute(
            """SELECT DISTINCT "column" FROM findings WHERE rule = ? AND la_code = ? AND period = ? AND "column" IS NOT NULL
           ORDER BY 1""",
            [rule, la_code, month],
        ).fetchall()
    ]


def held_back_returns(connection: duckdb.DuckDBPyConnection, months: Sequence[str]) -> pd.DataFrame:
    """(period, la_code, errors, first_error) of each held-back return of `months`: its unwaived
    errors and the message of the first of them by row and column, as the steward reads the file."""
    returns = month_returns(connection, months)
    held = returns.loc[returns["status"] == HELD_BACK, ["period", "la_code", "errors"]]
    errors = unwaived_errors(month_findings(connection, months))
    keys = ["period", "la_code"]
    first = (
        errors.sort_values(["row", "column"], kind="stable")
        .groupby(keys, as_index=False)
        .agg(unwaived=("message", "size"), first_error=("message", "first"))
    )
    out = held.merge(first, on=keys, how="left")
    # A return held back by errors since waived (not yet run again) keeps its stored count.
    out["errors"] = out["unwaived"].fillna(out["errors"]).astype("int64")
    out["first_error"] = out["first_error"].astype("object").where(out["first_error"].notna(), None)
    return out[["period", "la_code", "errors", "first_error"]].reset_index(drop=True)


def waiver_history(
    connection: duckdb.DuckDBPyConnection, months: Sequence[str] | None = None, la_code: str | None = None
) -> pd.DataFrame:
    """Every waiver granted (of `months`, of `la_code`), open or revoked, with who, when and why."""
    revoked_reason, granted_in_run, revoked_in_run = (
        name if _has_column(connection, "waivers", name) else "NULL"
        for name in ("revoked_reason", "granted_in_run", "revoked_in_run")
    )
    frame = connection.execute(
        f"""SELECT waiver_id, CASE WHEN revoked_at IS NULL THEN '{OPEN}' ELSE '{REVOKED}' END AS state, period,
                   la_code, rule, "column", value, expected, reason, who, created_at, revoked_at, revoked_by,
                   {revoked_reason} AS revoked_reason, {granted_in_run} AS granted_in_run,
                   {revoked_in_run} AS revoked_in_run
            FROM waivers WHERE (? IS NULL OR list_contains(?, period)) AND (? IS NULL OR la_code = ?)
            ORDER BY period, waiver_id""",
        [None if months is None else list(months), None if months is None else list(months), la_code, la_code],
    ).df()
    return frame[WAIVER_COLUMNS]


def validated_at(connection: duckdb.DuckDBPyConnection, months: Sequence[str]) -> dict[str, dt.datetime]:
    """When each of `months` was last validated (months validated before this was recorded are absent)."""
    if not has_table(connection, "validations"):
        return {}
    return dict(
        connection.execute(
            "SELECT period, validated_at FROM validations WHERE list_contains(?, period)", [list(months)]
        ).fetchall()
    )


def month_statuses(connection: duckdb.DuckDBPyConnection, months: Sequence[str]) -> list[dict]:
    """Per month: returns received, accepted and held back (each with its first error), its waivers
    and when it was last validated. `released_at` is left for the publish stage to fill."""
    returns = month_returns(connection, months)
    held = held_back_returns(connection, months)
    waivers = waiver_history(connection, months)
    validated = validated_at(connection, months)
    statuses = []
    for month in months:
        of_month = returns[returns["period"] == month]
        statuses.append(
            {
                "month": month,
                "received": len(of_month),
                "accepted": int((of_month["status"] == ACCEPTED).sum()),
                "held_back": records(held[held["period"] == month].drop(columns=["period"])),
                "waivers": records(waivers[waivers["period"] == month].drop(columns=["period"])),
                "validated_at": iso_utc(validated.get(month)),
                "released_at": None,
            }
        )
    return statuses


def names_seen(connection: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """What each landing-folder name held when a run last took it in: {name: sha256}."""
    return landing_memory(connection).held


def unvalidated_names(connection: duckdb.DuckDBPyConnection) -> set[str]:
    """Landing-folder names whose archived version holds rows of a month not validated since it
    arrived (a run killed between archiving and validating): taken in, not yet run."""
    if not has_table(connection, "validations"):
        return set()
    return {
        name
        for (name,) in connection.execute(
            """SELECT DISTINCT held.file_name
               FROM landing_seen AS held
               JOIN (SELECT sha256, arrival, unnest(periods) AS period FROM received_files) AS version
                 ON version.sha256 = held.sha256
               LEFT JOIN validations AS checked ON checked.period = version.period
               WHERE checked.period IS NULL OR checked.arrival < version.arrival"""
        ).fetchall()
    }


def pending_files(
    home: DataHome, seen: dict[str, str], unvalidated: frozenset[str] | set[str] = frozenset()
) -> list[str]:
    """Files in the landing folder whose content has not been taken in (archived and run) under
    their name, `seen` being `names_seen` (empty before any run): new files, files changed since,
    and files archived whose months were not validated after (`unvalidated_names`). Hashed after
    the warehouse is closed: a reader must not keep a writer waiting."""
    pending = []
    for path in landed_files(home):
        try:
            with open_landed(home, path.name) as landed:
                sha256, _ = sha256_of_handle(landed)
        except (FileNotFoundError, LandingChanged):  # taken away (or swapped) while we looked
            continue
        if seen.get(path.name) != sha256 or path.name in unvalidated:
            pending.append(path.name)
    return sorted(pending)


def findings_export(
    connection: duckdb.DuckDBPyConnection, month: str, la_code: str | None = None, severity: str | None = None
) -> pd.DataFrame:
    """The stored findings of `month` as a steward's spreadsheet wants them (FINDINGS_EXPORT_COLUMNS)."""
    findings = month_findings(connection, [month])
    if la_code:
        findings = findings[findings["la_code"] == la_code]
    if severity:
        findings = findings[findings["severity"] == severity]
    out = findings.rename(columns={"la_code": "authority", "period": "month"})
    out["waived"] = out["waived"].fillna(False).astype(bool)
    return out[FINDINGS_EXPORT_COLUMNS].reset_index(drop=True)


def records(frame: pd.DataFrame) -> list[dict]:
    """Plain JSON-ready rows: numbers as int, times as ISO text, missing as None."""
    out = []
    for row in frame.astype("object").to_dict(orient="records"):
        out.append({key: _plain(value) for key, value in row.items()})
    return out


def _plain(value: object) -> object:
    if value is None or (not isinstance(value, (list, tuple, dict)) and pd.isna(value)):
        return None
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        return iso_utc(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def iso_utc(value: dt.datetime | pd.Timestamp | None) -> str | None:
    """Warehouse times are UTC without a zone: said so, to the second."""
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).strftime("%Y-%m-%dT%H:%M:%SZ")
