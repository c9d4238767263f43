"""The month's open-data release, published only behind the rule book and the screener."""

import dagster as dg

from assets.metadata import month_check_results
from assets.returns import OWNERS
from assets.warehouse import indicator_values
from pipelines.orchestration.jobs import HELD_BACK_TAG
from pipelines.orchestration.partitions import MONTHS, ONE_RUN_PER_RANGE
from pipelines.orchestration.resources import (
    WAREHOUSE_POOL,
    DataHomeResource,
    PublishingResource,
    WarehouseWriterResource,
)
from pipelines.publish.ees import GEOGRAPHY_COLUMNS, TIME_COLUMNS, published_indicators
from pipelines.shown import markdown_text

RELEASE_SCHEMA = dg.TableSchema(
    columns=[
        *[
            dg.TableColumn(c, "string", description="EES time and geography column")
            for c in (*TIME_COLUMNS, *GEOGRAPHY_COLUMNS)
        ],
        *[
            dg.TableColumn(i.column, "string", description=f"{i.label}: a number or c, x, z")
            for i in published_indicators()
        ],
    ]
)


@dg.asset(
    partitions_def=MONTHS,
    pool=WAREHOUSE_POOL,  # writes the warehouse: one at a time, and under the writer lock
    backfill_policy=ONE_RUN_PER_RANGE,
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
def open_data_release(
    context: dg.AssetExecutionContext, warehouse_writer: WarehouseWriterResource, publishing: PublishingResource
):
    from pipelines.steps.monthly import PublishingError, publish_months

    home, months = warehouse_writer.home(), list(context.partition_keys)
    published, failures = {}, []
    try:  # publish_months asks the publication guard itself: blocking checks act only within one run
        # In calendar order, the files written and swapped once, then sent where this deployment publishes.
        summaries = publish_months(home, months, publishing.destination(), publishing.settings())
    except PublishingError as exc:  # a one-line reason for the steward, not a traceback
        summaries, failures = [], [str(exc)]
    for summary in summaries:
        if summary.refusal:
            failures.append(summary.refusal)
        elif not summary.screen_passed:
            failures.append(
                f"{summary.month}: the release failed the screen; nothing published "
                f"({'; '.join(summary.screen_findings[:3])})"
            )
        else:
            published[summary.month] = _release_metadata(summary)
    if not failures:
        only = (
            published[months[0]]
            if len(months) == 1
            else {
                "months": dg.MetadataValue.int(len(months)),
                "local_authority_rows": dg.MetadataValue.int(sum(s.la_rows for s in summaries if s.month in published)),
            }
        )
        yield dg.MaterializeResult(metadata=only)
        return
    entirely_held_back = [summary.month for summary in summaries if summary.nothing_accepted]
    if entirely_held_back:
        context.instance.add_run_tags(context.run_id, {HELD_BACK_TAG: ",".join(entirely_held_back)})
    # Some months of the range published and some not: record the published ones, then fail.
    for month, metadata in published.items():
        yield dg.AssetMaterialization(asset_key=context.asset_key, partition=month, metadata=metadata)
    raise dg.Failure(
        failures[0] if len(failures) == 1 else f"{len(failures)} month(s) not published; first: {failures[0]}",
        metadata={"not_published": dg.MetadataValue.md("\n".join(f"- {markdown_text(f)}" for f in failures))},
    )


def _release_metadata(summary) -> dict[str, dg.MetadataValue]:
    return {
        "local_authority_rows": dg.MetadataValue.int(summary.la_rows),
        "suppressed_cells": dg.MetadataValue.int(summary.suppressed_cells),
        "revisions": dg.MetadataValue.int(summary.revisions),
        "held_back": dg.MetadataValue.text(", ".join(summary.held_back) or "none"),
        "files": dg.MetadataValue.md("\n".join(f"- {markdown_text(f)}" for f in summary.files)),
        **_audit_metadata(summary.audit),
    }


def _audit_metadata(summary: dict) -> dict[str, dg.MetadataValue]:
    """The attacker's audit of the month (`audit.Audit.summary`): counts and a width, never a figure."""
    if not summary:
        return {}
    width = summary.get("narrowest_interval_width")
    return {
        "audit_cells_audited": dg.MetadataValue.int(int(summary["cells_audited"])),
        "audit_narrowest_interval_width": dg.MetadataValue.text("none" if width is None else str(width)),
        "audit_protected": dg.MetadataValue.bool(bool(summary["protected"])),
        "audit_identities_broken_by_real_figures": dg.MetadataValue.int(
            int(summary["identities_broken_by_real_figures"])
        ),
    }


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
def release_screen(context: dg.AssetCheckExecutionContext, data_home: DataHomeResource):
    from pipelines.steps.monthly import published_audits, screen_published

    months = list(context.partition_keys)
    screened = screen_published(data_home.home(), months)
    audits = published_audits(data_home.home(), months)
    results = {
        month: dg.AssetCheckResult(
            passed=not findings,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "screen_findings": dg.MetadataValue.md("\n".join(f"- {markdown_text(f)}" for f in findings) or "none"),
                **_audit_metadata(audits.get(month, {})),
            },
        )
        for month, findings in screened.items()
    }
    yield from month_check_results(context, {context.check_specs[0].key: results})
