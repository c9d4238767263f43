"""End to end, as a steward sees it: a month with a held-back return, then the Dagster UI,
then a backfill of earlier months launched through the UI's API and run by the daemon
(one run over the range, a check result per month).

A test data home gets the demo month 2024-06, where E06000006 is held back with a consistency
error, recorded in the home's own instance (<home>/.dagster, DAGSTER_HOME unset). `csc-returns
dev` starts the UI on a free loopback port on that instance; the test reads the failing check through the
GraphQL API and opens the asset's checks page in headless Chromium (Debian's, never a
downloaded browser). Every process started is stopped by its process group at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from orchestration_support import (
    FAILING_CHECK,
    HELD_BACK_LA,
    HELD_BACK_MONTH,
    assert_month_validated,
    land,
    run_held_back_month,
)

from pipelines.home import DataHome
from pipelines.orchestration.resources import WRITER_TAG
from pipelines.orchestration.runner import project_instance

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("steward_ui")]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
STARTUP_SECONDS = 120
BACKFILL_SECONDS = 300
BACKFILL_MONTHS = ["2024-04", "2024-05"]
TERMINAL_RUN_STATUSES = {"SUCCESS", "FAILURE", "CANCELED"}

LAUNCH_BACKFILL = """
mutation ($months: [String!]!) {
  launchPartitionBackfill(backfillParams: {
    selector: {partitionSetName: "monthly_release_partition_set",
               repositorySelector: {repositoryLocationName: "pipelines.orchestration.definitions", repositoryName: "__repository__"}},
    partitionNames: $months}) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
  }
}
"""
BACKFILL_RUNS = """
query ($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    ... on PartitionBackfill { runs { status tags { key value } } }
  }
}
"""

CHECK_QUERY = """
query ($partition: String!, $check: String!) {
  assetCheckExecutions(assetKey: {path: ["received_returns"]}, checkName: $check, partition: $partition, limit: 5) {
    partition
    status
    evaluation {
      success
      severity
      metadataEntries {
        label
        ... on TableMetadataEntry { table { records } }
        ... on TextMetadataEntry { text }
        ... on IntMetadataEntry { intValue }
      }
    }
  }
}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def graphql(base: str, query: str, variables: dict | None = None) -> dict:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(f"{base}/graphql", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        answer = json.load(response)
    assert "errors" not in answer, answer.get("errors")
    return answer["data"]


def _restore_signals() -> None:
    # A shell or test runner may start us with SIGINT ignored; dagster dev must be stoppable.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def start_dagster_dev(home: DataHome, port: int, log: Path, extra: list[str] | None = None) -> subprocess.Popen:
    """`csc-returns dev` on the home: the UI, daemon and code location on the home's own instance
    (and the home's reports on a port of their own: `extra` may give `--reports-port`)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in ("DAGSTER_HOME", "CSC_HOME", "CSC_AUTOMATION", "CSC_RELEASE_CRON", "CSC_REPORTS_URL", "CSC_UI_URL")
    }
    # (sensor and schedule stay stopped: nothing runs behind the test)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pipelines.cli",
            "--home",
            str(home.root),
            "dev",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            *(extra or ["--reports-port", str(free_port())]),
        ],
        cwd=home.root,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=_restore_signals,
    )


def stop(process: subprocess.Popen) -> None:
    """SIGINT to the process group (dagster dev stops its webserver, daemon and code server), then KILL."""
    if process.poll() is not None:
        return
    group = os.getpgid(process.pid)
    os.killpg(group, signal.SIGINT)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=30)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)  # anything of the group still alive
    process.wait(timeout=10)


def wait_for_code_location(base: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"dagster dev exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            data = graphql(base, "{ repositoriesOrError { ... on RepositoryConnection { nodes { name } } } }")
            if data["repositoriesOrError"].get("nodes"):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError, AssertionError):
            pass
        time.sleep(1)
    pytest.fail(f"dagster dev did not serve the code location in {STARTUP_SECONDS}s:\n{log.read_text()[-3000:]}")


def wait_for_backfill_runs(
    base: str, backfill_id: str, expected: int, process: subprocess.Popen, log: Path
) -> list[dict]:
    deadline = time.monotonic() + BACKFILL_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"dagster dev exited during the backfill:\n{log.read_text()[-3000:]}")
        runs = graphql(base, BACKFILL_RUNS, {"id": backfill_id})["partitionBackfillOrError"]["runs"]
        if len(runs) == expected and all(run["status"] in TERMINAL_RUN_STATUSES for run in runs):
            return runs
        time.sleep(2)
    pytest.fail(f"the backfill did not finish in {BACKFILL_SECONDS}s:\n{log.read_text()[-3000:]}")


def dismiss_welcome(page) -> None:
    """A fresh instance greets the first visit with a newsletter dialog: skip it, as a steward would."""
    skip = page.get_by_role("button", name="Skip")
    try:
        skip.wait_for(timeout=3_000)
        skip.click()
        skip.wait_for(state="hidden", timeout=5_000)
    except Exception:
        pass


@pytest.fixture
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} missing: .ci/run installs the Debian package chromium")
        pytest.skip(f"{CHROMIUM} not installed (Debian package chromium; .ci/run installs it)")
    return CHROMIUM


def test_steward_sees_the_failing_check_with_its_rows_and_backfills_history(
    chromium_path, demo_files, tmp_path, monkeypatch
):
    home = DataHome(tmp_path / "home")
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    with project_instance(home) as instance:  # the home's own instance, as `csc-returns run` records in
        result = run_held_back_month(instance, home, demo_files)
    assert_month_validated(result)
    assert (home.instance / "storage").is_dir()

    port, log = free_port(), tmp_path / "dagster-dev.log"
    base = f"http://127.0.0.1:{port}"
    process = start_dagster_dev(home, port, log)
    try:
        wait_for_code_location(base, process, log)
        assert f"(instance {home.instance})" in log.read_text().splitlines()[0]

        # (a) the API: the failing check of 2024-06 carries the failing rows.
        executions = graphql(base, CHECK_QUERY, {"partition": HELD_BACK_MONTH, "check": FAILING_CHECK})[
            "assetCheckExecutions"
        ]
        assert executions, "no execution of the check stored for the month"
        latest = executions[0]
        assert latest["partition"] == HELD_BACK_MONTH and latest["status"] == "FAILED"
        assert latest["evaluation"]["success"] is False and latest["evaluation"]["severity"] == "ERROR"
        entries = {entry["label"]: entry for entry in latest["evaluation"]["metadataEntries"]}
        rows = [json.loads(record) for record in entries["failing_rows"]["table"]["records"]]
        assert rows and {row["la_code"] for row in rows} == {HELD_BACK_LA}
        assert all(row["period"] == HELD_BACK_MONTH and row["message"] for row in rows)
        assert entries["authorities_affected"]["text"] == HELD_BACK_LA

        # (b) the page a steward opens from the asset: its checks tab, this check selected.
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1600, "height": 1000})
                page.goto(
                    f"{base}/assets/received_returns?view=checks&checkDetail={FAILING_CHECK}",
                    wait_until="domcontentloaded",
                    timeout=60_000,
                )
                page.get_by_text(HELD_BACK_LA).first.wait_for(timeout=60_000)
                dismiss_welcome(page)
                text = page.inner_text("body")
                page.screenshot(path=str(tmp_path / "received_returns-checks.png"), full_page=True)
            finally:
                browser.close()
        assert FAILING_CHECK in text
        assert HELD_BACK_LA in text
        assert "derived_inconsistent" in text  # the rule, beside the authority, in the failing-rows table
        assert (tmp_path / "received_returns-checks.png").stat().st_size > 10_000

        # (c) history: one backfill over earlier months, queued and run by the daemon as ONE run over
        # the range (the assets' single-run backfill policy), each month's checks kept per month.
        for month in BACKFILL_MONTHS:
            land(home, demo_files[month])
        launched = graphql(base, LAUNCH_BACKFILL, {"months": BACKFILL_MONTHS})["launchPartitionBackfill"]
        assert launched["__typename"] == "LaunchBackfillSuccess", launched
        [run] = wait_for_backfill_runs(base, launched["backfillId"], 1, process, log)
        tags = {tag["key"]: tag["value"] for tag in run["tags"]}
        assert run["status"] == "SUCCESS", run
        assert (tags["dagster/asset_partition_range_start"], tags["dagster/asset_partition_range_end"]) == (
            BACKFILL_MONTHS[0],
            BACKFILL_MONTHS[-1],
        )
        # Launched by the daemon, the run held the home's writer lock (and tagged itself so).
        assert tags.get(WRITER_TAG) == str(home.root)
        for month in BACKFILL_MONTHS:
            assert (home.publish / "releases" / month).is_dir(), f"{month} not published by the backfill"
            [execution, *_] = graphql(base, CHECK_QUERY, {"partition": month, "check": FAILING_CHECK})[
                "assetCheckExecutions"
            ]
            assert execution["partition"] == month and execution["status"] == "SUCCEEDED", execution
    finally:
        stop(process)
    assert process.returncode is not None
