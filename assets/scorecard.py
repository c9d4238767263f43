"""The improvement board's scorecard: each authority's figures against its targets."""

import dagster as dg

from assets.benchmarks import benchmarks
from assets.metadata import LA_CODE_COLUMN, PERIOD_COLUMN, report_link
from assets.returns import OWNERS
from assets.warehouse import indicator_values
from pipelines.orchestration.partitions import MONTHS, ONE_RUN_PER_RANGE
from pipelines.orchestration.resources import WAREHOUSE_POOL, ReportsResource, WarehouseWriterResource
from pipelines.steps.monthly import refresh_scorecard

SCORECARD_SCHEMA = dg.TableSchema(
    columns=[
        LA_CODE_COLUMN,
        PERIOD_COLUMN,
        dg.TableColumn("indicator", "string", description="Column of the return the target is set on"),
        dg.TableColumn("value", "double", description="The accepted figure"),
        dg.TableColumn("target", "double", description="The improvement board's target in force that month"),
        dg.TableColumn("polarity", "string", description="high or low: which side of the target is good"),
        dg.TableColumn("amber_tolerance", "double", description="How far from the target is still amber"),
        dg.TableColumn("from_month", "string", description="First month the target applies"),
        dg.TableColumn("shortfall", "double", description="How far the target is missed (0 when met)"),
        dg.TableColumn("rag", "string", description="green, amber or red"),
    ]
)


@dg.asset(
    partitions_def=MONTHS,
    pool=WAREHOUSE_POOL,  # writes the warehouse: one at a time, and under the writer lock
    backfill_policy=ONE_RUN_PER_RANGE,
    deps=[indicator_values, benchmarks],
    group_name="scorecard",
    kinds={"duckdb", "html"},
    owners=OWNERS,
    metadata={"dagster/column_schema": SCORECARD_SCHEMA, "dagster/table_name": "warehouse.duckdb: scorecard"},
    description=(
        "Red, amber or green per authority, month and targeted indicator (targets from "
        "<home>/reference/targets.csv), in DuckDB table `scorecard` and as CSV and an HTML page "
        "with a summary table and a trend chart per indicator against its target line and, from the "
        "benchmarks, England and the statistical neighbours, under <home>/reports/scorecard/."
    ),
)
def scorecard(
    context: dg.AssetExecutionContext, warehouse_writer: WarehouseWriterResource, reports: ReportsResource
) -> dg.MaterializeResult:
    home = warehouse_writer.home()
    result = refresh_scorecard(home)
    if result is None:
        return dg.MaterializeResult(metadata={"targets": dg.MetadataValue.text("no targets imported")})
    table, files = result
    # The page covers every month; the table shows the run's months (the last of a range).
    month = table[table["period"] == context.partition_keys[-1]]
    return dg.MaterializeResult(
        metadata={
            "rows": dg.MetadataValue.int(len(table)),
            "this_month": dg.MetadataValue.md(
                month[["la_code", "indicator", "value", "target", "rag"]].to_markdown(index=False)
                if not month.empty
                else "no targeted figures this month"
            ),
            **report_link("page", reports.report_url(home, files.html)),
        }
    )
