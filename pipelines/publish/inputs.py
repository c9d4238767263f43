"""What a release reads from the warehouse, for all its months in one short read-only connection:
each month's accepted figures, its held-back authorities, its date (the day its latest accepted
return arrived, so that the same inputs give the same bytes) and what earlier releases of it
disclosed."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import duckdb
import pandas as pd

from pipelines.publish.across_releases import earlier_figures
from pipelines.publish.disclosure import EarlierFigures
from pipelines.store.disclosed import disclosed_by_month
from pipelines.store.month import accepted_since_by_month, accepted_values_by_month, held_back_by_month


@dataclass(frozen=True)
class ReleaseInputs:
    values: pd.DataFrame  # accepted authority rows for the month
    held_back: list[str]
    as_of: str  # ISO date the latest accepted return arrived: the release's deterministic date
    earlier: EarlierFigures  # what earlier releases of the month disclosed (store/disclosed.py)
    recorded: set[str]  # the names of the month's releases on the record


def read_inputs(
    connection: duckdb.DuckDBPyConnection, months: list[str], registered: Collection[str]
) -> dict[str, ReleaseInputs | str]:
    """Each month's inputs to its release; for a month with nothing to publish, why (one line).
    Held-back authorities are named by their codes in the register (`registered`) only."""
    values = accepted_values_by_month(connection, months)
    arrived = accepted_since_by_month(connection, months)
    held_back = held_back_by_month(connection, months, registered)
    disclosed = disclosed_by_month(connection, months)
    inputs: dict[str, ReleaseInputs | str] = {}
    for month in months:
        if values[month].empty:
            inputs[month] = f"no accepted returns for {month}: nothing to publish"
            continue
        when = arrived[month]
        inputs[month] = ReleaseInputs(
            values=values[month].drop(columns=["sha256"]),
            held_back=held_back[month],
            as_of=when.date().isoformat() if when is not None else f"{month}-01",
            earlier=earlier_figures(disclosed[month]),
            recorded={release for release, *_ in disclosed[month]},
        )
    return inputs
