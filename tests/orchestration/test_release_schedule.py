"""The monthly schedule: cron from configuration, London time, the previous month's partition."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
from dagster._utils.schedules import cron_string_iterator

from pipelines.orchestration import schedules
from pipelines.orchestration.definitions import defs

LONDON = ZoneInfo("Europe/London")


@pytest.fixture(scope="module")
def instance():
    with dg.instance_for_test() as test_instance:
        yield test_instance


def evaluate(schedule, instance, moment: dt.datetime):
    context = dg.build_schedule_context(
        instance=instance, scheduled_execution_time=moment, repository_def=defs.get_repository_def()
    )
    return schedule.evaluate_tick(context)


def test_default_is_the_third_at_six_london_for_the_monthly_job():
    schedule = defs.resolve_schedule_def(schedules.SCHEDULE_NAME)
    assert schedule.cron_schedule == "0 6 3 * *"
    assert schedule.execution_timezone == "Europe/London"
    assert schedule.job_name == "monthly_release"
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED


@pytest.mark.parametrize(
    ("moment", "month"),
    [
        (dt.datetime(2025, 7, 3, 6, 0, tzinfo=LONDON), "2025-06"),
        (dt.datetime(2025, 1, 3, 6, 0, tzinfo=LONDON), "2024-12"),  # across the year end
        (dt.datetime(2025, 4, 3, 6, 0, tzinfo=LONDON), "2025-03"),  # the financial year's last month
        # 00:30 on 1 Nov in London is still 31 Oct in UTC: the month is London's.
        (dt.datetime(2025, 11, 1, 0, 30, tzinfo=LONDON), "2025-10"),
    ],
)
def test_a_tick_requests_the_previous_month(instance, moment, month):
    schedule = defs.resolve_schedule_def(schedules.SCHEDULE_NAME)
    data = evaluate(schedule, instance, moment)
    (request,) = data.run_requests
    assert request.partition_key == month
    assert request.tags["csc/trigger"] == "schedule"


def test_ticks_fall_at_six_london_time_in_winter_and_summer():
    start = dt.datetime(2025, 1, 1, tzinfo=LONDON).timestamp()
    ticks = cron_string_iterator(start, "0 6 3 * *", "Europe/London")
    first_six = [next(ticks) for _ in range(7)]
    assert {(t.day, t.hour, t.minute) for t in first_six} == {(3, 6, 0)}
    assert first_six[0].utcoffset() == dt.timedelta(0)  # January: GMT
    assert first_six[6].utcoffset() == dt.timedelta(hours=1)  # July: BST


def test_cron_comes_from_the_deployment(instance):
    assert schedules.release_cron("30 7 5 * *") == "30 7 5 * *"
    assert schedules.release_cron(None) == schedules.release_cron(" ") == schedules.DEFAULT_CRON
    schedule = schedules.build_release_schedule(schedules.release_cron("30 7 5 * *"))
    assert schedule.cron_schedule == "30 7 5 * *"
    (request,) = evaluate(schedule, instance, dt.datetime(2025, 8, 5, 7, 30, tzinfo=LONDON)).run_requests
    assert request.partition_key == "2025-07"


def test_a_wrong_cron_is_refused_with_the_variable_named():
    with pytest.raises(schedules.ScheduleConfigError, match="CSC_RELEASE_CRON"):
        schedules.release_cron("every third day")


def test_automation_can_start_running():
    assert schedules.automation_running("running") and schedules.automation_running(" On ")
    assert not schedules.automation_running(None) and not schedules.automation_running("stopped")


def test_a_wrong_cron_in_the_environment_stops_the_code_location_from_loading():
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    env = {**os.environ, "CSC_RELEASE_CRON": "every third day"}
    done = subprocess.run(
        [sys.executable, "-c", "import pipelines.orchestration.definitions"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
    )
    assert done.returncode != 0
    assert "CSC_RELEASE_CRON='every third day' is not a cron expression" in done.stderr
