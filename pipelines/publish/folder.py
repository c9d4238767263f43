"""The publish folder: a release staged beside it, swapped into place whole, and what a killed release
left put right.

A release is built in a staging folder that starts as the published folder itself, file for file,
by hard links (a copy where the file system has none): a file the release leaves alone costs
nothing and keeps its time. A file is only ever written as a new file in place of the link
(`write_file`), never through it, so the published folder is never touched until the swap. Then
the files written and every folder of the staging folder are fsynced (a linked file is the
published file itself, made durable by the release that wrote it), the two folders are exchanged
in one atomic `renameat2(RENAME_EXCHANGE)` and the home fsynced (`home/durable.py`), so a reader,
a crash or a power cut finds the old release or the new one, never a mixture and never no folder.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Collection
from pathlib import Path

from pipelines.home import DataHome, privacy
from pipelines.home.durable import crash_point, exchange, fsync_directory, fsync_file

STAGING_PREFIX = ".publish-staging-"


def previous_path(home: DataHome) -> Path:
    """Where the two-rename fallback sets the old folder aside for a moment."""
    return home.root / ".publish-previous"


def recover_interrupted_swap(home: DataHome) -> None:
    """Clear what a killed release left beside publish/: its staging folder (never served), or the
    old folder the two-rename fallback had set aside (put back if publish/ is missing)."""
    previous = previous_path(home)
    if previous.exists() and not home.publish.exists():
        os.replace(previous, home.publish)
    shutil.rmtree(previous, ignore_errors=True)
    for leftover in home.root.glob(STAGING_PREFIX + "*"):  # one writer at a time: none is in use
        shutil.rmtree(leftover, ignore_errors=True)


def stage(home: DataHome) -> Path:
    """A new staging folder holding the published files (hard links), after clearing what a killed
    release left. The caller removes it (`discard`) whatever happens."""
    recover_interrupted_swap(home)
    home.publish.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=home.root))
    staging.chmod(privacy.folder_mode(privacy.publish_file_mode()))  # as the operator serves publish/
    if home.publish.exists():
        shutil.copytree(home.publish, staging, dirs_exist_ok=True, copy_function=_link_or_copy)
    return staging


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:  # a file system without hard links: a copy, durable like a file written
        shutil.copy2(source, target)
        fsync_file(Path(target))


def discard(staging: Path) -> None:
    shutil.rmtree(staging, ignore_errors=True)


def write_file(path: Path, data: bytes) -> bool:
    """Give `path` these bytes as a new file (never through a link to the published one); a file that
    holds them already is left alone. Whether it was written."""
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
        path.unlink()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return True


def swap_into_place(staging: Path, home: DataHome, written: Collection[str]) -> None:
    """Publish the staging folder whole: made durable, then exchanged with publish/ in one atomic
    step. `staging` holds the old release after.

    Durable: each file written (`written`, relative to the folder) and every folder fsynced. The
    other files are links to the published ones, fsynced by the release that wrote them."""
    privacy.publish_tree(staging)  # every file and folder as the operator configures publish/
    if privacy.served():  # the web server must reach publish/ through the home (search, not list)
        mode = os.stat(home.root).st_mode & 0o777
        if mode & 0o011 != 0o011:
            os.chmod(home.root, mode | 0o011)
    for name in written:
        fsync_file(staging / name)
    for parent, _, _ in os.walk(staging, topdown=False):
        fsync_directory(Path(parent))
    crash_point("publish-staged")
    if not home.publish.exists():
        os.replace(staging, home.publish)
    elif not exchange(staging, home.publish):
        # Only where the system has no atomic exchange (not Linux or macOS local disks): two
        # renames, with a moment without publish/ that recover_interrupted_swap repairs.
        previous = previous_path(home)
        os.replace(home.publish, previous)
        os.replace(staging, home.publish)
        os.replace(previous, staging)
    fsync_directory(home.root)
    crash_point("publish-swapped")
