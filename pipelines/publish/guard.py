"""The publication guard: the one place that says a month's stored figures must not be published.

Dagster's blocking checks stop a release only within one run, so the guard is asked twice: by
the blocking check in front of publication (`accepted_returns_clean`) and by `publish_month`
itself before it writes anything, whatever launched it.
"""
from __future__ import annotations

import duckdb
import pandas as pd

from pipelines.home import DataHome
from pipelines.store.month import accepted_values, month_findings, month_returns
from pipelines.store.warehouse import connect
from pipelines.validate.month import ACCEPTED
from pipelines.validate.waivers import unwaived_errors
from schemas.findings import REVIEW_COLUMNS

STALE_RULE = "stale_indicator_values"
STALE_MESSAGE = "the stored figures are not the current accepted return: run the whole month again"


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
    stale = (pd.DataFrame({"la_code": sorted({code for code, _ in pairs})}, dtype="object")
             .merge(returns[["la_code", "file", "row"]], on="la_code", how="left")
             .assign(period=month, column=None, value=None, expected=None, message=STALE_MESSAGE, rule=STALE_RULE,
                     waived=False))
    parts = [part.reindex(columns=REVIEW_COLUMNS).astype("object") for part in (errors, stale) if not part.empty]
    blockers = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=REVIEW_COLUMNS)
    return blockers.astype({"row": "Int64"})


def publication_blockers(home: DataHome, month: str) -> pd.DataFrame:
    with connect(home, read_only=True) as connection:  # the run's live warehouse, else the readers' snapshot
        return month_blockers(connection, month)


def refusal(month: str, blockers: pd.DataFrame) -> str:
    """Why nothing was published, in one line."""
    first = blockers.iloc[0]
    return f"{month}: nothing published; {len(blockers)} reason(s), first {first['la_code']}: {first['message']}"
