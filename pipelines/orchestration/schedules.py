"""The monthly schedule: release the previous month on a set day (default the 3rd at 06:00, London).

The cron comes from the deployment's environment so operations can move the day without a code
change (read by the code location, `definitions.py`):

    CSC_RELEASE_CRON="0 6 5 * *"    # 5th of the month at 06:00 Europe/London

A tick on, say, 3 July 2025 builds partition 2025-06. Returns that arrive late are picked up by
the landing sensor, or by running the month again (docs/operations.md).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg

from pipelines.home.environment import RELEASE_CRON
from pipelines.orchestration.jobs import monthly_release_job
from pipelines.orchestration.partitions import MONTHS
from schemas.month import Month

SCHEDULE_NAME = "monthly_release_schedule"
DEFAULT_CRON = "0 6 3 * *"
TIMEZONE = "Europe/London"
# Schedules and the sensor start STOPPED (a steward turns them on in the UI); a deployment sets
# CSC_AUTOMATION=running to have them on from the start.
RUNNING = ("running", "on", "1", "true")


class ScheduleConfigError(ValueError):
    pass


def release_cron(configured: str | None) -> str:
    """The schedule's cron: `configured` ($CSC_RELEASE_CRON) or the default; a cron Dagster would
    refuse stops the code location here, with the variable named."""
    cron = (configured or "").strip() or DEFAULT_CRON
    try:  # Dagster's own judgement of a cron string, through the public definition it checks
        dg.ScheduleDefinition(name="cron_check", cron_schedule=cron, job_name="cron_check")
    except dg.DagsterInvalidDefinitionError:
        raise ScheduleConfigError(f"{RELEASE_CRON}={cron!r} is not a cron expression (e.g. {DEFAULT_CRON!r})") from None
    return cron


def automation_running(configured: str | None) -> bool:
    """Whether `configured` ($CSC_AUTOMATION) asks for the schedule and the sensor to start running."""
    return (configured or "").strip().lower() in RUNNING


def previous_month(moment: dt.datetime) -> str:
    """The month before `moment`'s month, as a partition key (YYYY-MM)."""
    return str(Month.containing(moment.date()) - 1)


def build_release_schedule(
    cron: str = DEFAULT_CRON,
    default_status: dg.DefaultScheduleStatus = dg.DefaultScheduleStatus.STOPPED,
) -> dg.ScheduleDefinition:
    @dg.schedule(
        name=SCHEDULE_NAME,
        cron_schedule=cron,
        execution_timezone=TIMEZONE,
        job=monthly_release_job,
        default_status=default_status,
        description=(
            f"Releases the previous month ({cron}, {TIMEZONE}; set {RELEASE_CRON} to change it): "
            "archives what has landed, runs the rule book and publishes the accepted figures."
        ),
    )
    def monthly_release_schedule(context: dg.ScheduleEvaluationContext):
        moment = (context.scheduled_execution_time or dt.datetime.now(dt.UTC)).astimezone(ZoneInfo(TIMEZONE))
        month = previous_month(moment)
        if not MONTHS.has_partition_key(month):
            return dg.SkipReason(f"{month} is not a month of the release series")
        return dg.RunRequest(
            run_key=f"{month}@{moment.isoformat()}",
            partition_key=month,
            tags={"csc/trigger": "schedule"},
        )

    return monthly_release_schedule
