"""Python's cyclic garbage collector, set for how the pipeline's processes live: they load many
modules first (Dagster, Great Expectations, pandas), keep them to their end, and then make objects
that mostly die young without cycles.

By default the collector passes over the young objects every 700 allocations and, now and then,
over every object: loading the range run's process made it pass over the modules' objects again
and again (0.8 s of 4.4 s), and a 24-month run made 3,200 passes (1.5 s), most over what was loaded.

Nothing is frozen at a process's exit (DuckDB's bindings would count their objects still alive then
and print each as a leak); the program instead ends once its command has returned and every exit
handler has run, without the interpreter freeing every object it loaded (`end_without_teardown`:
half a second after a run, writing nothing).
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import os
import sys
from collections.abc import Iterator

# New objects between two passes over the young ones, once loaded (Python's default is 700).
YOUNG_OBJECTS_BETWEEN_COLLECTIONS = 50_000


@contextlib.contextmanager
def loading() -> Iterator[None]:
    """While the block loads what the process keeps to its end, no collection; then what it loaded
    is frozen out of every later pass. For a process's own start, not a long-lived caller's: a
    caller's garbage at that moment is frozen too."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def collect_less() -> None:
    """The collector passes once per YOUNG_OBJECTS_BETWEEN_COLLECTIONS new objects (for a process
    whose work makes many short-lived objects, such as a run's)."""
    gc.set_threshold(YOUNG_OBJECTS_BETWEEN_COLLECTIONS, 20, 20)


_returned: list[int] = []  # the status the program's command returned, once it has


def end_without_teardown() -> None:
    """Call first thing in a program (its exit handler is then the first registered, so the last run):
    once `returned` has been told the command's status and every other exit handler has run (the
    libraries' own: logging's flush, finalizers of temporary folders, child processes joined), the
    output is flushed and the process ends with that status, skipping only the interpreter's freeing
    of every object Dagster, pandas and DuckDB loaded. Without `returned` (an uncaught error) it does
    nothing: Python's own way out reports it."""
    atexit.register(_end_after_exit_handlers)


def returned(status: int) -> None:
    """The program's command has returned `status`: the process may end without its teardown."""
    _returned.append(status)


def _end_after_exit_handlers() -> None:
    if not _returned:
        return
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a reader that went away, a stream closed
            stream.flush()
    os._exit(_returned[0])
