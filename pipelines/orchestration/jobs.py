"""Jobs, one per thing a steward does: release a month, or re-check a month without publishing.

Both jobs run in one process: every step opens the single-writer DuckDB warehouse, so steps
must not run side by side (the `warehouse` pool of dagster.yaml also keeps one writing run at a
time), the run holds the writer lock once for all its steps, and one process saves the ~2 s
Python start-up each step would cost with the multiprocess executor.
"""

from __future__ import annotations

import dagster as dg

from pipelines.orchestration.partitions import MONTHS

RELEASE_JOB = "monthly_release"
REPROCESS_JOB = "reprocess_month"

monthly_release_job = dg.define_asset_job(
    RELEASE_JOB,
    selection=dg.AssetSelection.all(),
    partitions_def=MONTHS,
    executor_def=dg.in_process_executor,
    description=(
        "Validate, store and publish one month: archive what has landed, run the rule book, store "
        "the accepted figures and publish the open-data release. The schedule, the landing sensor "
        "and `csc-returns run` use this job."
    ),
)

reprocess_month_job = dg.define_asset_job(
    REPROCESS_JOB,
    # Everything upstream of publication, with the checks of those assets.
    selection=dg.AssetSelection.groups("returns", "warehouse"),
    partitions_def=MONTHS,
    executor_def=dg.in_process_executor,
    description=(
        "Re-check one month without publishing: after a waiver or a resubmission, run the rule book "
        "again and store the accepted figures, then look at the checks before releasing the month "
        "with monthly_release."
    ),
)

JOBS = [monthly_release_job, reprocess_month_job]
