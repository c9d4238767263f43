"""Turning findings into what the Dagster UI shows a data steward."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
import pandas as pd

from schemas.catalogue import indicators_by_column
from schemas.findings import REVIEW_COLUMNS

SHOWN_ROWS = 50
LA_CODE_COLUMN = dg.TableColumn("la_code", "string", description="Authority (ONS code)")
PERIOD_COLUMN = dg.TableColumn("period", "string", description="Month, YYYY-MM")
FAILING_ROW_SCHEMA = dg.TableSchema(
    columns=[
        LA_CODE_COLUMN,
        PERIOD_COLUMN,
        dg.TableColumn("column", "string", description="Column of the return"),
        dg.TableColumn("value", "string", description="Value as submitted"),
        dg.TableColumn("expected", "string", description="What the rule expected"),
        dg.TableColumn("message", "string", description="The finding in plain English"),
        dg.TableColumn("rule", "string", description="Rule id (docs/rules.md)"),
        dg.TableColumn("file", "string", description="File as submitted"),
        dg.TableColumn("row", "int", description="Row in that file"),
        dg.TableColumn("waived", "bool", description="Accepted or overridden by a steward"),
    ]
)


def figure_columns() -> list[dg.TableColumn]:
    """A column of the schema per figure of the catalogue, labelled as in the return standard."""
    return [
        dg.TableColumn(i.column, "double", description=i.label) for i in indicators_by_column().values() if i.is_numeric
    ]


def failing_rows_table(findings: pd.DataFrame) -> dict[str, dg.MetadataValue]:
    """The first SHOWN_ROWS findings as a table, and how many more there are (events stay small)."""
    shown = findings.reindex(columns=REVIEW_COLUMNS).head(SHOWN_ROWS)
    # JSON round trip: table cells accept only plain str/int/float/bool/None.
    records = json.loads(shown.to_json(orient="records"))
    return {
        "failing_rows": dg.MetadataValue.table(records=[dg.TableRecord(r) for r in records], schema=FAILING_ROW_SCHEMA),
        "failing_rows_not_shown": dg.MetadataValue.int(max(len(findings) - SHOWN_ROWS, 0)),
    }


def report_link(name: str, url: str | None) -> dict[str, dg.MetadataValue]:
    """`{name: the report's URL}` for the UI to open, or nothing when the report is not there."""
    return {name: dg.MetadataValue.url(url)} if url else {}


def month_check_results(
    context: dg.AssetCheckExecutionContext, results: Mapping[dg.AssetCheckKey, Mapping[str, dg.AssetCheckResult]]
) -> Iterator[dg.AssetCheckResult | dg.AssetCheckEvaluation | dg.Output]:
    """Each check's result for each month of the run, every one recorded against its own month.

    One month (the schedule, the sensor, a month launched in the UI): an `AssetCheckResult` per
    check, which Dagster records against the run's partition and the month's materialization.
    A range of months in one run (a single-run backfill, `csc-returns run` over a history) has no
    single partition, and Dagster 1.13 records an `AssetCheckResult` of such a run against no
    month; so each month's result is an `AssetCheckEvaluation` naming its partition (the public
    event for a result recorded after the fact), and the step then gives each output Dagster
    selected for it (`selected_output_names`), which the steps behind a blocking check wait for.
    What Dagster cannot be told through its public API in 1.13 is which materialization each
    such evaluation judged; the UI's partition status of the check then shows the month as
    checked before its latest materialization, while the month's result, rows and history are
    all there (docs/operations.md, Backfills).
    """
    if context.has_partition_key:
        month = context.partition_key
        for key, by_month in results.items():
            yield dg.AssetCheckResult(asset_key=key.asset_key, check_name=key.name, **_outcome(by_month[month]))
        return
    blocking = {spec.key: spec.blocking for spec in context.check_specs}
    for key, by_month in results.items():
        for month, result in by_month.items():
            yield dg.AssetCheckEvaluation(
                asset_key=key.asset_key,
                check_name=key.name,
                blocking=blocking.get(key, False),
                partition=month,
                **_outcome(result),
            )
    for name in sorted(context.op_execution_context.selected_output_names):
        yield dg.Output(None, output_name=name)


def _outcome(result: dg.AssetCheckResult) -> dict[str, Any]:
    return {
        "passed": result.passed,
        "severity": result.severity,
        "metadata": result.metadata,
        "description": result.description,
    }
