"""The code location: assembles assets, checks, jobs, schedules and sensors."""

from __future__ import annotations

import dagster as dg

import assets
from pipelines.orchestration.jobs import JOBS, monthly_release_job
from pipelines.orchestration.resources import DataHomeResource, warehouse_writer
from pipelines.orchestration.schedules import automation_running, build_release_schedule
from pipelines.orchestration.sensors import build_landing_sensor

_running = automation_running()

defs = dg.Definitions(
    assets=dg.load_assets_from_package_module(assets),
    asset_checks=dg.load_asset_checks_from_package_module(assets),
    jobs=JOBS,
    schedules=[
        build_release_schedule(
            default_status=dg.DefaultScheduleStatus.RUNNING if _running else dg.DefaultScheduleStatus.STOPPED
        )
    ],
    sensors=[
        build_landing_sensor(
            monthly_release_job,
            default_status=dg.DefaultSensorStatus.RUNNING if _running else dg.DefaultSensorStatus.STOPPED,
        )
    ],
    resources={"data_home": DataHomeResource(), "warehouse_writer": warehouse_writer},
    # One process per run, as the jobs: the writer lock is then held once for the whole run, and
    # a selection materialised from the UI costs no process start per step.
    executor=dg.in_process_executor,
)
