"""The program ends without the interpreter's teardown once its command has returned, but only after
every exit handler a library registered has run, with its status and all of its output."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO

PROGRAM = """
import atexit, pathlib, sys
import pipelines.cli as cli

def command(argv=None):
    # a library's exit handler (registered once the program has started, as every library's is)
    atexit.register(lambda: pathlib.Path(sys.argv[1]).write_text("ran"))
    print("said " * 20000)  # more than a pipe's buffer: all of it must arrive
    if sys.argv[2] == "raise":
        raise RuntimeError("an error nobody caught")
    return int(sys.argv[2])

cli.main = command
cli.entry()
"""


def _program(tmp_path, how: str) -> tuple[subprocess.CompletedProcess, str]:
    marker = tmp_path / "handler-ran"
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(marker), how], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    return done, marker.read_text() if marker.exists() else ""


def test_the_status_the_output_and_every_exit_handler_survive_the_quick_end(tmp_path):
    for status in (0, 1, 3):
        done, handler = _program(tmp_path, str(status))
        assert done.returncode == status
        assert done.stdout == "said " * 20000 + "\n"
        assert handler == "ran"


def test_an_uncaught_error_leaves_the_usual_way_with_its_traceback(tmp_path):
    done, handler = _program(tmp_path, "raise")
    assert done.returncode == 1
    assert "RuntimeError: an error nobody caught" in done.stderr
    assert handler == "ran"
