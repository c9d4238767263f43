"""Shared fixtures. Official reference files are read from ../shared/reference (never copied)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from pipelines.home import DataHome
from pipelines.reference import import_demo_reference
from schemas.catalogue import all_columns

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
REFERENCE = SHARED / "reference"
EXAMPLE_RETURN = SHARED / "examples" / "monthly-return-example.csv"


def requires_shared(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"{path} is not beside the checkout (CI and developer machines have ../shared/)")


@pytest.fixture
def home(tmp_path: Path) -> DataHome:
    """An empty data home with the bundled demo register and populations."""
    data_home = DataHome(tmp_path / "home").ensure()
    import_demo_reference(data_home)
    return data_home


def write_return(path: Path, rows: list[dict[str, object]], columns: list[str] | None = None) -> Path:
    """Write SYNTHETIC rows in the return layout (all standard columns unless given)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns or all_columns(), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture
def example_rows() -> list[dict[str, str]]:
    """The shared SYNTHETIC example return: two authorities, two months, internally consistent."""
    requires_shared(EXAMPLE_RETURN)
    with EXAMPLE_RETURN.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def warehouse_scalar(home: DataHome, sql: str, params=()):
    """The first value of a query on the home's warehouse."""
    from pipelines.store.warehouse import connect

    with connect(home) as connection:
        return connection.execute(sql, list(params)).fetchone()[0]


def months_of_run(run) -> list[str]:
    """The months a Dagster run covered: its partition, or every month of its range (one run per range)."""
    import pandas as pd

    if "dagster/partition" in run.tags:
        return [run.tags["dagster/partition"]]
    first, last = run.tags["dagster/asset_partition_range_start"], run.tags["dagster/asset_partition_range_end"]
    return [str(p) for p in pd.period_range(first, last, freq="M")]


_HOLD_WRITER_LOCK = """
import sys, time
from pipelines.home import DataHome
from pipelines.home.lock import writer_lock
with writer_lock(DataHome.resolve(sys.argv[1])):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def hold_writer_lock(home, seconds: float):
    """Another process holding the home's writer lock for `seconds`; returns once it holds it."""
    import subprocess
    import sys

    process = subprocess.Popen(
        [sys.executable, "-c", _HOLD_WRITER_LOCK, str(home.root), str(seconds)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline().strip() == "held"
    return process
