"""The benchmarks in the warehouse: table `benchmarks`, and what each month's rows were built from.

A month's benchmarks read that month's accepted figures and the reference only (England, region and
neighbours are per month), so a run rebuilds the months whose figures changed since they were built,
not the whole history. `benchmark_inputs` holds, per month, a digest of the `indicator_values` rows
it was built from and the basis (the reference files' digests and the settings) it was built on; a
month whose digest or basis differs now is built again, and a month no longer accepted is dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb
import pandas as pd

from pipelines.store.warehouse import export_csv, has_table, replace_rows, replace_table, scalar, transaction

BENCHMARKS_TABLE = "benchmarks"
INPUTS_TABLE = "benchmark_inputs"
ROW_ORDER = "la_code, period, indicator"


def accepted_digests(connection: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """{month: digest of its accepted rows}: their count and the XOR of every whole row's hash (order
    free; a changed, added or removed row changes it)."""
    rows = connection.execute(
        "SELECT period, count(*), bit_xor(hash(v)) FROM indicator_values AS v GROUP BY period"
    ).fetchall()
    return {period: f"{count}:{digest}" for period, count, digest in rows}


def built_digests(connection: duckdb.DuckDBPyConnection, basis: str) -> dict[str, str]:
    """{month: digest of the rows it was built from} for the months built on `basis`."""
    if not (has_table(connection, BENCHMARKS_TABLE) and has_table(connection, INPUTS_TABLE)):
        return {}
    return dict(connection.execute(f"SELECT period, digest FROM {INPUTS_TABLE} WHERE basis = ?", [basis]).fetchall())


def store_benchmarks(
    connection: duckdb.DuckDBPyConnection,
    table: pd.DataFrame,
    months: Sequence[str],
    digests: dict[str, str],
    basis: str,
    whole: bool,
) -> None:
    """Replace the rows of `months` with `table` (their benchmarks) and record what each was built
    from (`digests` of the months still accepted); `whole`: `table` is every month, the table is
    made again from it. One transaction."""
    inputs = pd.DataFrame(
        {"period": [m for m in months if m in digests], "digest": [digests[m] for m in months if m in digests]}
    ).assign(basis=basis)
    with transaction(connection):
        if whole:
            replace_table(connection, BENCHMARKS_TABLE, table)
            replace_table(connection, INPUTS_TABLE, inputs.astype("string"))
        else:
            selected = "list_contains(?, period)"
            replace_rows(connection, BENCHMARKS_TABLE, table, selected, [list(months)])
            replace_rows(connection, INPUTS_TABLE, inputs, selected, [list(months)])


def month_benchmarks(connection: duckdb.DuckDBPyConnection, month: str) -> pd.DataFrame:
    """The month's rows of table `benchmarks`, in the CSV's order."""
    return connection.execute(f"SELECT * FROM {BENCHMARKS_TABLE} WHERE period = ? ORDER BY {ROW_ORDER}", [month]).df()


def benchmark_rows(connection: duckdb.DuckDBPyConnection) -> int:
    return int(scalar(connection, f"SELECT count(*) FROM {BENCHMARKS_TABLE}"))


def export_benchmarks(connection: duckdb.DuckDBPyConnection, columns: Sequence[str], target: Path) -> Path:
    """Every month's benchmarks as one CSV, `columns` in order, rows by authority, month and indicator."""
    selected = ", ".join(f'"{c}"' for c in columns)
    return export_csv(connection, f"SELECT {selected} FROM {BENCHMARKS_TABLE} ORDER BY {ROW_ORDER}", target)
