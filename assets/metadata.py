"""Turning findings into what the Dagster UI shows a data steward."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping

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


def month_check_evaluations(
    context: dg.AssetCheckExecutionContext, results: Mapping[str, dg.AssetCheckResult]
) -> Iterator:
    """One evaluation per month of the run, each recorded against its own partition.

    A run over a range of months (one process for a history, a single-run backfill) has no
    single partition key, and Dagster 1.13 records an `AssetCheckResult` returned from such a
    run without a partition; an `AssetCheckEvaluation` carries its partition itself, so the UI
    keeps a result per month however the months were run.
    """
    from dagster._core.definitions.asset_checks.asset_check_evaluation import (
        AssetCheckEvaluationTargetMaterializationData,
    )

    spec = context.check_specs[0]
    months = list(results)
    # The newest materialization of each month: the one this run just wrote (one per month).
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=spec.asset_key, asset_partitions=months), limit=len(months)
    ).records
    targets = {}
    for record in records:
        targets.setdefault(
            record.partition_key,
            AssetCheckEvaluationTargetMaterializationData(
                run_id=record.event_log_entry.run_id, storage_id=record.storage_id, timestamp=record.timestamp
            ),
        )
    for month, result in results.items():
        yield dg.AssetCheckEvaluation(
            asset_key=spec.asset_key,
            check_name=spec.name,
            passed=result.passed,
            metadata=result.metadata,
            severity=result.severity,
            description=result.description,
            blocking=spec.blocking,
            partition=month,
            target_materialization_data=targets.get(month),
        )
    yield dg.Output(None, output_name=context.op_def.output_defs[0].name)
