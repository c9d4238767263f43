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
# The run's first failed step and the first line of its error, for `csc-returns run` to report
# (and a steward to see among the run's tags).
FAILURE_TAG = "csc/failure"
FAILURE_TAG_CHARS = 500  # one line: a step, an error and the file it names (a path can be long)
# The months of a run refused because every return was held back (comma-separated): the data did
# not pass, the run did its job, so `csc-returns run` says findings (exit 1), not a failed run.
HELD_BACK_TAG = "csc/held-back-entirely"


@dg.failure_hook
def tag_the_first_failure(context: dg.HookContext) -> None:
    """Tag the run with its first failed step and the first line of that step's error."""
    run = context.instance.get_run_by_id(context.run_id)
    if run is None or FAILURE_TAG in run.tags:
        return
    error = context.op_exception
    # A `dagster.Failure` is the pipeline's own one-line refusal: its description says it all.
    text = error.description if isinstance(error, dg.Failure) else str(error) if error is not None else ""
    lines = (text or "").strip().splitlines()
    named = "" if isinstance(error, dg.Failure) or error is None else f"{type(error).__name__}: "
    said = f"{named}{lines[0]}" if lines else named.rstrip(": ") or "failed"
    context.instance.add_run_tags(context.run_id, {FAILURE_TAG: f"{context.op.name}: {said}"[:FAILURE_TAG_CHARS]})


monthly_release_job = dg.define_asset_job(
    RELEASE_JOB,
    selection=dg.AssetSelection.all(),
    partitions_def=MONTHS,
    executor_def=dg.in_process_executor,
    hooks={tag_the_first_failure},
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
    hooks={tag_the_first_failure},
    description=(
        "Re-check one month without publishing: after a waiver or a resubmission, run the rule book "
        "again and store the accepted figures, then look at the checks before releasing the month "
        "with monthly_release."
    ),
)

JOBS = [monthly_release_job, reprocess_month_job]
