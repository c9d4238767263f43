"""Benchmarks as an improvement board reads them: England, region, statistical neighbours, quartiles."""

import json

import dagster as dg

from assets.metadata import LA_CODE_COLUMN, PERIOD_COLUMN, report_link
from assets.returns import OWNERS
from assets.warehouse import indicator_values
from pipelines.orchestration.partitions import MONTHS, ONE_RUN_PER_RANGE
from pipelines.orchestration.resources import WAREHOUSE_POOL, ReportsResource, WarehouseWriterResource
from pipelines.reference import TARGETS_FILE
from pipelines.scorecard.benchmarks import BENCHMARK_COLUMNS, MIN_AUTHORITIES
from pipelines.scorecard.targets import load_targets
from pipelines.steps.monthly import refresh_benchmarks

SHOWN_ROWS = 200
BENCHMARKS_SCHEMA = dg.TableSchema(
    columns=[
        LA_CODE_COLUMN,
        PERIOD_COLUMN,
        dg.TableColumn("indicator", "string", description="Rate or percentage of the return standard"),
        dg.TableColumn("value", "double", description="The authority's figure recomputed from its components (1 dp)"),
        dg.TableColumn("england", "double", description="England: summed numerators over summed denominators"),
        dg.TableColumn("england_authorities", "int", description="Authorities the England figure covers"),
        dg.TableColumn("region", "double", description="The authority's region, computed as England is"),
        dg.TableColumn("region_authorities", "int", description="Authorities the region figure covers"),
        dg.TableColumn("neighbours", "double", description="Mean of the statistical neighbours' values that returned"),
        dg.TableColumn("neighbours_authorities", "int", description="Neighbours in that mean (0: blank mean)"),
        dg.TableColumn("quartile", "int", description="1 (lowest value) to 4 among the authorities that returned"),
        dg.TableColumn("band", "string", description="A (best) to D by the indicator's polarity; blank without one"),
        dg.TableColumn(
            "source", "string", description="returns, or LAIT <year> when the month holds too few authorities"
        ),
    ]
)


class BenchmarksConfig(dg.Config):
    min_authorities: int = MIN_AUTHORITIES  # fewer in a month: England and region from annual figures


@dg.asset(
    partitions_def=MONTHS,
    pool=WAREHOUSE_POOL,  # writes the warehouse: one at a time, and under the writer lock
    backfill_policy=ONE_RUN_PER_RANGE,
    deps=[indicator_values],
    group_name="scorecard",
    kinds={"duckdb", "csv"},
    owners=OWNERS,
    metadata={"dagster/column_schema": BENCHMARKS_SCHEMA, "dagster/table_name": "warehouse.duckdb: benchmarks"},
    description=(
        "Each authority's rates and percentages against England, its region and its statistical "
        "neighbours, with its quartile and band, for every accepted month: DuckDB table `benchmarks` "
        "and <home>/reports/scorecard/benchmarks.csv. With fewer than `min_authorities` authorities in "
        "a month, England and region come from the imported annual figures (LAIT)."
    ),
)
def benchmarks(
    context: dg.AssetExecutionContext,
    config: BenchmarksConfig,
    warehouse_writer: WarehouseWriterResource,
    reports: ReportsResource,
) -> dg.MaterializeResult:
    home = warehouse_writer.home()
    # The metadata shows the run's latest month (the last of a range).
    month, rows, path = refresh_benchmarks(home, context.partition_keys[-1], min_authorities=config.min_authorities)
    # The board's authorities (those with targets) when targets are imported; else every authority.
    targets = home.reference / TARGETS_FILE
    if targets.exists() and not month.empty:
        boards = set(load_targets(targets)["la_code"])
        month = month[month["la_code"].isin(boards)] if boards & set(month["la_code"]) else month
    records = json.loads(month.reindex(columns=BENCHMARK_COLUMNS).head(SHOWN_ROWS).to_json(orient="records"))
    return dg.MaterializeResult(
        metadata={
            "rows": dg.MetadataValue.int(rows),
            "this_month": dg.MetadataValue.table(
                records=[dg.TableRecord(r) for r in records], schema=BENCHMARKS_SCHEMA
            ),
            "this_month_not_shown": dg.MetadataValue.int(max(len(month) - SHOWN_ROWS, 0)),
            **report_link("csv", reports.report_url(home, path)),
        }
    )
