"""A history in one run: a range of months gives what month-by-month runs give, with a check
result per month, and a resubmission re-runs only the months it touches."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from orchestration_support import HELD_BACK_LA, HELD_BACK_MONTH, land, run_config, warehouse_tables

from pipelines.exit_codes import FINDINGS, OK
from pipelines.home import DataHome
from pipelines.orchestration.runner import (
    launch_run,
    launched_run,
    month_ranges,
    months_in_landing,
    project_instance,
    published_months,
    run_failure,
)
from pipelines.reference import import_demo_reference

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("dagster")]
MONTHS = [str(p) for p in pd.period_range("2023-04", "2024-08", freq="M")]  # rolling sums, the held-back month, after
CHECKS = [
    ("received_returns", "structure_rules"),
    ("received_returns", "identity_rules"),
    ("received_returns", "completeness_rules"),
    ("received_returns", "consistency_rules"),
    ("received_returns", "plausibility_rules"),
    ("received_returns", "continuity_rules"),
    ("derived_months", "reconciliation_rules"),
    ("derived_months", "child_level_rules"),
]


def _home(root, demo_files, months) -> DataHome:
    home = DataHome(root).ensure()
    import_demo_reference(home)
    for month in months:
        land(home, demo_files[month])
    return home


def test_month_ranges_split_at_gaps():
    assert month_ranges(["2024-05", "2024-01", "2024-02", "2023-12", "2024-05"]) == [
        ("2023-12", "2024-02"),
        ("2024-05", "2024-05"),
    ]
    assert month_ranges([]) == []


def test_a_range_in_one_run_gives_the_month_by_month_results_and_a_check_result_per_month(tmp_path, demo_files):
    from pipelines.orchestration.definitions import defs

    job = defs.resolve_job_def("monthly_release")
    one_by_one = _home(tmp_path / "one_by_one", demo_files, MONTHS)
    batched = _home(tmp_path / "batched", demo_files, MONTHS)
    with dg.instance_for_test() as instance:
        for month in MONTHS:
            assert job.execute_in_process(
                partition_key=month, instance=instance, raise_on_error=False, run_config=run_config(one_by_one)
            ).success
    # The range runs through Dagster's command line, on the home's own instance.
    with project_instance(batched) as instance:
        launch = launch_run(job, instance, MONTHS[0], MONTHS[-1], batched)
        run = launched_run(instance, launch)
        assert run is not None and run_failure(run, launch) is None, launch.said
        assert published_months(instance, run, since=0.0) == MONTHS
        assert instance.get_runs_count() == 1
        for asset, check in CHECKS:
            key = dg.AssetCheckKey(dg.AssetKey(asset), check)
            infos = {
                i.partition_key: i.latest_execution_status.value
                for i in instance.event_log_storage.get_asset_check_partition_info([key])
            }
            assert sorted(infos) == MONTHS, check
            assert set(infos.values()) <= {"SUCCEEDED", "FAILED"}
        consistency = dg.AssetCheckKey(dg.AssetKey("received_returns"), "consistency_rules")
        history = instance.event_log_storage.get_asset_check_execution_history(consistency, limit=100)
        [held] = [record for record in history if record.partition == HELD_BACK_MONTH]
        evaluation = held.event.dagster_event.event_specific_data
        assert held.status.value == "FAILED" and evaluation.partition == HELD_BACK_MONTH
        rows = evaluation.metadata["failing_rows"].value.records
        assert {r.data["la_code"] for r in rows} == {HELD_BACK_LA}
        materialized = instance.get_materialized_partitions(dg.AssetKey("open_data_release"))
        assert sorted(materialized) == MONTHS

    expected, actual = warehouse_tables(one_by_one), warehouse_tables(batched)
    for name in expected:
        pd.testing.assert_frame_equal(actual[name], expected[name], check_dtype=False, obj=name)
    assert not expected["findings"].empty and (expected["returns"]["status"] == "held_back").sum() == 1
    series = "children_social_care_monthly.csv"
    assert (batched.publish / series).read_text() == (one_by_one.publish / series).read_text()


def test_a_resubmission_of_the_same_figures_reruns_its_month_alone(tmp_path, demo_files, monkeypatch):
    from pipelines.cli import main

    months = [str(p) for p in pd.period_range("2023-04", "2025-03", freq="M")]
    home = _home(tmp_path / "home", demo_files, months)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    (tmp_path / "dagster").mkdir()
    # OK or FINDINGS (the demo holds one return back): the run itself worked.
    assert main(["--home", str(home.root), "run"]) in (OK, FINDINGS)

    with dg.DagsterInstance.get() as instance:
        assert instance.get_runs_count() == 1  # 24 months, one run
    corrected = pd.read_csv(demo_files["2024-02"], dtype=str)
    corrected = corrected[corrected["la_code"] == "E06000009"]  # Blackpool's row again, in a file of its own
    resubmission = tmp_path / "SYNTHETIC-blackpool-2024-02-v2.csv"
    corrected.to_csv(resubmission, index=False)
    land(home, resubmission)

    # (Not asking months_in_landing first: archiving records the arrival, and the run would see nothing new.)
    assert main(["--home", str(home.root), "run"]) in (OK, FINDINGS)
    with dg.DagsterInstance.get() as instance:
        published = sorted(published_months(instance, run, since=0.0) for run in instance.get_runs())
        # The history, then the resubmitted month: the 12 after it read it, and validate as they did.
        assert published == [months, ["2024-02"]]
    assert months_in_landing(home)[0].now == months  # nothing new: running again re-checks every landed month


def test_a_range_run_left_behind_by_an_interrupted_command_is_stopped(tmp_path, demo_files):
    """The range's process writes under the command's writer lock: it must not outlive the command."""
    from pipelines.orchestration.runner import start_run, stop_unfinished

    home = _home(tmp_path / "home", demo_files, MONTHS[:2])
    launch = start_run(MONTHS[0], MONTHS[1], home)
    assert launch.running is not None and launch.running.poll() is None
    stop_unfinished(launch)
    assert launch.running.poll() is not None


def test_a_range_run_started_from_a_folder_with_its_own_assets_module_runs_ours(tmp_path, demo_files, monkeypatch):
    """`dg launch -m` puts its working folder first on the import path: started from an analyst's folder
    holding an `assets.py`, the run would import that instead of our code location."""
    from pipelines.orchestration.definitions import defs

    home = _home(tmp_path / "home", demo_files, MONTHS[:2])
    caller = tmp_path / "analyst"
    caller.mkdir()
    (caller / "assets.py").write_text("raise SystemExit('the caller folder assets.py was imported')\n")
    monkeypatch.chdir(caller)
    with project_instance(home) as instance:
        launch = launch_run(defs.resolve_job_def("monthly_release"), instance, MONTHS[0], MONTHS[1], home)
        run = launched_run(instance, launch)
        assert run is not None and run_failure(run, launch) is None, launch.said
        assert published_months(instance, run, since=0.0) == MONTHS[:2]


def _launchers_of_this_process() -> list[int]:
    """The live processes this one started to run `dg launch` (`launcher.start`), from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except (OSError, IndexError, ValueError):
            continue  # ended while read
        if parent == os.getpid() and b"pipelines.orchestration.launcher" in command:
            found.append(int(entry.name))
    return found


def test_the_range_process_started_ahead_ends_when_the_months_are_one_month(tmp_path, demo_files, monkeypatch):
    """`run` starts the process of a range run before it knows the months; when they are one month, that
    month runs in the command's own process, and the process started ahead must not outlive the command."""
    from pipelines.cli import main

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    (tmp_path / "dagster").mkdir()
    home = _home(tmp_path / "home", demo_files, MONTHS[:1])
    assert main(["--home", str(home.root), "run"]) in (OK, FINDINGS)
    assert _launchers_of_this_process() == []
    with project_instance(home) as instance:
        [run] = instance.get_runs()
        assert published_months(instance, run, since=0.0) == MONTHS[:1]


def test_the_range_process_started_ahead_ends_when_the_command_stops_before_its_run(tmp_path, demo_files):
    """The entry point starts the range's process before the command takes the writer lock: a
    command that gives up waiting for the lock must not leave that process behind."""
    from pipelines.cli import main
    from pipelines.exit_codes import LOCKED
    from tests.conftest import hold_writer_lock

    home = _home(tmp_path / "home", demo_files, MONTHS[:2])
    holder = hold_writer_lock(home, 30)
    try:
        assert main(["--home", str(home.root), "run", "--wait", "0"]) == LOCKED
        assert _launchers_of_this_process() == []
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize(
    ("argv", "ranges"),
    [
        (["run"], True),
        (["--home", "run", "run"], True),  # a home named `run`
        (["--home=/tmp/h", "run", "--json"], True),
        (["run", "--quiet", "--wait", "5"], True),
        (["run", "--month", "2024-06"], False),
        (["run", "--month=2024-06"], False),
        (["run", "--help"], False),
        (["--home", "run", "validate", "run"], False),
        (["validate", "run"], False),
        (["demo"], False),
        ([], False),
    ],
)
def test_the_entry_point_starts_a_range_process_only_for_a_run_of_the_landing_folder(argv, ranges):
    from pipelines.orchestration.launcher import runs_the_landing_folder

    assert runs_the_landing_folder(argv) is ranges


# Whole words a command line may hold (no abbreviated option: argparse would take `--mon` for
# `--month`, which the guess misses, harmlessly: the run then starts its own process).
_WORDS = [
    "run",
    "validate",
    "demo",
    "--home",
    "--month",
    "--month=2024-06",
    "2024-06",
    "--json",
    "--quiet",
    "--wait",
    "5",
    "--la-code",
    "E06000009",
    "--la-code=--month",
    "-h",
    "--help",
    "x.csv",
]
_COMMAND_LINES = st.builds(
    lambda before, command, after: [*before, *command, *after],
    st.lists(st.sampled_from(_WORDS), max_size=3) | st.sampled_from([[], ["--home", "run"], ["--home", "x.csv"]]),
    st.sampled_from([["run"], ["validate", "x.csv"], ["status"], []]),
    st.lists(st.sampled_from(_WORDS), max_size=4),
)


@settings(max_examples=400, deadline=None)
@given(_COMMAND_LINES)
def test_the_entry_points_guess_agrees_with_the_parser_on_every_command_it_accepts(argv):
    """Whatever the words, when the real parser accepts them, the guess made before it is loaded says
    a run of the landing folder exactly when the parser does (a command it refuses runs nothing)."""
    import contextlib
    import io

    from pipelines.cli.commands import build_parser
    from pipelines.orchestration.launcher import runs_the_landing_folder

    try:
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
            args = build_parser().parse_args(argv)
    except SystemExit:
        return  # refused, or --help: no run
    assert runs_the_landing_folder(argv) is (args.command == "run" and not args.month)
