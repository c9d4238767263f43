"""Private by default: a data home holds withheld figures and raw returns about children, so with
the usual umask (022) every file the pipeline writes in it is 0600 and every folder 0700, the
Dagster instance inside it too; publish/ is as the operator configures it ($CSC_PUBLISH_MODE),
`status` warns about a home others can read, and `csc-returns private` puts one right."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.home import DataHome
from pipelines.home.privacy import parse_mode
from tests.conftest import REPO, write_return

pytestmark = pytest.mark.xdist_group("dagster")
LANDED_BY_THE_TEST = "landing/SYNTHETIC-more.csv"  # the submitter's file, not one the pipeline writes


def _modes(root: Path) -> dict[str, int]:
    """Every file and folder under `root` (root included, links not followed): its permission bits."""
    modes = {".": stat.S_IMODE(os.lstat(root).st_mode)}
    for parent, folders, files in os.walk(root):
        for name in folders + files:
            path = Path(parent) / name
            if not path.is_symlink():
                modes[str(path.relative_to(root))] = stat.S_IMODE(os.lstat(path).st_mode)
    return modes


def _cli(home: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """The command as a person runs it, with the usual umask 022."""
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "--home", str(home), *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={k: v for k, v in (env or os.environ).items() if k != "DAGSTER_HOME"},
        preexec_fn=lambda: os.umask(0o022),
        timeout=600,
    )


@pytest.fixture(scope="module")
def run_home(tmp_path_factory) -> Path:
    """A new home after `reference import` of the demo subset and a run over SYNTHETIC returns (a
    month with an error, so findings and Data Docs are written too)."""
    import csv

    from tests.conftest import EXAMPLE_RETURN, requires_shared

    requires_shared(EXAMPLE_RETURN)
    root = tmp_path_factory.mktemp("private") / "home"
    demo = _cli(root, "demo")  # a demo home: reference data, SYNTHETIC returns, a full run, the Data Docs
    assert demo.returncode == 0, demo.stderr
    with EXAMPLE_RETURN.open(newline="", encoding="utf-8") as handle:
        rows = [dict(r, referrals="99999") for r in csv.DictReader(handle)]
    write_return(root / LANDED_BY_THE_TEST, rows)
    assert _cli(root, "run", "--quiet").returncode in (0, 1)
    return root


def test_a_new_homes_files_are_0600_and_folders_0700_after_a_run(run_home):
    modes = _modes(run_home)
    assert len(modes) > 50 and any(name.startswith(".dagster/") for name in modes)
    assert any(name.startswith("archive/") for name in modes) and any(name.startswith("reports/") for name in modes)
    wrong = {
        name: oct(mode)
        for name, mode in modes.items()
        if mode != (0o700 if (run_home / name).is_dir() else 0o600) and name != LANDED_BY_THE_TEST
    }
    assert wrong == {}
    status = _cli(run_home, "status")
    assert status.returncode == 0 and "readable by others" not in status.stderr


def test_status_warns_about_a_home_others_can_read_and_private_puts_it_right(run_home, tmp_path):
    import shutil

    home = tmp_path / "old-home"
    shutil.copytree(run_home, home, symlinks=True)
    os.chmod(home, 0o755)
    for parent, folders, files in os.walk(home):  # a home made before it was private by default
        for name in folders:
            os.chmod(Path(parent) / name, 0o755)
        for name in files:
            os.chmod(Path(parent) / name, 0o644)
    status = _cli(home, "status")
    assert status.returncode == 0
    [warning] = status.stderr.splitlines()
    assert warning.startswith(f"warning: {home} is readable by others (") and "csc-returns private" in warning

    fixed = _cli(home, "private")
    assert fixed.returncode == 0 and fixed.stdout.startswith(f"{home} is private: ")
    assert {mode for name, mode in _modes(home).items() if (home / name).is_dir()} == {0o700}
    assert {mode for name, mode in _modes(home).items() if not (home / name).is_dir()} == {0o600}
    assert _cli(home, "status").stderr == ""


def test_publish_is_as_the_operator_configures_it_and_nothing_else_is(run_home, tmp_path):
    import shutil

    home = tmp_path / "served"
    shutil.copytree(run_home, home, symlinks=True)
    env = {**os.environ, "CSC_PUBLISH_MODE": "0644"}
    assert _cli(home, "private", env=env).returncode == 0
    modes = _modes(home)
    for name, mode in modes.items():
        path = home / name
        if name == ".":
            assert mode == 0o711  # a web server reaches publish/, lists nothing
        elif name == "publish" or name.startswith("publish/"):
            assert mode == (0o755 if path.is_dir() else 0o644), name
        else:
            assert mode == (0o700 if path.is_dir() else 0o600), name
    assert _cli(home, "status", env=env).stderr == ""  # as configured: no warning
    assert "readable by others" in _cli(home, "status").stderr  # configured private: publish/ is exposed


@pytest.mark.parametrize("text, mode", [("", 0o600), ("0644", 0o644), ("640", 0o640), ("0755", 0o644), ("0", 0o600)])
def test_a_publish_mode_is_octal_the_owner_always_reads_and_writes_and_nothing_executes(text, mode):
    assert parse_mode(text) == mode


def test_a_bad_publish_mode_is_one_line(tmp_path):
    refused = _cli(tmp_path / "home", "status", env={**os.environ, "CSC_PUBLISH_MODE": "rw-r--r--"})
    assert refused.returncode == 2 and refused.stderr == (
        "CSC_PUBLISH_MODE 'rw-r--r--' is not an octal file mode such as 0644\n"
    )


def test_a_home_created_by_ensure_is_private_whatever_the_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        home = DataHome(tmp_path / "new").ensure()
    finally:
        os.umask(previous)
    assert {mode for mode in _modes(home.root).values()} == {0o700}
