"""Dagster resources shared by every asset."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator

import dagster as dg

from pipelines.home import DataHome
from pipelines.home.lock import writer_lock

# Dagster's concurrency pool of the assets that write the warehouse (limit 1 in dagster.yaml).
WAREHOUSE_POOL = "warehouse"
# Tags of a run that has held a home's writer lock: the home, and the process that held it
# (`host:pid`), so a run killed while holding it can be told from one still finishing or waiting.
WRITER_TAG = "csc/writer_home"
WRITER_PROCESS_TAG = "csc/writer_process"
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
            context.instance.add_run_tags(
                context.run_id, {WRITER_TAG: str(home.root), WRITER_PROCESS_TAG: _this_process()}
            )
        yield home


def _fail_runs_that_died_writing(instance: dg.DagsterInstance, home: DataHome, run_id: str) -> None:
    """Mark failed the runs left unfinished by a process of this machine that died while it held
    the lock (killed, or the machine restarted). Left as they were, they would keep the `warehouse`
    pool full and the queue would never start another writer. A run whose process is alive (one
    that has just let the lock go and is recording its success) is left alone.
    """
    records = instance.get_run_records(dg.RunsFilter(statuses=_UNFINISHED, tags={WRITER_TAG: str(home.root)}))
    for record in records:
        run = record.dagster_run
        if run.run_id == run_id or not _died_here(run.tags.get(WRITER_PROCESS_TAG, "")):
            continue
        run = instance.get_run_by_id(run.run_id)  # read again: a run records its end before its process exits
        if run is not None and run.status in _UNFINISHED:
            instance.report_run_failed(
                run,
                f"its process ({run.tags[WRITER_PROCESS_TAG]}) ended while writing {home.root}; found by run {run_id}",
            )


def _this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _died_here(process: str) -> bool:
    host, _, pid = process.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another machine's process (run pods): Dagster's run monitoring watches those
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False
