"""The publication guard: the one place that says a month's stored figures must not be published.

Dagster's blocking checks stop a release only within one run, so the guard is asked twice: by
the blocking check in front of publication (`accepted_returns_clean`) and by `publish_month`
itself before it writes anything, whatever launched it.

Two kinds of reason: about an authority (`month_blockers`: an accepted figure with an unwaived
error, or stored figures that are not the current accepted return) and about the whole month
(`outdated_validation`: anything the month's validation depended on changed since it ran: a
file arrived for the month, a waiver was granted or revoked, reference data was re-imported;
`store/validations.py` records and compares). Either way the month must be run again whole.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from pipelines.home import DataHome
from pipelines.store.month import accepted_values, month_findings, month_returns
from pipelines.store.validations import changes_since_validation
from pipelines.store.warehouse import connect
from pipelines.validate.month import ACCEPTED
from pipelines.validate.waivers import unwaived_errors
from schemas.findings import REVIEW_COLUMNS

STALE_RULE = "stale_indicator_values"
STALE_MESSAGE = "the stored figures are not the current accepted return: run the whole month again"
OUTDATED_RULE = "validation_outdated"


def month_blockers(connection: duckdb.DuckDBPyConnection, month: str) -> pd.DataFrame:
    """Reasons the month's `indicator_values` must not be published; must always be empty.

    An accepted figure with an unwaived error finding, or figures that are not the current
    accepted return (a month validated again without storing the accepted figures after it).
    """
    stored = accepted_values(connection, month)
    returns = month_returns(connection, [month])
    errors = unwaived_errors(month_findings(connection, [month]))
    errors = errors[errors["la_code"].isin(stored["la_code"])]
    accepted = returns[returns["status"] == ACCEPTED]
    pairs = set(zip(stored["la_code"], stored["sha256"])) ^ set(zip(accepted["la_code"], accepted["sha256"]))
    stale = (
        pd.DataFrame({"la_code": sorted({code for code, _ in pairs})}, dtype="object")
        .merge(returns[["la_code", "file", "row"]], on="la_code", how="left")
        .assign(
            period=month, column=None, value=None, expected=None, message=STALE_MESSAGE, rule=STALE_RULE, waived=False
        )
    )
    parts = [part.reindex(columns=REVIEW_COLUMNS).astype("object") for part in (errors, stale) if not part.empty]
    blockers = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=REVIEW_COLUMNS)
    return blockers.astype({"row": "Int64"})


def outdated_validation(home: DataHome, connection: duckdb.DuckDBPyConnection, month: str) -> pd.DataFrame:
    """One row for the month (no authority) when its validation is out of date, naming every cause."""
    causes = changes_since_validation(home, connection, month)
    if not causes:
        return pd.DataFrame(columns=REVIEW_COLUMNS).astype({"row": "Int64"})
    message = f"validated before a change: {'; '.join(causes)}: run the whole month again"
    return (
        pd.DataFrame([{"la_code": None, "period": month, "rule": OUTDATED_RULE, "message": message, "waived": False}])
        .reindex(columns=REVIEW_COLUMNS)
        .astype("object")
        .astype({"row": "Int64"})
    )


def guard_blockers(home: DataHome, connection: duckdb.DuckDBPyConnection, month: str) -> pd.DataFrame:
    """Every reason the month must not be published: the month's own first, then each authority's."""
    outdated, authorities = outdated_validation(home, connection, month), month_blockers(connection, month)
    if outdated.empty:
        return authorities
    return pd.concat([outdated, authorities], ignore_index=True) if not authorities.empty else outdated


def publication_blockers(home: DataHome, month: str) -> pd.DataFrame:
    with connect(home, read_only=True) as connection:  # the run's live warehouse, else the readers' snapshot
        return guard_blockers(home, connection, month)


def refusal(month: str, blockers: pd.DataFrame) -> str:
    """Why nothing was published, in one line."""
    first = blockers.iloc[0]
    whose = "" if pd.isna(first["la_code"]) else f" {first['la_code']}"
    return f"{month}: nothing published; {len(blockers)} reason(s), first{whose}: {first['message']}"
