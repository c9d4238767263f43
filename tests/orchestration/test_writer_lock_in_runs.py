"""Every Dagster run that writes the warehouse holds the data home's writer lock, whatever launched
it; a run that only checks reads the snapshot and never waits; a run killed while it held the lock
is marked failed by the next writer, so the `warehouse` pool cannot stay full."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid

import dagster as dg
import pytest
from orchestration_support import FAILING_CHECK, HELD_BACK_LA, HELD_BACK_MONTH, run_config, run_held_back_month

import assets
from assets.returns import received_returns
from pipelines.home import DataHome
from pipelines.orchestration.partitions import MONTHS
from pipelines.orchestration.resources import WAREHOUSE_POOL, WRITER_PROCESS_TAG, WRITER_TAG, pipeline_resources
from tests.conftest import hold_writer_lock

pytestmark = pytest.mark.xdist_group("dagster")


def _release_when_logged(
    instance: dg.DagsterInstance, line: str, holder: subprocess.Popen, seconds: float = 300
) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and holder.poll() is None:
        for run in instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])):
            if any(line in (event.user_message or "") for event in instance.all_logs(run.run_id)):
                holder.kill()
                return
        time.sleep(0.2)
    holder.kill()


def test_a_writing_run_waits_for_the_lock_says_for_whom_and_marks_runs_that_died_writing(tmp_path, demo_files):
    home = DataHome(tmp_path / "home")
    with dg.instance_for_test() as instance:
        ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
        gone, alive = f"{socket.gethostname()}:{ended.stdout.strip()}", f"{socket.gethostname()}:{os.getpid()}"

        def left_started(home_root, process: str) -> dg.DagsterRun:
            run = dg.DagsterRun(
                job_name="monthly_release",
                run_id=str(uuid.uuid4()),
                status=dg.DagsterRunStatus.STARTED,
                tags={WRITER_TAG: str(home_root), WRITER_PROCESS_TAG: process},
            )
            instance.add_run(run)
            return run

        dead = left_started(home.root, gone)  # its process was killed while it held this home's lock
        finishing = left_started(home.root, alive)  # let the lock go, still recording its success
        elsewhere = left_started(tmp_path / "other", gone)  # another home's
        holder = hold_writer_lock(home, 600)
        waiting = f"waiting for the run in process {holder.pid} that started at"
        # The holder lets go once the run says it waits for it (however long the run takes to start).
        releaser = threading.Thread(target=_release_when_logged, args=(instance, waiting, holder), daemon=True)
        releaser.start()
        try:
            result = run_held_back_month(instance, home, demo_files)
        finally:
            holder.kill()
            holder.wait()
        assert result.success
        messages = [event.user_message for event in instance.all_logs(result.run_id)]
        assert any(waiting in m for m in messages)
        run = instance.get_run_by_id(result.run_id)
        assert run.tags[WRITER_TAG] == str(home.root)
        assert run.run_op_concurrency.all_pools == {WAREHOUSE_POOL}  # what the queue counts
        assert instance.get_run_by_id(dead.run_id).status == dg.DagsterRunStatus.FAILURE
        assert instance.get_run_by_id(finishing.run_id).status == dg.DagsterRunStatus.STARTED
        assert instance.get_run_by_id(elsewhere.run_id).status == dg.DagsterRunStatus.STARTED


def test_a_run_that_only_checks_reads_the_snapshot_while_a_writer_holds_the_home(tmp_path, demo_files):
    home = DataHome(tmp_path / "home")
    checks_only = dg.define_asset_job(
        "checks_only", selection=dg.AssetSelection.checks_for_assets(received_returns), partitions_def=MONTHS
    )
    definitions = dg.Definitions(
        assets=dg.load_assets_from_package_module(assets),
        asset_checks=dg.load_asset_checks_from_package_module(assets),
        jobs=[checks_only],
        resources=pipeline_resources(str(tmp_path / "not-this-home")),  # the run's config gives the home
        executor=dg.in_process_executor,
    )
    with dg.instance_for_test() as instance:
        assert run_held_back_month(instance, home, demo_files).success
        holder = hold_writer_lock(home, 300)  # a writer busy for longer than this test may take
        try:
            started = time.monotonic()
            # As the UI launches a check alone: no asset selected, the month as the run's partition tag.
            result = definitions.resolve_job_def("checks_only").execute_in_process(
                tags={"dagster/partition": HELD_BACK_MONTH},
                instance=instance,
                run_config=run_config(home),
                raise_on_error=False,
            )
            took = time.monotonic() - started
        finally:
            holder.kill()
            holder.wait()
    assert result.success and took < 120 and not result.get_asset_materialization_events()
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert evaluations[FAILING_CHECK].passed is False  # read from the snapshot: the held-back return's error
    assert evaluations[FAILING_CHECK].metadata["authorities_affected"].text == HELD_BACK_LA
