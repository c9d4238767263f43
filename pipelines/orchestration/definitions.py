"""The code location: assembles assets, checks, jobs, schedules, sensors and resources.

This is one of the two edges that read the environment (the other is the command line's entry
point): every variable through `dagster.EnvVar`, named in `pipelines/home/environment.py`, and
handed to the rest as resource fields and values. A value needed when the location loads (the
schedule's cron, whether automation starts running, which catalogue and which destination) is
read with `EnvVar.get_value`; the data home and the portal's settings are resolved when a run
starts, so a secret never appears in the UI.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from pipelines.home import environment, privacy, use_child_level_key_file
from schemas.catalogue import use_catalogue

# Which catalogue is in force decides the columns the assets' table schemas list: chosen before
# the assets are imported.
use_catalogue(Path(chosen) if (chosen := dg.EnvVar(environment.CATALOGUE).get_value()) else None)
# Every file a run writes into a data home is private; publish/ as the operator configures it.
privacy.configure(dg.EnvVar(environment.PUBLISH_MODE).get_value("") or "")
# Child-level pseudonyms are made with the operator's key where it is kept outside the home.
use_child_level_key_file(dg.EnvVar(environment.CHILD_LEVEL_KEY).get_value("") or None)

import assets  # noqa: E402
from pipelines.orchestration.jobs import JOBS, monthly_release_job, reprocess_month_job  # noqa: E402
from pipelines.orchestration.notifications import build_notification_sensors  # noqa: E402
from pipelines.orchestration.resources import PublishingResource, ReportsResource, pipeline_resources  # noqa: E402
from pipelines.orchestration.retention import build_purge_schedule, purge_child_level_job  # noqa: E402
from pipelines.orchestration.schedules import automation_running, build_release_schedule, release_cron  # noqa: E402
from pipelines.orchestration.sensors import build_history_readers_sensor, build_landing_sensor  # noqa: E402
from pipelines.orchestration.steward_jobs import STEWARD_JOBS  # noqa: E402


def publishing_from_environment() -> PublishingResource:
    """The publishing destination of this deployment: the publish folder unless
    $CSC_PUBLISH_DESTINATION says `ckan`, when the portal's settings and token are required (a run
    without them fails at its start, naming the variable) and resolved when each run starts."""
    common = {
        "base_url": dg.EnvVar(environment.PUBLISH_BASE_URL).get_value("") or "",
        "publisher_name": dg.EnvVar(environment.PUBLISHER_NAME).get_value("") or "",
    }
    destination = (dg.EnvVar(environment.PUBLISH_DESTINATION).get_value("") or "folder").strip().lower()
    if destination != "ckan":
        return PublishingResource(kind="folder", **common)
    return PublishingResource(
        kind="ckan",
        ckan_url=dg.EnvVar(environment.CKAN_URL),
        ckan_organisation=dg.EnvVar(environment.CKAN_ORGANISATION),
        ckan_dataset=dg.EnvVar(environment.CKAN_DATASET).get_value("") or "",
        ckan_token=dg.EnvVar(environment.CKAN_TOKEN),
        **common,
    )


def reports_from_environment() -> ReportsResource:
    """Where a browser reaches the reports and the UI ($CSC_REPORTS_URL, $CSC_UI_URL; defaults: the
    ports `csc-returns dev` uses on 127.0.0.1)."""
    return ReportsResource(
        reports_url=dg.EnvVar(environment.REPORTS_URL).get_value("") or "",
        ui_url=dg.EnvVar(environment.UI_URL).get_value("") or "",
    )


def build_definitions() -> dg.Definitions:
    running = automation_running(dg.EnvVar(environment.AUTOMATION).get_value(""))
    return dg.Definitions(
        assets=dg.load_assets_from_package_module(assets),
        asset_checks=dg.load_asset_checks_from_package_module(assets),
        jobs=[*JOBS, *STEWARD_JOBS, purge_child_level_job],
        schedules=[
            build_release_schedule(
                release_cron(dg.EnvVar(environment.RELEASE_CRON).get_value("")),
                default_status=dg.DefaultScheduleStatus.RUNNING if running else dg.DefaultScheduleStatus.STOPPED,
            ),
            build_purge_schedule(
                release_cron(dg.EnvVar(environment.RELEASE_CRON).get_value("")),
                default_status=dg.DefaultScheduleStatus.RUNNING if running else dg.DefaultScheduleStatus.STOPPED,
            ),
        ],
        sensors=[
            build_landing_sensor(
                monthly_release_job,
                default_status=dg.DefaultSensorStatus.RUNNING if running else dg.DefaultSensorStatus.STOPPED,
            ),
            build_history_readers_sensor(
                monthly_release_job,
                [reprocess_month_job],
                default_status=dg.DefaultSensorStatus.RUNNING if running else dg.DefaultSensorStatus.STOPPED,
            ),
            *build_notification_sensors(
                default_status=dg.DefaultSensorStatus.RUNNING if running else dg.DefaultSensorStatus.STOPPED
            ),
        ],
        # The data home is learned here once, from $CSC_HOME when a run starts.
        resources=pipeline_resources(
            dg.EnvVar(environment.HOME), publishing_from_environment(), reports_from_environment()
        ),
        # One process per run, as the jobs: the writer lock is then held once for the whole run, and
        # a selection materialised from the UI costs no process start per step.
        executor=dg.in_process_executor,
    )


defs = build_definitions()
