"""`csc-returns demo` never deletes data it did not make: it writes a demo home only into a missing
or empty folder or one it made itself (marked `.csc-demo-home`); anything else is refused in one
line with exit 2, and not a byte of it is touched."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.demo.safety import DEMO_MARKER, NotADemoHome, empty_demo_home, fresh_demo_home, not_a_demo_home
from pipelines.exit_codes import USAGE
from pipelines.home import DataHome
from pipelines.home.lock import LOCK_FILE, writer_lock
from pipelines.reference import import_demo_reference
from pipelines.steps.monthly import archive_landing
from tests.conftest import REPO, write_return


def _demo(home_argument: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("CSC_HOME", "DAGSTER_HOME", "CSC_WRITER_LOCK_HELD")}
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *home_argument, "demo"],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**clean, **(env or {})},
        timeout=300,
    )


def _contents(folder: Path) -> dict[str, str]:
    """Every file under `folder` with its sha256, but the writer lock (its text names the last holder)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != LOCK_FILE
    }


def _working_home(tmp_path: Path, example_rows) -> DataHome:
    """A real home: reference data, a landed return archived and registered in the warehouse."""
    home = DataHome(tmp_path / "real-home").ensure()
    import_demo_reference(home)
    write_return(home.landing / "october.csv", example_rows)
    archive_landing(home)
    assert list(home.archive.iterdir()) and home.warehouse.exists()
    return home


def test_demo_refuses_a_working_home_given_by_home_or_by_csc_home(tmp_path, example_rows):
    home = _working_home(tmp_path, example_rows)
    before = _contents(home.root)
    for argument, env in ((["--home", str(home.root)], None), ([], {"CSC_HOME": str(home.root)})):
        done = _demo(argument, env)
        assert done.returncode == USAGE, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in done.stderr
        assert lines[0].startswith(f"{home.root}: not empty") and "nothing deleted" in lines[0]
        assert done.stdout == ""
        assert _contents(home.root) == before  # the archive, the warehouse, everything as it was


def test_demo_refuses_a_file_and_a_folder_with_anything_in_it(tmp_path):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("keep me", encoding="utf-8")
    done = _demo(["--home", str(a_file)])
    assert done.returncode == USAGE and len(done.stderr.strip().splitlines()) == 1
    assert a_file.read_text(encoding="utf-8") == "keep me"

    folder = tmp_path / "photos"
    (folder / "2019").mkdir(parents=True)
    (folder / "2019" / "a.jpg").write_bytes(b"\xff\xd8")
    assert "not empty (2019)" in not_a_demo_home(DataHome(folder))
    assert (folder / "2019" / "a.jpg").read_bytes() == b"\xff\xd8"


def test_demo_may_fill_a_missing_or_empty_folder_or_its_own_demo_home(tmp_path):
    assert not_a_demo_home(DataHome(tmp_path / "missing")) == ""
    (tmp_path / "empty").mkdir()
    assert not_a_demo_home(DataHome(tmp_path / "empty")) == ""
    own = DataHome(tmp_path / "own").ensure()
    (own.root / DEMO_MARKER).write_text("made by demo\n", encoding="utf-8")
    (own.landing / "old.csv").write_text("x\n", encoding="utf-8")
    assert not_a_demo_home(own) == ""

    (own.instance / "storage").mkdir(parents=True)
    (own.instance / "storage" / "runs.db").write_bytes(b"run history")
    with writer_lock(own, timeout=1):  # as `demo` holds it: its lock file survives the emptying
        empty_demo_home(own)
        assert sorted(p.name for p in own.root.iterdir()) == sorted([LOCK_FILE, own.instance.name])
    assert (own.instance / "storage" / "runs.db").read_bytes() == b"run history"  # never the instance


def test_the_lock_file_and_an_instance_do_not_make_a_folder_non_empty(tmp_path):
    folder = DataHome(tmp_path / "fresh")
    (folder.instance).mkdir(parents=True)  # `csc-returns dev` opened before the first demo
    with writer_lock(folder, timeout=1):  # `demo` takes the lock before looking: the lock file is its own
        assert not_a_demo_home(folder) == ""


def test_a_fresh_demo_home_is_marked_and_a_working_home_is_refused_before_anything_is_deleted(tmp_path, example_rows):
    fresh = fresh_demo_home(DataHome(tmp_path / "new"))
    assert (fresh.root / DEMO_MARKER).is_file() and fresh.landing.is_dir() and fresh.reference.is_dir()
    (fresh.landing / "SYNTHETIC-old.csv").write_text("x\n", encoding="utf-8")
    assert list(fresh_demo_home(fresh).landing.iterdir()) == []  # its own home: emptied for a fresh demo

    home = _working_home(tmp_path, example_rows)
    before = _contents(home.root)
    with pytest.raises(NotADemoHome, match=r"not empty \(.*\) and not a demo home.*; nothing deleted"):
        fresh_demo_home(home)
    assert _contents(home.root) == before
