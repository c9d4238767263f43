"""The writer lock: one writer at a time, a waiting writer says who it waits for, a timeout gives up."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from pipelines.home import DataHome
from pipelines.home.lock import WriterLockTimeout, writer_lock
from tests.conftest import REPO, hold_writer_lock


def test_a_second_writer_waits_names_the_holder_and_gives_up_after_its_timeout(tmp_path):
    home = DataHome.resolve(tmp_path / "home")
    holder = hold_writer_lock(home, 30)
    lines = []
    try:
        started = time.monotonic()
        with (
            pytest.raises(WriterLockTimeout, match="still held by the run in process"),
            writer_lock(home, timeout=0.6, announce=lines.append),
        ):
            pass
        assert 0.5 <= time.monotonic() - started < 5
        assert len(lines) == 1 and f"process {holder.pid} that started at" in lines[0]
    finally:
        holder.kill()
        holder.wait()


def test_a_waiting_writer_proceeds_when_the_holder_finishes(tmp_path):
    home = DataHome.resolve(tmp_path / "home")
    holder = hold_writer_lock(home, 1.0)
    lines = []
    started = time.monotonic()
    with writer_lock(home, timeout=30, announce=lines.append):
        waited = time.monotonic() - started
    holder.wait()
    assert len(lines) == 1 and 0.5 < waited < 10  # waited for the holder's second, then went ahead


def test_a_killed_holder_leaves_no_stale_lock(tmp_path):
    home = DataHome.resolve(tmp_path / "home")
    holder = hold_writer_lock(home, 60)
    holder.kill()
    holder.wait()
    with writer_lock(home, timeout=2):
        pass


def test_the_lock_is_reentrant_in_one_process(tmp_path):
    home = DataHome.resolve(tmp_path / "home")
    with writer_lock(home, timeout=1):
        with writer_lock(home, timeout=1):
            pass
        with writer_lock(home, timeout=1):
            pass


def _cli(home: DataHome, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    clean = {k: v for k, v in os.environ.items() if k not in ("CSC_HOME", "DAGSTER_HOME", "CSC_WRITER_LOCK_HELD")}
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "--home", str(home.root), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**clean, **(env or {})},
        timeout=300,
    )


def test_run_gives_up_after_its_wait_with_exit_75_naming_the_holder(tmp_path):
    from pipelines.exit_codes import LOCKED

    home = DataHome.resolve(tmp_path / "home")
    holder = hold_writer_lock(home, 60)
    try:
        started = time.monotonic()
        done = _cli(home, "run", "--wait", "1")
        waited = time.monotonic() - started
        from_env = _cli(home, "reference", "import", "register.csv", env={"CSC_LOCK_TIMEOUT": "0.5"})
    finally:
        holder.kill()
        holder.wait()
    assert done.returncode == LOCKED and from_env.returncode == LOCKED
    assert waited < 60  # gave up after its second, not when the holder ended
    for outcome in (done, from_env):
        lines = outcome.stderr.strip().splitlines()
        assert "Traceback" not in outcome.stderr and outcome.stdout == ""
        # At most: the line saying whom it waits for, then the one-line refusal naming the holder.
        assert 1 <= len(lines) <= 2
        assert f"still held by the run in process {holder.pid} that started at" in lines[-1]
        assert "--wait SECONDS" in lines[-1]
    assert not home.warehouse.exists()  # nothing was written


def test_readers_are_not_writers_validate_needs_no_lock(tmp_path, example_rows):
    from tests.conftest import write_return

    home = DataHome.resolve(tmp_path / "home")
    path = write_return(tmp_path / "return.csv", example_rows)
    holder = hold_writer_lock(home, 60)
    try:
        done = _cli(home, "validate", str(path))
    finally:
        holder.kill()
        holder.wait()
    assert done.returncode in (0, 1) and "waiting for" not in done.stderr
    assert done.stdout.strip().splitlines()[-1].startswith("1 file(s), ")
