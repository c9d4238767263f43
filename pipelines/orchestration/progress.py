"""How `csc-returns` shows long work: a bar on a terminal, one plain line per finished item
otherwise (CI logs, cron mail), nothing with `--quiet`.

The runner and the reference import report `Progress` through a callback and know nothing of
the display. Progress is written to standard error, so that standard output keeps the summary
(or the JSON of `--json`) alone, and to a duplicate of its file descriptor taken before the work
starts: while a step runs, Dagster redirects the process's descriptors into the step's compute
log, and a progress bar is no step's log. No Dagster here: the reference import uses it too.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TextIO

BAR, LINES, QUIET = "bar", "lines", "quiet"


@dataclass(frozen=True)
class Progress:
    """Where long work stands: `done` of `total` items finished, the one under way and its stage.

    `finished` is set once per item, when it ends: its outcome in a few words.
    """

    done: int
    total: int
    item: str | None = None
    stage: str | None = None
    finished: str | None = None


ProgressCallback = Callable[[Progress], None]


def ignore_progress(_: Progress) -> None:
    """The callback when nobody is watching."""


def display_mode(stream: TextIO, quiet: bool) -> str:
    if quiet:
        return QUIET
    return BAR if stream.isatty() else LINES


def _private_copy(stream: TextIO) -> TextIO:
    """The same terminal or pipe under a descriptor of our own (see the module's docstring)."""
    try:
        descriptor = stream.fileno()
    except (AttributeError, io.UnsupportedOperation, ValueError):  # a test's captured stream
        return stream
    sys.stdout.flush()  # what was said before the progress comes before it in a shared log
    stream.flush()
    return os.fdopen(
        os.dup(descriptor),
        "w",
        buffering=1,
        encoding=getattr(stream, "encoding", None) or "utf-8",
        errors="replace",
        closefd=True,
    )


def _clock(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes}:{seconds:02d}"


@contextlib.contextmanager
def showing_progress(unit: str, quiet: bool = False, stream: TextIO | None = None) -> Iterator[ProgressCallback]:
    """A callback that shows `Progress` of work counted in `unit` (e.g. "months") on `stream`
    (standard error by default), for as long as the block runs."""
    stream = stream or sys.stderr
    mode = display_mode(stream, quiet)
    if mode == QUIET:
        yield ignore_progress
        return
    output = _private_copy(stream)
    try:
        if mode == BAR:
            with _bar(output, unit) as callback:
                yield callback
        else:
            yield _lines(output, unit)
    finally:
        if output is not stream:
            output.close()


def _lines(output: TextIO, unit: str) -> ProgressCallback:
    started = time.monotonic()

    def report(progress: Progress) -> None:
        if progress.finished is not None:
            output.write(
                f"[{progress.done}/{progress.total} {unit}, {_clock(time.monotonic() - started)}] "
                f"{progress.item}: {progress.finished}\n"
            )
            output.flush()

    return report


@contextlib.contextmanager
def _bar(output: TextIO, unit: str) -> Iterator[ProgressCallback]:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as RichProgress

    console = Console(file=output, force_terminal=True)
    # No redirection of sys.stdout/sys.stderr into the bar: what the work prints belongs to the
    # step's log or to standard output, which callers print once the bar has finished.
    bar = RichProgress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(unit),
        TimeElapsedColumn(),
        console=console,
        transient=False,
        redirect_stdout=False,
        redirect_stderr=False,
    )
    task = bar.add_task("starting", total=None)

    def report(progress: Progress) -> None:
        where = " ".join(part for part in (progress.item, progress.stage) if part)
        if progress.finished is not None:
            # A finished item stays on the screen above the bar, as the plain lines would say it.
            bar.console.print(f"{progress.item}: {progress.finished}", highlight=False)
            where = progress.item or ""
        bar.update(task, total=progress.total or None, completed=progress.done, description=where or "…")

    with bar:
        yield report
