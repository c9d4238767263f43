"""Helpers for the orchestration tests: SYNTHETIC demo returns, a data home, a Dagster instance."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from pipelines.home import DataHome

REPO = Path(__file__).resolve().parents[2]
HELD_BACK_MONTH = "2024-06"
HELD_BACK_LA = "E06000006"
FAILING_CHECK = "consistency_rules"


@pytest.fixture(scope="session")
def demo_files(tmp_path_factory) -> dict[str, Path]:
    """The 24 SYNTHETIC demo returns (one file per month, 2023-04..2025-03), by month."""
    from pipelines.demo import write_demo_landing

    folder = tmp_path_factory.mktemp("demo-returns")
    return {path.stem[-7:]: path for path in write_demo_landing(folder)}


def old(path: Path, seconds: float = 3600) -> Path:
    """Date a file back, as if it had landed a while ago and been complete since."""
    stamp = path.stat().st_mtime - seconds
    os.utime(path, (stamp, stamp))
    return path


def land(home: DataHome, source: Path, name: str | None = None, age: float = 3600) -> Path:
    home.landing.mkdir(parents=True, exist_ok=True)
    target = home.landing / (name or source.name)
    shutil.copyfile(source, target)
    return old(target, age) if age else target


def run_config(home: DataHome) -> dict:
    """Point the run at a test data home (not CSC_HOME), with quiet console logs."""
    return {
        "resources": {"data_home": {"config": {"path": str(home.root)}}},
        "loggers": {"console": {"config": {"log_level": "ERROR"}}},
    }


def run_held_back_month(instance, home: DataHome, demo_files: dict[str, Path]):
    """Land the demo month where E06000006 is held back and run monthly_release for it."""
    from pipelines.orchestration.definitions import defs
    from pipelines.reference import import_demo_reference

    home.ensure()
    import_demo_reference(home)
    land(home, demo_files[HELD_BACK_MONTH])
    job = defs.resolve_job_def("monthly_release")
    return job.execute_in_process(
        partition_key=HELD_BACK_MONTH, instance=instance, run_config=run_config(home), raise_on_error=False
    )


def assert_month_validated(result) -> None:
    """The steps the steward's view depends on ran; later steps (publishing) are tested elsewhere."""
    for step in ("received_returns", "indicator_values"):
        assert result.is_node_success(step), f"step {step} failed in the {HELD_BACK_MONTH} run"


def write_instance_yaml(dagster_home: Path, source: Path | None = None) -> Path:
    """An instance folder configured from `source` (default: the template every data home gets)."""
    from pipelines.orchestration.runner import INSTANCE_TEMPLATE

    source = source or INSTANCE_TEMPLATE
    dagster_home.mkdir(parents=True, exist_ok=True)
    target = dagster_home / "dagster.yaml"
    shutil.copyfile(source, target)
    return target


def warehouse_tables(home: DataHome) -> dict[str, pd.DataFrame]:
    """What a run stores, in a fixed order (arrivals aside: when a file came is not what it says)."""
    queries = {
        "returns": "SELECT * EXCLUDE (arrival) FROM returns ORDER BY period, la_code",
        "findings": 'SELECT rule, severity, la_code, period, "column", value, expected, message, file, "row", waived '
        "FROM findings ORDER BY ALL",
        "indicator_values": "SELECT * FROM indicator_values ORDER BY period, la_code",
    }
    with duckdb.connect(str(home.warehouse), read_only=True) as connection:
        return {name: connection.execute(sql).df() for name, sql in queries.items()}
