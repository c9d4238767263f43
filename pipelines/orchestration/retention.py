"""The retention purge on the monthly schedule: a thin job calling `csc-returns purge`'s own step
(`pipelines.steps.retention.purge`: the same record, under the same writer lock, held for the run
by `warehouse_writer`). It runs on the release schedule's cron; without a retention period in
`<home>/child-level.toml` it purges nothing and says so."""

import dagster as dg

from pipelines.orchestration.jobs import tag_the_first_failure
from pipelines.orchestration.resources import WAREHOUSE_POOL, WarehouseWriterResource

PURGE_JOB = "purge_child_level"
PURGE_SCHEDULE = "child_level_purge_schedule"
PURGED_BY = "the monthly schedule"


@dg.op(pool=WAREHOUSE_POOL)
def purge_past_retention(context: dg.OpExecutionContext, warehouse_writer: WarehouseWriterResource) -> int:
    """Delete archived child-level workbooks past the home's retention period, recording each."""
    from pipelines.derive.settings import ChildLevelSettingsError
    from pipelines.steps.retention import purge

    trigger = context.run.tags.get("csc/trigger", "")
    try:
        summary = purge(warehouse_writer.home(), PURGED_BY if trigger == "schedule" else f"run {context.run_id}")
    except ChildLevelSettingsError as exc:
        context.log.error(str(exc))
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    for line in summary.lines():
        context.log.info(line)
    return len(summary.purged)


@dg.job(name=PURGE_JOB, hooks={tag_the_first_failure})
def purge_child_level_job():
    """Purge archived child-level workbooks older than the home's retention period (as `csc-returns purge`)."""
    purge_past_retention()


def build_purge_schedule(
    cron: str, default_status: dg.DefaultScheduleStatus = dg.DefaultScheduleStatus.STOPPED
) -> dg.ScheduleDefinition:
    from pipelines.orchestration.schedules import TIMEZONE

    return dg.ScheduleDefinition(
        name=PURGE_SCHEDULE,
        cron_schedule=cron,
        execution_timezone=TIMEZONE,
        job=purge_child_level_job,
        default_status=default_status,
        tags={"csc/trigger": "schedule"},
        description="Purges archived child-level workbooks past the home's retention period (child-level.toml), monthly.",
    )
