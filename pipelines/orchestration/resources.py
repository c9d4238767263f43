"""Dagster resources shared by every asset."""
from __future__ import annotations

import sys
from collections.abc import Iterator

import dagster as dg

from pipelines.home import DataHome
from pipelines.lock import writer_lock

# Dagster's concurrency pool of the assets that write the warehouse (limit 1 in dagster.yaml).
WAREHOUSE_POOL = "warehouse"
# Tag of a run that has held a home's writer lock (value: the home), so a run killed while holding
# it can be told apart from one still waiting for it.
WRITER_TAG = "csc/writer_home"
_UNFINISHED = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]


class DataHomeResource(dg.ConfigurableResource):
    """Where the pipeline keeps its archive, warehouse and publications (`--home`, `CSC_HOME`)."""

    path: str = ""  # empty: CSC_HOME, else ./data, read when a run starts
    validation_engine: str = "gx"

    def home(self) -> DataHome:
        return DataHome.resolve(self.path or None).ensure()


@dg.resource(
    required_resource_keys={"data_home"},
    description=(
        "The data home's writer lock (<home>/.writer.lock), held from the start of a run that writes "
        "the warehouse to its end, whatever launched it: the daemon, the sensor, the schedule, the UI "
        "or `csc-returns run` (whose own lock it re-enters). A second writer waits, saying for whom."
    ),
)
def warehouse_writer(context: dg.InitResourceContext) -> Iterator[DataHome]:
    home: DataHome = context.resources.data_home.home()

    def announce(line: str) -> None:
        print(line, file=sys.stderr, flush=True)
        if context.log is not None:
            context.log.info(line)

    with writer_lock(home, announce=announce):
        if context.instance is not None and context.run_id:
            _fail_runs_that_died_writing(context.instance, home, context.run_id)
            context.instance.add_run_tags(context.run_id, {WRITER_TAG: str(home.root)})
        yield home


def _fail_runs_that_died_writing(instance: dg.DagsterInstance, home: DataHome, run_id: str) -> None:
    """Mark failed the runs left unfinished by a process killed while it held the lock.

    We hold the lock now, so no other run that once held it is still alive. Left as they were,
    they would keep the `warehouse` pool full and the queue would never start another writer.
    """
    records = instance.get_run_records(dg.RunsFilter(statuses=_UNFINISHED, tags={WRITER_TAG: str(home.root)}))
    for record in records:
        if record.dagster_run.run_id != run_id:
            instance.report_run_failed(record.dagster_run, f"its process ended while writing {home.root} "
                                                           f"(found by run {run_id}, which holds the lock now)")
