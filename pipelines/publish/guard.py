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

from collections.abc import Sequence
from functools import cache

import duckdb
import pandas as pd

from pipelines.home import DataHome
from pipelines.store.month import accepted_sources, month_findings, month_returns
from pipelines.store.validations import changes_since_validation_by_month
from pipelines.store.warehouse import connect
from pipelines.validate.month import ACCEPTED
from pipelines.validate.waivers import unwaived_errors
from schemas.findings import ERROR, REVIEW_COLUMNS

STALE_RULE = "stale_indicator_values"
STALE_MESSAGE = "the stored figures are not the current accepted return: run the whole month again"
OUTDATED_RULE = "validation_outdated"


def month_blockers(connection: duckdb.DuckDBPyConnection, month: str) -> pd.DataFrame:
    """Reasons the month's `indicator_values` must not be published; must always be empty.

    An accepted figure with an unwaived error finding, or figures that are not the current
    accepted return (a month validated again without storing the accepted figures after it).
    """
    return month_blockers_by_month(connection, [month])[month]


def month_blockers_by_month(connection: duckdb.DuckDBPyConnection, months: Sequence[str]) -> dict[str, pd.DataFrame]:
    """`month_blockers` of each of `months`, the warehouse asked once per table."""
    months = list(months)
    stored = accepted_sources(connection, months)
    returns = month_returns(connection, months)
    errors = unwaived_errors(month_findings(connection, months, severity=ERROR))  # fewer rows read, same errors
    errors = errors.merge(stored[["period", "la_code"]], on=["period", "la_code"])  # errors of stored figures
    accepted = returns[returns["status"] == ACCEPTED]
    stored_pairs, accepted_pairs = (
        set(zip(frame["period"], frame["la_code"], frame["sha256"])) for frame in (stored, accepted)
    )
    stale = {(month, code) for month, code, _ in stored_pairs ^ accepted_pairs}
    errors_of = {str(month): part for month, part in errors.groupby("period", sort=False)}
    return {
        month: _blockers(
            month,
            errors_of.get(month, errors.iloc[0:0]),
            sorted(code for stale_month, code in stale if stale_month == month),
            returns,
        )
        for month in months
    }


def _blockers(month: str, errors: pd.DataFrame, stale_codes: list[str], returns: pd.DataFrame) -> pd.DataFrame:
    """One month's blockers: its unwaived errors, then each authority whose stored figures are stale."""
    if errors.empty and not stale_codes:
        return _no_blockers()
    month_returns_ = returns[returns["period"] == month]
    stale = (
        pd.DataFrame({"la_code": stale_codes}, dtype="object")
        .merge(month_returns_[["la_code", "file", "row"]], on="la_code", how="left")
        .assign(
            period=month, column=None, value=None, expected=None, message=STALE_MESSAGE, rule=STALE_RULE, waived=False
        )
    )
    parts = [part.reindex(columns=REVIEW_COLUMNS).astype("object") for part in (errors, stale) if not part.empty]
    blockers = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=REVIEW_COLUMNS)
    return blockers.astype({"row": "Int64"})


@cache
def _empty() -> pd.DataFrame:
    return pd.DataFrame(columns=REVIEW_COLUMNS).astype({"row": "Int64"})


def _no_blockers() -> pd.DataFrame:
    """No reason (a frame of the blockers' columns, none of them): one per month, each its own."""
    return _empty().copy()


def outdated_validation(home: DataHome, connection: duckdb.DuckDBPyConnection, month: str) -> pd.DataFrame:
    """One row for the month (no authority) when its validation is out of date, naming every cause."""
    return _outdated(month, changes_since_validation_by_month(home, connection, [month])[month])


def _outdated(month: str, causes: list[str]) -> pd.DataFrame:
    if not causes:
        return _no_blockers()
    message = f"validated before a change: {'; '.join(causes)}: run the whole month again"
    return (
        pd.DataFrame([{"la_code": None, "period": month, "rule": OUTDATED_RULE, "message": message, "waived": False}])
        .reindex(columns=REVIEW_COLUMNS)
        .astype("object")
        .astype({"row": "Int64"})
    )


def guard_blockers(home: DataHome, connection: duckdb.DuckDBPyConnection, month: str) -> pd.DataFrame:
    """Every reason the month must not be published: the month's own first, then each authority's."""
    return guard_blockers_by_month(home, connection, [month])[month]


def guard_blockers_by_month(
    home: DataHome, connection: duckdb.DuckDBPyConnection, months: Sequence[str]
) -> dict[str, pd.DataFrame]:
    """`guard_blockers` of each of `months`, each table read once for all of them."""
    causes = changes_since_validation_by_month(home, connection, months)
    authorities = month_blockers_by_month(connection, months)
    blockers = {}
    for month in months:
        outdated = _outdated(month, causes[month])
        if outdated.empty:
            blockers[month] = authorities[month]
        elif authorities[month].empty:
            blockers[month] = outdated
        else:
            blockers[month] = pd.concat([outdated, authorities[month]], ignore_index=True)
    return blockers


def publication_blockers(home: DataHome, month: str) -> pd.DataFrame:
    with connect(home, read_only=True) as connection:  # the run's live warehouse, else the readers' snapshot
        return guard_blockers(home, connection, month)


def refusal(month: str, blockers: pd.DataFrame) -> str:
    """Why nothing was published, in one line."""
    first = blockers.iloc[0]
    whose = "" if pd.isna(first["la_code"]) else f" {first['la_code']}"
    return f"{month}: nothing published; {len(blockers)} reason(s), first{whose}: {first['message']}"
