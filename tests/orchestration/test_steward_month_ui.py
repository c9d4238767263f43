"""A steward's month walked in the Dagster UI, in headless Chromium (Debian's package, as `.ci/run`
installs it): the failing check of 2024-06 (SYNTHETIC demo: E06000006 held back), its link to the
authority's Data Docs page followed over HTTP to the reports server `csc-returns dev` starts
beside the UI, where the authority and its figures are; then a waiver granted from the Launchpad
(`grant_waiver`), run by the daemon, and the check seen passing with the waiver.

The screenshots of docs/operations.md ("A steward's month, in the UI") are made here: written to
the test's tmp folder, and into docs/img/ with CSC_UPDATE_SCREENSHOTS=1.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.request
from pathlib import Path

import pytest
from orchestration_support import FAILING_CHECK, HELD_BACK_LA, HELD_BACK_MONTH, REPO, land, run_config
from test_steward_ui import (
    CHROMIUM_ARGS,
    chromium_path,  # noqa: F401  (fixture)
    dismiss_welcome,
    free_port,
    graphql,
    start_dagster_dev,
    stop,
    wait_for_code_location,
)

from pipelines.home import DataHome
from pipelines.orchestration.runner import project_instance
from pipelines.steps import steward

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("steward_ui")]
RUN_SECONDS = 300
SCREENSHOTS = REPO / "docs" / "img"
WAIVER = {
    "rule": "derived_inconsistent",
    "authority": HELD_BACK_LA,
    "month": HELD_BACK_MONTH,
    "column": "cla_rate_per_10k",
    "reason": "confirmed by phone: rounding in their system",
    "who": "A. Steward",
}
RUNS = """
query ($job: String!) {
  runsOrError(filter: {pipelineName: $job}) { ... on Runs { results { runId status } } }
}
"""
CHECK_STATUS = """
query ($partition: String!, $check: String!) {
  assetCheckExecutions(assetKey: {path: ["received_returns"]}, checkName: $check, partition: $partition, limit: 1) {
    status
    evaluation { metadataEntries { label ... on IntMetadataEntry { intValue } } }
  }
}
"""


def shoot(page, folder: Path, name: str) -> Path:
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    if os.environ.get("CSC_UPDATE_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, SCREENSHOTS / path.name)
    return path


def wait_for_run(base: str, job: str, process, log: Path) -> dict:
    deadline = time.monotonic() + RUN_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"dagster dev exited:\n{log.read_text()[-3000:]}")
        runs = graphql(base, RUNS, {"job": job})["runsOrError"]["results"]
        if runs and runs[0]["status"] in ("SUCCESS", "FAILURE", "CANCELED"):
            return runs[0]
        time.sleep(2)
    pytest.fail(f"the {job} run did not finish in {RUN_SECONDS}s:\n{log.read_text()[-3000:]}")


def test_a_steward_follows_the_failing_check_to_its_data_docs_and_waives_it_from_the_launchpad(
    chromium_path,  # noqa: F811
    demo_files,
    tmp_path,
    monkeypatch,
):
    from pipelines.orchestration.definitions import defs
    from pipelines.reference import import_demo_reference

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    home = DataHome(tmp_path / "home").ensure()
    ui_port, reports_port = free_port(), free_port()
    base, reports = f"http://127.0.0.1:{ui_port}", f"http://127.0.0.1:{reports_port}"
    import_demo_reference(home)
    land(home, demo_files[HELD_BACK_MONTH])
    config = run_config(home)
    config["resources"]["reports"] = {"config": {"reports_url": reports, "ui_url": base}}
    with project_instance(home) as instance:
        month = defs.resolve_job_def("monthly_release").execute_in_process(
            partition_key=HELD_BACK_MONTH, instance=instance, run_config=config, raise_on_error=False
        )
    assert month.is_node_success("received_returns")

    log = tmp_path / "dagster-dev.log"
    process = start_dagster_dev(home, ui_port, log, extra=["--reports-port", str(reports_port)])
    from playwright.sync_api import sync_playwright

    try:
        wait_for_code_location(base, process, log)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1600, "height": 1000})
                checks_page = f"{base}/assets/received_returns?view=checks&checkDetail={FAILING_CHECK}"

                # (1) The failing check, its rows and its link to the authority's Data Docs page.
                page.goto(checks_page, wait_until="domcontentloaded", timeout=60_000)
                page.get_by_text(HELD_BACK_LA).first.wait_for(timeout=60_000)
                dismiss_welcome(page)
                link = page.locator(f'a[href^="{reports}/gx/{HELD_BACK_MONTH}/validations/"]').first
                link.wait_for(timeout=30_000)
                shoot(page, tmp_path, "steward-1-failing-check")
                href = link.get_attribute("href")
                assert href and href.startswith(f"{reports}/gx/{HELD_BACK_MONTH}/")

                # (2) Followed over HTTP: GX's page of the month, naming the authority and its figures.
                answer = page.goto(href, wait_until="load", timeout=60_000)
                assert answer is not None and answer.status == 200
                assert "default-src 'none'" in (answer.headers.get("content-security-policy") or "")
                docs_text = page.inner_text("body")
                assert HELD_BACK_LA in docs_text
                assert "573.0" in docs_text and "57.32" in docs_text  # as submitted, and as recomputed
                page.get_by_text(HELD_BACK_LA).first.scroll_into_view_if_needed(timeout=10_000)
                shoot(page, tmp_path, "steward-2-data-docs")

                # (3) The Launchpad of grant_waiver: the steward's typed config, then Launch Run.
                page.goto(
                    f"{base}/locations/pipelines.orchestration.definitions/jobs/grant_waiver/playground",
                    wait_until="domcontentloaded",
                    timeout=60_000,
                )
                editor = page.locator(".CodeMirror").first
                editor.wait_for(timeout=60_000)
                yaml = "ops:\n  grant:\n    config:\n" + "".join(
                    f"      {key}: {json.dumps(value)}\n" for key, value in WAIVER.items()
                )
                page.evaluate("([text]) => document.querySelector('.CodeMirror').CodeMirror.setValue(text)", [yaml])
                launch = page.get_by_role("button", name="Launch Run")
                launch.wait_for(timeout=30_000)
                time.sleep(2)  # the Launchpad validates the config before it enables the button
                shoot(page, tmp_path, "steward-3-launchpad-waiver")
                launch.click()
                run = wait_for_run(base, "grant_waiver", process, log)
                assert run["status"] == "SUCCESS", run

                # (4) The check again: passed, the finding counted under waived.
                page.goto(checks_page, wait_until="domcontentloaded", timeout=60_000)
                page.get_by_text("waived").first.wait_for(timeout=60_000)
                time.sleep(2)
                shoot(page, tmp_path, "steward-4-check-passed-with-waiver")
                after_text = page.inner_text("body")
            finally:
                browser.close()
        [execution] = graphql(base, CHECK_STATUS, {"partition": HELD_BACK_MONTH, "check": FAILING_CHECK})[
            "assetCheckExecutions"
        ]
        entries = {e["label"]: e.get("intValue") for e in execution["evaluation"]["metadataEntries"]}
        assert execution["status"] == "SUCCEEDED" and entries["waived"] == 1 and entries["errors"] == 0
        assert "Passed" in after_text or "Succeeded" in after_text
        [waiver] = steward.waivers(home, HELD_BACK_MONTH)
        assert waiver["who"] == "A. Steward" and waiver["granted_in_run"] == run["runId"]
        # The reports server answers on its own port beside the UI, only for the reports.
        with urllib.request.urlopen(f"{reports}/gx/{HELD_BACK_MONTH}/index.html", timeout=10) as response:
            assert response.status == 200
    finally:
        stop(process)
    assert process.returncode is not None
