"""The month's open-data release, published only behind the rule book and the screener."""

import dagster as dg

from assets.returns import OWNERS
from assets.warehouse import indicator_values
from pipelines.home import DataHome
from pipelines.orchestration.partitions import MONTHS
from pipelines.orchestration.resources import WAREHOUSE_POOL, DataHomeResource
from pipelines.publish.ees import GEOGRAPHY_COLUMNS, TIME_COLUMNS, published_indicators

RELEASE_SCHEMA = dg.TableSchema(columns=[
    *[dg.TableColumn(c, "string", description="EES time and geography column") for c in (*TIME_COLUMNS, *GEOGRAPHY_COLUMNS)],
    *[dg.TableColumn(i.column, "string", description=f"{i.label}: a number or c, x, z")
      for i in published_indicators()],
])


@dg.asset(
    partitions_def=MONTHS,
    pool=WAREHOUSE_POOL,  # writes the warehouse: one at a time, and under the writer lock
    deps=[indicator_values],
    group_name="publishing",
    kinds={"csv"},
    owners=OWNERS,
    metadata={"dagster/column_schema": RELEASE_SCHEMA},
    description=(
        "Open data for the month in the DfE EES layout (data + .meta.csv, regional and England rows, "
        "disclosure control), screened before it is swapped into <home>/publish/."
    ),
)
def open_data_release(context: dg.AssetExecutionContext, data_home: DataHomeResource,
                      warehouse_writer: dg.ResourceParam[DataHome]) -> dg.MaterializeResult:
    from pipelines.publish.release import PublishingError, publish_month

    home, month = data_home.home(), context.partition_key
    try:  # publish_month asks the publication guard itself: blocking checks act only within one run
        summary = publish_month(home, month)
    except PublishingError as exc:  # a one-line reason for the steward, not a traceback
        raise dg.Failure(str(exc)) from None
    if not summary.screen_passed:
        raise dg.Failure(f"{month}: the release failed the screen; nothing published",
                         metadata={"screen_findings": dg.MetadataValue.md("\n".join(f"- {f}" for f in summary.screen_findings))})
    return dg.MaterializeResult(metadata={
        "local_authority_rows": dg.MetadataValue.int(summary.la_rows),
        "suppressed_cells": dg.MetadataValue.int(summary.suppressed_cells),
        "revisions": dg.MetadataValue.int(summary.revisions),
        "held_back": dg.MetadataValue.text(", ".join(summary.held_back) or "none"),
        "files": dg.MetadataValue.md("\n".join(f"- `{f}`" for f in summary.files)),
    })


@dg.asset_check(
    asset=open_data_release,
    partitions_def=MONTHS,
    blocking=True,
    description=(
        "The published files pass the EES screen (DfE's open-data standard): files paired with "
        "their .meta.csv, mandatory columns, snake_case, valid time identifiers, LA codes, names "
        "and regions as on the register, no duplicate rows, only the symbols c, x, z, low, u."
    ),
)
def release_screen(context: dg.AssetCheckExecutionContext, data_home: DataHomeResource) -> dg.AssetCheckResult:
    from pipelines.publish.release import screen_published

    findings = screen_published(data_home.home(), context.partition_key)
    return dg.AssetCheckResult(
        passed=not findings, severity=dg.AssetCheckSeverity.ERROR,
        metadata={"screen_findings": dg.MetadataValue.md("\n".join(f"- {f}" for f in findings) or "none")},
    )
