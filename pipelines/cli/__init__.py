"""`csc-returns`: validate returns, run the pipeline, import reference data, run the demo.

The entry point loads the commands (`commands.py`: pandas and much else, most of a second) only after
starting, for a run of the landing folder, the process its range will run in: that process takes
longest to load, and loads meanwhile (`pipelines/orchestration/launcher.py`).
"""

from __future__ import annotations

import sys
from typing import NoReturn

from pipelines.collector import collect_less, end_without_teardown, loading, returned
from pipelines.orchestration.launcher import dismiss_ahead, start_ahead

__all__ = ["entry", "main"]


def entry() -> NoReturn:
    """The `csc-returns` program: `main` in a process of its own, its commands loaded with Python's
    collector off and then collecting less often, and ended without the interpreter's teardown
    (`pipelines/collector.py`)."""
    end_without_teardown()  # first: its exit handler runs after every other
    start_ahead(sys.argv[1:])
    with loading():
        import pipelines.cli.commands  # noqa: F401
    collect_less()
    status = main()
    returned(status)
    sys.exit(status)


def main(argv: list[str] | None = None) -> int:
    start_ahead(sys.argv[1:] if argv is None else argv)
    try:
        from pipelines.cli.commands import main as run_command

        return run_command(argv)
    finally:
        dismiss_ahead()  # started, but the command stopped before its run took it
