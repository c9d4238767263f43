"""Readers outside the writer read a snapshot of the warehouse that the writer refreshes after each
write (a writing session: once, at its end): a reader never blocks a writer (another process) and
always sees a committed state."""

from __future__ import annotations

import subprocess
import sys

from pipelines.home import DataHome
from pipelines.home.lock import writer_lock
from pipelines.store.warehouse import connect
from tests.conftest import REPO

WRITE = """
import sys
from pipelines.home import DataHome
from pipelines.store.warehouse import connect
with connect(DataHome.resolve(sys.argv[1])) as connection:
    connection.execute("INSERT INTO notes VALUES (?)", [sys.argv[2]])
"""


def _write_in_another_process(home: DataHome, text: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", WRITE, str(home.root), text], cwd=REPO, capture_output=True, text=True, timeout=120
    )


def _notes(home: DataHome) -> list[str]:
    with connect(home, read_only=True) as connection:
        return [text for (text,) in connection.execute("SELECT text FROM notes ORDER BY text").fetchall()]


def test_a_reader_holding_the_warehouse_open_never_blocks_a_writer_in_another_process(tmp_path):
    home = DataHome(tmp_path / "home")
    with connect(home) as connection:
        connection.execute("CREATE TABLE notes (text VARCHAR)")
        connection.execute("INSERT INTO notes VALUES ('first')")
    assert home.warehouse_snapshot.exists() and _notes(home) == ["first"]

    with connect(home, read_only=True) as reader:  # a steward's long read
        written = _write_in_another_process(home, "second")
        assert written.returncode == 0, written.stderr
        # The open reader keeps its consistent state (the copy it opened)...
        assert reader.execute("SELECT count(*) FROM notes").fetchone()[0] == 1
    # ... and the next reader sees the write. (Within one process DuckDB shares a file's open
    # database between connections, so the next reader is the one opened after the first closed.)
    assert _notes(home) == ["first", "second"]


def test_the_writer_reads_the_live_warehouse_and_an_unchanged_write_copies_nothing(tmp_path):
    home = DataHome(tmp_path / "home")
    with connect(home) as connection:
        connection.execute("CREATE TABLE notes (text VARCHAR)")
    taken = home.warehouse_snapshot.stat().st_mtime_ns
    with connect(home) as connection:  # opened, schema checked, nothing written
        connection.execute("SELECT count(*) FROM notes").fetchone()
    assert home.warehouse_snapshot.stat().st_mtime_ns == taken
    with writer_lock(home, timeout=1):
        with connect(home) as connection:
            connection.execute("INSERT INTO notes VALUES ('live')")
        with connect(home, read_only=True) as connection:
            assert connection.execute("SELECT count(*) FROM notes").fetchone()[0] == 1


def test_a_warehouse_made_before_snapshots_gets_one_from_its_first_reader(tmp_path):
    home = DataHome(tmp_path / "home")
    with connect(home) as connection:
        connection.execute("CREATE TABLE notes (text VARCHAR)")
        connection.execute("INSERT INTO notes VALUES ('old')")
    home.warehouse_snapshot.unlink()
    assert _notes(home) == ["old"] and home.warehouse_snapshot.exists()


def _snapshot_notes(home: DataHome) -> list[str]:
    """What a reader outside the writer sees: the snapshot."""
    import duckdb

    with duckdb.connect(str(home.warehouse_snapshot), read_only=True) as connection:
        return [text for (text,) in connection.execute("SELECT text FROM notes ORDER BY text").fetchall()]


def test_a_writing_session_refreshes_the_snapshot_once_when_it_ends(tmp_path):
    """A command or a Dagster run writes in one session, in its process and in the processes it starts:
    readers outside see the warehouse as it was before it, then as it is after it, never half way."""
    from pipelines.steps.session import writing

    home = DataHome(tmp_path / "home")
    with connect(home) as connection:
        connection.execute("CREATE TABLE notes (text VARCHAR)")
        connection.execute("INSERT INTO notes VALUES ('first')")
    taken = home.warehouse_snapshot.stat().st_mtime_ns
    with writing(home, timeout=1):
        with connect(home) as connection:
            connection.execute("INSERT INTO notes VALUES ('second')")
        written = _write_in_another_process(home, "third")  # a run's process: the session's lock is its own
        assert written.returncode == 0, written.stderr
        assert home.warehouse_snapshot.stat().st_mtime_ns == taken
        assert _snapshot_notes(home) == ["first"]
        assert _notes(home) == ["first", "second", "third"]  # the session itself reads the live warehouse
    assert _snapshot_notes(home) == ["first", "second", "third"]
    untouched = home.warehouse_snapshot.stat().st_mtime_ns
    with writing(home, timeout=1), connect(home) as connection:  # a session that writes nothing copies nothing
        connection.execute("SELECT count(*) FROM notes").fetchone()
    assert home.warehouse_snapshot.stat().st_mtime_ns == untouched
