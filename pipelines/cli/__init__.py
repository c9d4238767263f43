"""`csc-returns`: validate returns, run the pipeline, import reference data, run the demo.

The entry point loads the commands (`commands.py`: pandas and much else, most of a second) only after
starting, for a run of the landing folder, the process its range will run in: that process takes
longest to load, and loads meanwhile (`pipelines/orchestration/launcher.py`).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
from typing import NoReturn

from pipelines.collector import collect_less, loading
from pipelines.orchestration.launcher import dismiss_ahead, start_ahead

__all__ = ["entry", "main"]


def entry() -> NoReturn:
    """The `csc-returns` program: `main` in a process of its own, its commands loaded with Python's
    collector off and then collecting less often (`pipelines/collector.py`), and ended without the
    interpreter's teardown (`_end_after_exit_handlers`)."""
    atexit.register(_end_after_exit_handlers)  # first registered: run last, after every other exit handler
    start_ahead(sys.argv[1:])
    with loading():
        import pipelines.cli.commands  # noqa: F401
    collect_less()
    status = main()
    _ended_with.append(status)
    sys.exit(status)


_ended_with: list[int] = []  # the status `main` returned: set once it has returned


def _end_after_exit_handlers() -> None:
    """The process's end once `main` has returned and every exit handler has run (the libraries' own:
    logging's flush, finalizers of temporary folders, child processes joined): output flushed, then
    the end, without the interpreter freeing every object Dagster, pandas and DuckDB loaded (half a
    second of a run, writing nothing; every connection and file of ours is closed by then). After an
    uncaught error it does nothing: Python's own way out reports it."""
    if not _ended_with:
        return
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a reader that went away, a stream closed
            stream.flush()
    os._exit(_ended_with[0])


def main(argv: list[str] | None = None) -> int:
    start_ahead(sys.argv[1:] if argv is None else argv)
    try:
        from pipelines.cli.commands import main as run_command

        return run_command(argv)
    finally:
        dismiss_ahead()  # started, but the command stopped before its run took it
