"""The Dagster code location: assembles assets, checks, jobs, schedules and sensors."""
from __future__ import annotations

import dagster as dg

import assets
from pipelines.resources import MONTHS, DataHomeResource

monthly_release_job = dg.define_asset_job(
    "monthly_release",
    selection=dg.AssetSelection.all(),
    partitions_def=MONTHS,
    description="Validate, store and publish one month: the job the schedule, the sensor and `csc-returns run` use.",
)

defs = dg.Definitions(
    assets=dg.load_assets_from_package_module(assets),
    asset_checks=dg.load_asset_checks_from_package_module(assets),
    jobs=[monthly_release_job],
    resources={"data_home": DataHomeResource()},
)
