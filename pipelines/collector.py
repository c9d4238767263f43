"""Python's cyclic garbage collector, set for how the pipeline's processes live: they load many
modules first (Dagster, Great Expectations, pandas), keep them to their end, and then make objects
that mostly die young without cycles.

By default the collector passes over the young objects every 700 allocations and, now and then,
over every object: loading the range run's process made it pass over the modules' objects again
and again (0.8 s of 4.4 s), and a 24-month run made 3,200 passes (1.5 s), most over what was loaded.

Nothing is frozen at a process's exit, though it would spare the interpreter's last passes (half a
second after a run): DuckDB's bindings count their objects still alive then and print each as a leak.
"""

from __future__ import annotations

import contextlib
import gc
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
