"""One writer at a time on a data home: an advisory lock every writer takes.

Writers (`run`, `reference import`, `waive`, every Dagster run that writes the warehouse) hold
`<home>/.writer.lock` with `flock` for as long as they write. A second writer waits, saying once
who holds it, and proceeds when it is free; after `timeout` seconds it gives up with
`WriterLockTimeout` (the CLI exits `exit_codes.LOCKED`). The kernel drops the lock when the
holder dies, so a killed run never leaves a stale lock behind.

Re-entrant in one process (the CLI holds it around an in-process Dagster run whose steps take it
again) and inherited by child processes through `HELD_ENV`, so a run's step subprocesses do
not wait for their own run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from pipelines.home import DataHome, environment

LOCK_FILE = ".writer.lock"
HELD_ENV = environment.LOCK_HELD
TIMEOUT_ENV = environment.LOCK_TIMEOUT
DEFAULT_TIMEOUT = 3600.0
POLL_SECONDS = 0.2

_held: dict[Path, int] = {}


class WriterLockTimeout(Exception):
    """The lock stayed with another writer for longer than the wait allowed."""


def lock_path(home: DataHome) -> Path:
    return home.root / LOCK_FILE


def default_timeout() -> float:
    return environment.lock_timeout(DEFAULT_TIMEOUT)


def holder(home: DataHome) -> str:
    """Who holds (or last held) the lock, as its holder wrote it: `process N that started at HH:MM:SS`."""
    try:
        text = lock_path(home).read_text(encoding="utf-8").strip()
    except OSError:
        return ""
    return text or "another process"


def _held_by_parent(path: Path) -> bool:
    return environment.lock_held_by_parent(path)


def holds_writer_lock(home: DataHome) -> bool:
    """Whether this process holds the home's writer lock (itself, or through the parent that started it)."""
    path = lock_path(home)
    return bool(_held.get(path)) or _held_by_parent(path)


@contextlib.contextmanager
def writer_lock(
    home: DataHome, *, timeout: float | None = None, announce: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold the data home's writer lock; wait up to `timeout` seconds (default $CSC_LOCK_TIMEOUT or 1 h)."""
    path = lock_path(home)
    if _held.get(path) or _held_by_parent(path):
        _held[path] = _held.get(path, 0) + 1
        try:
            yield
        finally:
            _held[path] -= 1
        return
    home.root.mkdir(parents=True, exist_ok=True)
    timeout = default_timeout() if timeout is None else timeout
    announce = announce or (lambda line: print(line, file=sys.stderr, flush=True))
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _acquire(descriptor, home, timeout, announce)
        started = dt.datetime.now().strftime("%H:%M:%S")
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"process {os.getpid()} that started at {started}\n".encode(), 0)
        _held[path] = 1
        try:
            with environment.telling_children_lock_held(path):
                yield
        finally:
            _held.pop(path, None)
            os.ftruncate(descriptor, 0)
    finally:
        os.close(descriptor)  # closing releases the flock


def _acquire(descriptor: int, home: DataHome, timeout: float, announce: Callable[[str], None]) -> None:
    deadline = time.monotonic() + timeout
    announced = False
    while True:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        if not announced:
            announce(f"waiting for the run in {holder(home)} ({home.root})")
            announced = True
        if time.monotonic() >= deadline:
            raise WriterLockTimeout(
                f"{home.root} is still held by the run in {holder(home)} after "
                f"{timeout:g} s; try again later, or wait longer (--wait SECONDS, ${TIMEOUT_ENV})"
            )
        time.sleep(POLL_SECONDS)
