"""Writing files so that a crash or a power cut leaves the old file or the new one, never half of one.

The protocol, used for the archive copy, every published file and the manifest: write a
temporary file beside the target, fsync it, rename it over the target, fsync the folder (the
rename itself is only durable once the folder's entry is on disk). A folder is swapped whole by
one atomic exchange of two names (`exchange`), so a reader always finds one complete folder.

`crash_point` is a test hook, not a mock: with `CSC_CRASH_AT=<point>` in the environment the
process SIGKILLs itself when it reaches that point (nothing after it runs, no `finally`, no
`atexit`), which is how tests/test_crash_safety.py proves that a run killed anywhere can be run
again. Without the variable it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import shutil
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from pipelines.home import environment

CRASH_ENV = environment.CRASH_AT
# renameat2(2) RENAME_EXCHANGE (Linux >= 3.15) and renamex_np(2) RENAME_SWAP (macOS) are both 2.
_SWAP_FLAG = 2
_AT_FDCWD = -100


def crash_point(point: str) -> None:
    """Test hook: SIGKILL this process here when `CSC_CRASH_AT` names `point`."""
    if environment.crash_point_wanted(point):
        os.kill(os.getpid(), signal.SIGKILL)


def fsync_directory(folder: Path) -> None:
    """Make the entries of `folder` (a file created or renamed in it) survive a power cut."""
    descriptor = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def fsync_file(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def fsync_tree(folder: Path) -> None:
    """fsync every file and folder under `folder` (bottom up), then `folder` itself."""
    for parent, _, names in os.walk(folder, topdown=False):
        for name in names:
            fsync_file(Path(parent) / name)
        fsync_directory(Path(parent))


def temporary_beside(target: Path, suffix: str = "incoming") -> Path:
    """A hidden name beside `target` for what becomes it: each process and thread its own (two threads
    writing one target at once, as the runner makes a new home's instance folder from two, must not
    rename or remove each other's file)."""
    return target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.{suffix}")


def copy_stream_durably(source: BinaryIO, target: Path) -> Path:
    """Copy what the open file `source` holds (from where it stands) to `target`, durably: the
    descriptor that was checked is the one copied, never a path that may lead elsewhere since."""
    temporary = temporary_beside(target)
    with temporary.open("wb") as out:
        shutil.copyfileobj(source, out, 1 << 20)
    return _commit(temporary, target)


def write_durably(target: Path, data: bytes) -> Path:
    """Write `data` to `target` by temporary file, fsync, rename and fsync of the folder."""
    temporary = temporary_beside(target)
    temporary.write_bytes(data)
    return _commit(temporary, target)


def write_durably_with(target: Path, write: Callable[[Path], object]) -> Path:
    """`write(temporary)` fills a temporary file beside `target` (a database's own writer, say), then
    fsync, rename and fsync of the folder, as `write_durably`."""
    temporary = temporary_beside(target)
    try:
        write(temporary)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return _commit(temporary, target)


def _commit(temporary: Path, target: Path) -> Path:
    try:
        fsync_file(temporary)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    fsync_directory(target.parent)
    return target


def _libc_swap() -> Callable[[bytes, bytes], int] | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name, use_errno=True)
    except OSError:
        return None
    if sys.platform.startswith("linux") and hasattr(libc, "renameat2"):
        return lambda a, b: libc.renameat2(_AT_FDCWD, a, _AT_FDCWD, b, _SWAP_FLAG)
    if sys.platform == "darwin" and hasattr(libc, "renamex_np"):
        return lambda a, b: libc.renamex_np(a, b, _SWAP_FLAG)
    return None


_SWAP = _libc_swap()


def exchange(first: Path, second: Path) -> bool:
    """Swap the names of two existing paths in one atomic step; False where the system cannot."""
    if _SWAP is None:
        return False
    if _SWAP(os.fsencode(first), os.fsencode(second)) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False  # a file system without the exchange (some network mounts)
    raise OSError(code, os.strerror(code), str(first))
