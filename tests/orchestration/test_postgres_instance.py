"""The production instance config (docs/deploy/dagster.yaml) against a real PostgreSQL server.

`.ci/run` starts a server on 127.0.0.1 and sets CSC_TEST_POSTGRES_URL (a user allowed to create
databases); each test run uses a database of its own and drops it afterwards.
"""

from __future__ import annotations

import os
import uuid
from urllib.parse import urlsplit, urlunsplit

import dagster as dg
import pytest
from orchestration_support import (
    FAILING_CHECK,
    HELD_BACK_LA,
    HELD_BACK_MONTH,
    REPO,
    assert_month_validated,
    run_held_back_month,
    write_instance_yaml,
)

from pipelines.home import DataHome

pytestmark = pytest.mark.xdist_group("postgres")
URL_ENV = "CSC_TEST_POSTGRES_URL"


def _server_url() -> str:
    url = os.environ.get(URL_ENV)
    if not url:
        pytest.skip(f"{URL_ENV} is not set: no PostgreSQL server to test against (.ci/run starts one and sets it)")
    psycopg2 = pytest.importorskip("psycopg2")
    try:
        psycopg2.connect(url, connect_timeout=5).close()
    except psycopg2.OperationalError as exc:
        if os.environ.get("CI"):
            raise  # .ci/run promised a server: not reaching it is a failure there
        pytest.skip(f"no PostgreSQL server reachable at {URL_ENV}: {str(exc).strip().splitlines()[0]}")
    return url


@pytest.fixture
def postgres_url():
    import psycopg2

    server = _server_url()
    name = f"csc_test_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(server)
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    # SQLAlchemy 2.1 reads a bare postgresql:// as psycopg 3: name the installed driver.
    parts = urlsplit(server)._replace(scheme="postgresql+psycopg2", path=f"/{name}")
    yield urlunsplit(parts)
    admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def test_production_instance_stores_runs_and_check_results_in_postgres(postgres_url, demo_files, tmp_path, monkeypatch):
    dagster_home = tmp_path / "dagster_home"
    write_instance_yaml(dagster_home, REPO / "docs" / "deploy" / "dagster.yaml")
    monkeypatch.setenv("CSC_DAGSTER_PG_URL", postgres_url)
    monkeypatch.setenv("CSC_DAGSTER_LOG_DIR", str(tmp_path / "logs"))
    home = DataHome(tmp_path / "home")

    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        result = run_held_back_month(instance, home, demo_files)
        assert_month_validated(result)
        run_id, run_status = result.run_id, result.dagster_run.status

    # A second process (the webserver, the daemon) opening the same config sees the same history.
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        run = instance.get_run_by_id(run_id)
        assert run.status == run_status and run.tags["dagster/partition"] == HELD_BACK_MONTH
        materialized = instance.get_materialized_partitions(dg.AssetKey("received_returns"))
        assert materialized == {HELD_BACK_MONTH}

        def latest(asset: str, check: str):
            history = instance.event_log_storage.get_asset_check_execution_history(
                dg.AssetCheckKey(dg.AssetKey(asset), check), limit=5
            )
            (record,) = [r for r in history if r.partition == HELD_BACK_MONTH]
            return record.event.dagster_event.event_specific_data

        failing = latest("received_returns", FAILING_CHECK)
        assert not failing.passed and failing.severity == dg.AssetCheckSeverity.ERROR
        rows = failing.metadata["failing_rows"].value.records
        assert {row.data["la_code"] for row in rows} == {HELD_BACK_LA}
        assert latest("indicator_values", "accepted_returns_clean").passed

        # Schedule and sensor state live there too (its tables answer; nothing was started).
        assert instance.all_instigator_state() == []
