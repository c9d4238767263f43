"""The Dagster instance belongs to the data home: `<home>/.dagster/`, from the packaged dagster.yaml,
unless DAGSTER_HOME is set. Two homes' runs never mix."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter

import dagster as dg
import pytest
from orchestration_support import land, run_config

from pipelines.cli import main
from pipelines.home import DataHome
from pipelines.orchestration.runner import INSTANCE_TEMPLATE, instance_home, project_instance
from pipelines.reference import import_demo_reference
from tests.conftest import REPO, months_of_run

pytestmark = pytest.mark.xdist_group("dagster")


def _runs_by_month(folder) -> Counter:
    with dg.DagsterInstance.from_config(str(folder)) as instance:
        return Counter(month for run in instance.get_runs() for month in months_of_run(run))


def _home(root, demo_files, months: list[str]) -> DataHome:
    home = DataHome(root).ensure()
    import_demo_reference(home)
    for month in months:
        land(home, demo_files[month])
    return home


def test_two_homes_cli_runs_land_in_two_instances(tmp_path, demo_files, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv("CSC_HOME", str(tmp_path / "unused"))  # --home wins; the run is handed its home as a value
    monkeypatch.chdir(tmp_path)
    first = _home(tmp_path / "first", demo_files, ["2023-04"])
    second = _home(tmp_path / "second", demo_files, ["2023-05", "2023-06"])
    assert main(["--home", str(first.root), "run"]) == 0
    assert main(["--home", str(second.root), "run"]) == 0
    assert _runs_by_month(first.instance) == {"2023-04": 1}
    assert _runs_by_month(second.instance) == {"2023-05": 1, "2023-06": 1}
    assert os.environ["CSC_HOME"] == str(tmp_path / "unused")  # nothing travels through the environment
    for home in (first, second):
        with dg.DagsterInstance.from_config(str(home.instance)) as instance:
            [run] = instance.get_runs()
            assert run.run_config["resources"]["data_home"]["config"]["path"] == str(home.root)
    assert not (tmp_path / ".dagster").exists()  # nothing in the working directory
    for home in (first, second):  # the project's configuration, with the warehouse pool of one
        assert (home.instance / "dagster.yaml").read_text() == INSTANCE_TEMPLATE.read_text()
        with dg.DagsterInstance.from_config(str(home.instance)) as instance:
            pools = instance.get_concurrency_config().pool_config
            assert pools.default_pool_limit == 1 and pools.pool_granularity.value == "run"
            assert str(home.instance) in instance.root_directory


def test_execute_in_process_without_dagster_home_records_in_the_home(tmp_path, demo_files, monkeypatch):
    from pipelines.orchestration.definitions import defs

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    home = _home(tmp_path / "home", demo_files, ["2023-04"])
    job = defs.resolve_job_def("monthly_release")
    with project_instance(home) as instance:
        assert job.execute_in_process(partition_key="2023-04", instance=instance, run_config=run_config(home)).success
    assert (home.instance / "storage").is_dir()
    assert _runs_by_month(home.instance) == {"2023-04": 1}

    elsewhere = tmp_path / "dagster-home"
    elsewhere.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(elsewhere))  # an operator's own instance wins
    other = DataHome(tmp_path / "other")
    assert instance_home(other) == elsewhere and not other.instance.exists()


def test_an_edited_instance_configuration_is_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    home = DataHome(tmp_path / "home")
    folder = instance_home(home)
    edited = INSTANCE_TEMPLATE.read_text().replace("max_concurrent_runs: 2", "max_concurrent_runs: 3")
    (folder / "dagster.yaml").write_text(edited)
    assert instance_home(home) == folder and (folder / "dagster.yaml").read_text() == edited


# Processes that open a new home's instance at the same moment (a range's `dg launch` and the
# command that started it; the webserver and the daemon).
OPEN_AT_ONCE = """
import sys, time
from pipelines.home import DataHome
from pipelines.orchestration.runner import project_instance
start = float(sys.argv[2])
while time.time() < start:
    pass
with project_instance(DataHome.resolve(sys.argv[1])) as instance:
    print(len(instance.get_runs()))
"""


def test_a_new_instance_opened_by_processes_at_once_is_created_once(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    home = DataHome(tmp_path / "home").ensure()
    start = time.time() + 8  # every process has imported Dagster by then
    opening = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN_AT_ONCE, str(home.root), str(start)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    for process in opening:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0 and out.strip() == "0", err[-2000:]
    # Created twice at once, a storage records two schema versions and every later open fails.
    databases = sorted(home.instance.rglob("*.db"))
    assert databases
    for database in databases:
        with contextlib.closing(sqlite3.connect(database)) as connection:
            assert connection.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,), database
    with project_instance(home) as instance:
        assert instance.get_runs() == []


def test_a_new_homes_instance_folder_made_by_threads_at_once_is_whole(tmp_path, monkeypatch):
    """`run` makes a new home's instance folder from two threads at once (the storage's and the range
    process's): each writes the configuration whole, and neither renames the other's file away."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    switching = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads take turns between almost every step: the race shows
    try:
        for attempt in range(50):
            _make_at_once(DataHome(tmp_path / f"home-{attempt}").ensure())
    finally:
        sys.setswitchinterval(switching)


def _make_at_once(home: DataHome) -> None:
    """`instance_home` from four threads released together; none fails, and the folder holds the
    configuration whole and nothing else."""
    start = threading.Barrier(4)
    failures: list[BaseException] = []

    def make() -> None:
        start.wait()
        try:
            instance_home(home)
        except Exception as exc:  # the test's finding, asserted below
            failures.append(exc)

    threads = [threading.Thread(target=make) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert sorted(path.name for path in home.instance.iterdir()) == ["dagster.yaml"]
    assert (home.instance / "dagster.yaml").read_text() == INSTANCE_TEMPLATE.read_text()
