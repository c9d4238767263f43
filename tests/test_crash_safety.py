"""A run killed anywhere (SIGKILL, nothing cleans up) is followed by a run that finishes as if nothing happened.

Kills are made with the test hook `CSC_CRASH_AT=<point>` (`pipelines/home/durable.crash_point`):
the real `csc-returns run` subprocess SIGKILLs itself at a named point of the real code, so each
kill lands exactly where the test says, every time. Killing from outside when a file appears was
the alternative; it cannot reach a point inside a DuckDB transaction or between fsync and swap
reliably, so it would pass without having tested anything on a fast machine.

The returns are the SYNTHETIC shared example (two authorities, October and November 2024).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pipelines.home import DataHome
from pipelines.publish.files import MANIFEST, SERIES_FILE
from tests.conftest import warehouse_scalar, write_return

# Where a run is killed, in the order a run reaches them: archiving (a copy in place, not yet
# registered), storing (inside the transaction registering a file; inside the month's), publishing
# (staging half written; staged and fsynced, not swapped; swapped, old release not removed).
CRASH_POINTS = ("archived", "registering", "storing", "publish-writing", "publish-staged", "publish-swapped")


def _run(home: DataHome, dagster_home: Path, crash_at: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home)}
    env.pop("CSC_CRASH_AT", None)
    if crash_at:
        env["CSC_CRASH_AT"] = crash_at
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "--home", str(home.root), "run"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def _land_month(home: DataHome, rows: list[dict], month: str) -> None:
    write_return(home.landing / f"return-{month}.csv", [r for r in rows if r["period"] == month])


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _served(home: DataHome) -> dict[str, bytes]:
    return {
        p.relative_to(home.publish).as_posix(): p.read_bytes() for p in sorted(home.publish.rglob("*")) if p.is_file()
    }


def _assert_consistent(home: DataHome, months: set[str]) -> None:
    """What must hold after any kill and after any run: checked on the files, not on what the code says."""
    # publish/: every file the manifest lists is there with its size and hash, every file served is listed.
    assert home.publish.is_dir()
    manifest_path = home.publish / MANIFEST
    if manifest_path.exists():
        entries = {e["path"]: e for e in json.loads(manifest_path.read_text(encoding="utf-8"))["files"]}
        served = {p.relative_to(home.publish).as_posix() for p in home.publish.rglob("*") if p.is_file()}
        assert set(entries) == served - {MANIFEST}
        for path, entry in entries.items():
            assert (home.publish / path).stat().st_size == entry["bytes"] and _sha256(home.publish / path) == entry[
                "sha256"
            ], path
    else:
        assert not any(home.publish.iterdir())  # nothing published yet: nothing at all, not half of something
    # The series holds each geography and month once, and only months that were stored.
    series = home.publish / SERIES_FILE
    if series.exists():
        with series.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        keys = [
            (r["time_period"], r["time_identifier"], r["geographic_level"], r["new_la_code"], r["region_code"])
            for r in rows
        ]
        assert len(keys) == len(set(keys))
    # The archive: every file holds the bytes its name promises; no temporary copy is left.
    for path in home.archive.iterdir():
        assert not path.name.startswith("."), path.name
        assert _sha256(path) == path.name.split(".")[0], path.name
    # The warehouse: each authority-month once in returns and in the accepted figures; no finding twice.
    if home.warehouse.exists():
        for table in ("returns", "indicator_values"):
            assert warehouse_scalar(home, f"SELECT count(*) - count(DISTINCT (la_code, period)) FROM {table}") == 0
        assert (
            warehouse_scalar(
                home, "SELECT count(*) - (SELECT count(*) FROM (SELECT DISTINCT * FROM findings)) FROM findings"
            )
            == 0
        )
        stored = {m for (m,) in _query(home, "SELECT DISTINCT period FROM indicator_values")}
        assert stored <= months


def _query(home: DataHome, sql: str) -> list[tuple]:
    from pipelines.store.warehouse import connect

    with connect(home, read_only=True) as connection:
        return connection.execute(sql).fetchall()


class PublishWatcher(threading.Thread):
    """Looks at publish/ as a reader would, as often as it can: is it there, is its manifest whole JSON."""

    def __init__(self, home: DataHome) -> None:
        super().__init__(daemon=True)
        self.home, self.looks, self.missing, self.torn = home, 0, 0, 0
        self.stopping = threading.Event()

    def run(self) -> None:
        manifest = self.home.publish / MANIFEST
        while not self.stopping.is_set():
            self.looks += 1
            if not os.path.isdir(self.home.publish):
                self.missing += 1
            try:
                json.loads(manifest.read_bytes())
            except FileNotFoundError:
                pass  # nothing published yet, or a reader between two releases' folders: checked below
            except ValueError:
                self.torn += 1
            time.sleep(0.001)  # a reader, not a spinner: the machine is shared

    def stop(self) -> None:
        self.stopping.set()
        self.join()


@pytest.fixture
def dagster_home(tmp_path: Path) -> Path:
    folder = tmp_path / "dagster"
    folder.mkdir()
    return folder


@pytest.mark.slow  # nine `csc-returns run` subprocesses: in `make test`, not in `make test-fast`
def test_a_run_killed_at_each_point_then_run_again_stores_and_publishes_each_month_once(
    home, example_rows, dagster_home, tmp_path
):
    _land_month(home, example_rows, "2024-10")
    first = _run(home, dagster_home)
    assert first.returncode == 0, first.stderr
    october_release = _served(home)

    _land_month(home, example_rows, "2024-11")
    watcher = PublishWatcher(home)
    watcher.start()
    try:
        for point in CRASH_POINTS:  # each run goes one point further than the one before was let go
            killed = _run(home, dagster_home, crash_at=point)
            # The command itself, or the process running its run (a range runs in Dagster's command
            # line), was killed; the command then says so and exits 3.
            assert killed.returncode == -signal.SIGKILL or (
                killed.returncode == 3 and f"killed (signal {signal.SIGKILL.value})" in killed.stderr
            ), (point, killed.returncode, killed.stderr[-2000:])
            _assert_consistent(home, {"2024-10", "2024-11"})
            if point != "publish-swapped":  # until the swap, readers are served October's release, whole
                assert _served(home) == october_release, point
        last = _run(home, dagster_home)
    finally:
        watcher.stop()
    assert last.returncode == 0, last.stderr
    assert watcher.looks > 100 and watcher.missing == 0 and watcher.torn == 0
    _assert_consistent(home, {"2024-10", "2024-11"})
    assert not list(home.root.glob(".publish-*"))  # the killed releases' staging folders are gone

    # The same returns run without any kill give the same published bytes, manifest included.
    clean = DataHome(tmp_path / "clean").ensure()
    from pipelines.reference import import_demo_reference

    import_demo_reference(clean)
    _land_month(clean, example_rows, "2024-10")
    _land_month(clean, example_rows, "2024-11")
    assert _run(clean, dagster_home).returncode == 0
    assert _served(home) == _served(clean)
    assert _query(home, "SELECT la_code, period, sha256 FROM indicator_values ORDER BY ALL") == _query(
        clean, "SELECT la_code, period, sha256 FROM indicator_values ORDER BY ALL"
    )


def test_a_torn_archive_file_is_repaired_from_the_landing_copy(home, example_rows):
    from pipelines.ingest.archive import archive_path
    from pipelines.steps.monthly import archive_landing, validate_month

    _land_month(home, example_rows, "2024-10")
    [archived] = archive_landing(home)
    stored = archive_path(home, archived.sha256, archived.file_name)
    whole = stored.read_bytes()
    stored.write_bytes(whole[: len(whole) // 2])  # a power cut mid-copy: the name, half the bytes

    validation = validate_month(home, "2024-10", engine="pandas")
    assert stored.read_bytes() == whole
    assert sorted(validation.returns["la_code"]) == ["E06000006", "E06000009"]


def test_a_torn_archive_file_without_a_good_copy_stops_the_run_with_one_line_naming_it(
    home, example_rows, dagster_home
):
    from pipelines.ingest.archive import ArchiveDamaged, archive_path
    from pipelines.steps.monthly import archive_landing, validate_month

    _land_month(home, example_rows, "2024-10")
    [archived] = archive_landing(home)
    stored = archive_path(home, archived.sha256, archived.file_name)
    stored.write_bytes(stored.read_bytes().replace(b"E06000009", b"E06000008"))  # altered, same size
    (home.landing / archived.file_name).unlink()

    with pytest.raises(ArchiveDamaged) as damaged:
        validate_month(home, "2024-10", engine="pandas")
    assert str(damaged.value).count("\n") == 0
    assert str(damaged.value).startswith(f"archive/{stored.name} (return-2024-10.csv) does not match its sha256")
    assert warehouse_scalar(home, "SELECT count(*) FROM returns") == 0  # never used

    env = {**os.environ, "DAGSTER_HOME": str(dagster_home)}
    run = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "--home", str(home.root), "run", "--month", "2024-10"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert run.returncode != 0 and "Traceback" not in run.stdout + run.stderr
    assert f"archive/{stored.name} (return-2024-10.csv) does not match its sha256" in run.stderr
    assert not (home.publish / SERIES_FILE).exists()


def test_two_folders_are_exchanged_in_one_step_on_this_system(tmp_path):
    from pipelines.home.durable import exchange

    first, second = tmp_path / "first", tmp_path / "second"
    for folder in (first, second):
        folder.mkdir()
        (folder / "name.txt").write_text(folder.name)
    if not sys.platform.startswith("linux"):
        pytest.skip("the atomic exchange is checked on Linux, where the pipeline runs in production")
    assert exchange(first, second)
    assert (first / "name.txt").read_text() == "second" and (second / "name.txt").read_text() == "first"


def test_where_the_system_cannot_exchange_two_renames_give_the_same_release(home, example_rows, monkeypatch):
    """The fallback for file systems without an atomic exchange (and the repair of its one gap)."""
    import pipelines.home.durable as durable
    from pipelines.publish.folder import previous_path
    from pipelines.publish.release import publish_month
    from pipelines.steps.monthly import archive_landing, validate_month
    from pipelines.store.month import store_accepted

    _land_month(home, example_rows, "2024-10")
    archive_landing(home)
    validate_month(home, "2024-10", engine="pandas")
    store_accepted(home, "2024-10")
    publish_month(home, "2024-10")
    exchanged = _served(home)

    monkeypatch.setattr(durable, "_SWAP", None)  # as on a file system without renameat2
    publish_month(home, "2024-10")
    assert _served(home) == exchanged
    assert not list(home.root.glob(".publish-*"))

    # Killed between the two renames: publish/ set aside. The next release puts it back first.
    home.publish.rename(previous_path(home))
    publish_month(home, "2024-10")
    assert _served(home) == exchanged and not previous_path(home).exists()
