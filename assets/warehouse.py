"""Accepted indicator values: the figures that may be published."""

import dagster as dg

from assets.metadata import LA_CODE_COLUMN, PERIOD_COLUMN, failing_rows_table, figure_columns, month_check_results
from assets.returns import OWNERS, received_returns
from pipelines.orchestration.partitions import MONTHS, ONE_RUN_PER_RANGE
from pipelines.orchestration.resources import WAREHOUSE_POOL, DataHomeResource, WarehouseWriterResource
from pipelines.steps.monthly import publication_blockers, store_accepted_months

VALUES_SCHEMA = dg.TableSchema(
    columns=[
        LA_CODE_COLUMN,
        PERIOD_COLUMN,
        dg.TableColumn("sha256", "string", description="The return file the figures come from"),
        *figure_columns(),
    ]
)


@dg.asset(
    partitions_def=MONTHS,
    pool=WAREHOUSE_POOL,  # writes the warehouse: one at a time, and under the writer lock
    backfill_policy=ONE_RUN_PER_RANGE,
    deps=[received_returns],
    group_name="warehouse",
    kinds={"duckdb", "parquet"},
    owners=OWNERS,
    description=(
        "Figures of the month's accepted returns (no unwaived error), in DuckDB table "
        "`indicator_values` and Parquet under lake/indicator_values/period=YYYY-MM/."
    ),
    metadata={"dagster/column_schema": VALUES_SCHEMA, "dagster/table_name": "warehouse.duckdb: indicator_values"},
)
def indicator_values(
    context: dg.AssetExecutionContext, warehouse_writer: WarehouseWriterResource
) -> dg.MaterializeResult:
    months = list(context.partition_keys)
    accepted = store_accepted_months(warehouse_writer.home(), months)
    if len(months) > 1:
        return dg.MaterializeResult(
            metadata={
                "months": dg.MetadataValue.int(len(months)),
                "accepted_returns": dg.MetadataValue.int(len(accepted)),
            }
        )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": dg.MetadataValue.int(len(accepted)),
            "authorities": dg.MetadataValue.text(", ".join(accepted["la_code"]) or "none"),
        }
    )


@dg.asset_check(
    asset=indicator_values,
    partitions_def=MONTHS,
    blocking=True,
    description=(
        "The stored figures are exactly the month's accepted returns and none carries an unwaived "
        "error: the guard in front of publication."
    ),
)
def accepted_returns_clean(context: dg.AssetCheckExecutionContext, data_home: DataHomeResource):
    blockers = publication_blockers(data_home.home(), list(context.partition_keys))  # never waits for a writer
    results = {
        month: dg.AssetCheckResult(
            passed=errors.empty,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={"errors": dg.MetadataValue.int(len(errors)), **failing_rows_table(errors)},
        )
        for month, errors in blockers.items()
    }
    yield from month_check_results(context, {context.check_specs[0].key: results})
