"""The private record of what each release disclosed: every count cell's exact figure, and whether
it went out as a number or was withheld.

Never served. Disclosure control of a month published again reads it (`publish/disclosure.py`,
`EarlierFigures`): the public keeps every release, so what an earlier release of the month printed,
or hid, bounds what this one may. Rows are only ever added, and adding the same release again adds
nothing.
"""

from __future__ import annotations

import hashlib

import duckdb
import pandas as pd

from pipelines.store.warehouse import has_table, transaction

DISCLOSED_COLUMNS = ("geography", "indicator", "figure", "published")  # the table: store/warehouse.py


def read_disclosed(connection: duckdb.DuckDBPyConnection, month: str) -> pd.DataFrame:
    """Every figure each earlier release of `month` disclosed or withheld, with the release it
    belongs to (`release`; empty for a first release)."""
    if not has_table(connection, "disclosed_figures"):  # a snapshot of a warehouse made before the record existed
        return pd.DataFrame(columns=["release", *DISCLOSED_COLUMNS])
    columns = ", ".join(["release", *DISCLOSED_COLUMNS])
    return connection.execute(
        f"SELECT {columns} FROM disclosed_figures WHERE period = ? ORDER BY recorded_at, release, geography, indicator",
        [month],
    ).df()


def record_disclosed(connection: duckdb.DuckDBPyConnection, month: str, figures: pd.DataFrame) -> None:
    """Add a release's figures (columns `DISCLOSED_COLUMNS`) to the record; a repeat adds nothing."""
    figures = figures[list(DISCLOSED_COLUMNS)].sort_values(["geography", "indicator"], ignore_index=True)
    release = hashlib.sha256(figures.to_csv(index=False).encode()).hexdigest()
    connection.register("release_figures", figures)
    try:
        with transaction(connection):
            connection.execute(
                "INSERT OR IGNORE INTO disclosed_figures SELECT ?, ?, geography, indicator, CAST(figure AS BIGINT), "
                "published, now() FROM release_figures",
                [month, release],
            )
    finally:
        connection.unregister("release_figures")
