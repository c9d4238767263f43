"""The monthly schedule: release the previous month on a set day (default the 3rd at 06:00, London).

The cron comes from the environment so operations can move the day without a code change:

    CSC_RELEASE_CRON="0 6 5 * *"    # 5th of the month at 06:00 Europe/London

A tick on, say, 3 July 2025 builds partition 2025-06. Returns that arrive late are picked up by
the landing sensor, or by running the month again (docs/operations.md).
"""

from __future__ import annotations

import datetime as dt
import os

import dagster as dg
from dagster._utils.schedules import is_valid_cron_string

from pipelines.orchestration.jobs import monthly_release_job
from pipelines.orchestration.partitions import MONTHS

SCHEDULE_NAME = "monthly_release_schedule"
CRON_ENV = "CSC_RELEASE_CRON"
DEFAULT_CRON = "0 6 3 * *"
TIMEZONE = "Europe/London"
# Schedules and the sensor start STOPPED (a steward turns them on in the UI); a deployment sets
# CSC_AUTOMATION=running to have them on from the start.
AUTOMATION_ENV = "CSC_AUTOMATION"


class ScheduleConfigError(ValueError):
    pass


def release_cron(environ: dict[str, str] | None = None) -> str:
    environ = os.environ if environ is None else environ
    cron = (environ.get(CRON_ENV) or DEFAULT_CRON).strip()
    if not is_valid_cron_string(cron):
        raise ScheduleConfigError(f"{CRON_ENV}={cron!r} is not a cron expression (e.g. {DEFAULT_CRON!r})")
    return cron


def automation_running(environ: dict[str, str] | None = None) -> bool:
    environ = os.environ if environ is None else environ
    return environ.get(AUTOMATION_ENV, "").strip().lower() in ("running", "on", "1", "true")


def previous_month(moment: dt.datetime) -> str:
    """The month before `moment`'s month, as a partition key (YYYY-MM)."""
    first = moment.date().replace(day=1)
    return (first - dt.timedelta(days=1)).strftime("%Y-%m")


def build_release_schedule(
    cron: str | None = None,
    default_status: dg.DefaultScheduleStatus = dg.DefaultScheduleStatus.STOPPED,
) -> dg.ScheduleDefinition:
    cron = cron or release_cron()

    @dg.schedule(
        name=SCHEDULE_NAME,
        cron_schedule=cron,
        execution_timezone=TIMEZONE,
        job=monthly_release_job,
        default_status=default_status,
        description=(
            f"Releases the previous month ({cron}, {TIMEZONE}; set {CRON_ENV} to change it): "
            "archives what has landed, runs the rule book and publishes the accepted figures."
        ),
    )
    def monthly_release_schedule(context: dg.ScheduleEvaluationContext):
        moment = context.scheduled_execution_time or dt.datetime.now(dt.UTC)
        from zoneinfo import ZoneInfo

        month = previous_month(moment.astimezone(ZoneInfo(TIMEZONE)))
        if not MONTHS.has_partition_key(month):
            return dg.SkipReason(f"{month} is not a month of the release series")
        return dg.RunRequest(
            run_key=f"{month}@{moment.astimezone(ZoneInfo(TIMEZONE)).isoformat()}",
            partition_key=month,
            tags={"csc/trigger": "schedule"},
        )

    return monthly_release_schedule
