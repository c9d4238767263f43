"""Two `csc-returns run` and a `validate` at once on one data home, as a person at the command line
and a scheduled run would: both runs complete, neither meets a DuckDB lock, each month is published
once, and the reader is answered while a writer holds the home (it reads the snapshot).

Real processes on a real home with the demo's SYNTHETIC returns and reference subset.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from pipelines.demo import write_demo_landing
from pipelines.home import DataHome
from pipelines.publish.files import MANIFEST, SERIES_FILE
from pipelines.reference import import_demo_reference
from pipelines.store.warehouse import connect
from tests.conftest import REPO, months_of_run

pytestmark = pytest.mark.slow
MONTHS = ["2023-04", "2023-05", "2023-06"]
# A steward's tool holding the warehouse open read-only for a long time.
READER = """
import sys, time
from pipelines.home import DataHome
from pipelines.store.warehouse import connect
with connect(DataHome.resolve(sys.argv[1]), read_only=True) as connection:
    connection.execute("SELECT count(*) FROM returns").fetchone()
    print("reading", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def _environment() -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("CSC_HOME", "DAGSTER_HOME", "CSC_WRITER_LOCK_HELD", "CSC_AUTOMATION")
    }
    return {**env, "CSC_LOCK_TIMEOUT": "600"}


def _start(home: DataHome, *args: str, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "--home", str(home.root), *args],
        cwd=REPO,
        env=_environment(),
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for(condition, seconds: float, what: str, *processes: subprocess.Popen) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen in {seconds:g}s")
        if any(p.poll() is not None for p in processes):
            pytest.fail(f"a process ended before {what}")
        time.sleep(0.1)


def test_two_runs_and_a_validate_at_once_on_one_home(tmp_path):
    home = DataHome(tmp_path / "home").ensure()
    import_demo_reference(home)
    returns = {path.stem[-7:]: path for path in write_demo_landing(tmp_path / "demo")}
    for month in MONTHS:
        shutil.copyfile(returns[month], home.landing / returns[month].name)
    logs = {name: tmp_path / f"{name}.log" for name in ("first", "second", "validate")}

    first = _start(home, "run", log=logs["first"])
    second = validate = reader = None
    try:
        # Once the first run has written (the snapshot exists), start the second run, a validate and a reader.
        _wait_for(home.warehouse_snapshot.exists, 600, "the first run's first write", first)
        second = _start(home, "run", log=logs["second"])
        validate = _start(home, "validate", str(returns["2023-07"]), log=logs["validate"])
        reader = subprocess.Popen(
            [sys.executable, "-c", READER, str(home.root), "30"],
            cwd=REPO,
            env=_environment(),
            stdout=subprocess.PIPE,
            text=True,
        )
        assert reader.stdout.readline().strip() == "reading"
        validated = validate.wait(timeout=600)
        second_still_waiting_or_running = second.poll() is None
        assert first.wait(timeout=900) == 0, logs["first"].read_text()[-3000:]
        assert second.wait(timeout=900) == 0, logs["second"].read_text()[-3000:]
    finally:
        for process in (first, second, validate, reader):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()

    outputs = {name: log.read_text() for name, log in logs.items()}
    for name, text in outputs.items():
        assert "Could not set lock" not in text and "Traceback" not in text, f"{name}:\n{text[-3000:]}"
    # The second run waited for the first, said for whom, then did its own work.
    assert f"waiting for the run in process {first.pid} that started at" in outputs["second"]
    for name in ("first", "second"):
        assert f"published {len(MONTHS)} month(s)" in outputs[name]
    # The reader was answered from the snapshot while a writer held the home, with the history in it.
    assert validated in (0, 1) and second_still_waiting_or_running
    assert outputs["validate"].strip().splitlines()[-1].startswith("1 file(s), ")
    assert "history not used" not in outputs["validate"]

    _assert_each_month_published_once(home)
    with connect(home, read_only=True) as connection:  # the snapshot, refreshed by the last write
        per_month = dict(connection.execute("SELECT period, count(*) FROM returns GROUP BY period").fetchall())
        stored = dict(connection.execute("SELECT period, count(*) FROM indicator_values GROUP BY period").fetchall())
    assert per_month == stored == {month: 5 for month in MONTHS}
    _assert_runs_recorded_in_the_homes_instance(home, 2)  # one run per range of months, per command


def _assert_each_month_published_once(home: DataHome) -> None:
    with (home.publish / SERIES_FILE).open(newline="", encoding="utf-8") as handle:
        rows = [tuple(row) for row in csv.reader(handle)]
    header, body = rows[0], rows[1:]
    assert len(set(body)) == len(body), "duplicate rows in the published series"
    period = header.index("time_identifier")
    per_month = Counter(row[period] for row in body)
    assert set(per_month) == {"April", "May", "June"}
    assert len(set(per_month.values())) == 1  # the same rows (authorities, region, England) every month
    manifest = json.loads((home.publish / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["files"]
    for entry in manifest["files"]:
        content = (home.publish / entry["path"]).read_bytes()
        assert hashlib.sha256(content).hexdigest() == entry["sha256"], entry["path"]
        if entry["rows"] is not None and entry["path"].endswith(".csv"):
            assert content.decode("utf-8").strip().count("\n") == entry["rows"], entry["path"]


def _assert_runs_recorded_in_the_homes_instance(home: DataHome, expected: int) -> None:
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home.instance)) as instance:
        runs = instance.get_runs()
    assert len(runs) == expected
    assert {run.status for run in runs} == {dg.DagsterRunStatus.SUCCESS}
    assert Counter(month for run in runs for month in months_of_run(run)) == {month: 2 for month in MONTHS}
