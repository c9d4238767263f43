"""Private by default: the data home holds withheld figures and raw returns, so only its owner reads it.

Every process of the pipeline creates its files with the umask 077 (`configure`, called at the
edges: the command line's entry point and the Dagster code location), so whatever writes into
the home (DuckDB, Parquet, SQLite of the Dagster instance, GX's Data Docs, our own durable
writes) makes files 0600 and folders 0700; a copy that would carry a package file's mode is made
private after (`private_tree`). A new home is created 0700.

publish/ is what a web server reads: its files get the mode the operator configures
($CSC_PUBLISH_MODE, octal such as 0644; blank: private like the rest), its folders the same with
search (x) wherever read is given, and the home itself then 0711 so that the server can reach
publish/ without listing anything else. `exposed` finds what others can read (the `status`
warning) and `make_private` puts an existing home right (`csc-returns private`).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from pipelines.home import DataHome

PRIVATE_UMASK = 0o077
PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700
_OTHERS = 0o077  # group and others: any of their bits
_OTHERS_READ_WRITE = 0o066  # reading or changing a file, listing or changing a folder (search alone reveals no name)

_publish_file_mode = PRIVATE_FILE  # set at an edge by `configure`


class BadMode(ValueError):
    """$CSC_PUBLISH_MODE is not an octal file mode; the message is one line."""


def parse_mode(text: str) -> int:
    """An octal file mode for published files ('0644', '644'); blank: private. The owner always reads
    and writes; no execute bit, nothing beyond the permission bits."""
    text = text.strip()
    if not text:
        return PRIVATE_FILE
    try:
        mode = int(text, 8)
    except ValueError:
        raise BadMode(f"CSC_PUBLISH_MODE '{text}' is not an octal file mode such as 0644") from None
    if mode & ~0o777:
        raise BadMode(f"CSC_PUBLISH_MODE '{text}' is not an octal file mode such as 0644")
    return (mode & 0o666) | PRIVATE_FILE


def configure(publish_mode: str = "") -> None:
    """At an edge: this process (and every process it starts) creates private files, and publish/
    gets `publish_mode` ($CSC_PUBLISH_MODE)."""
    global _publish_file_mode
    _publish_file_mode = parse_mode(publish_mode)
    os.umask(PRIVATE_UMASK)


def publish_file_mode() -> int:
    return _publish_file_mode


def folder_mode(file_mode: int) -> int:
    """A folder's mode for files of `file_mode`: search (x) wherever read is given."""
    return file_mode | ((file_mode & 0o444) >> 2)


def served() -> bool:
    """Whether publish/ is configured readable by others (a web server)."""
    return bool(_publish_file_mode & _OTHERS)


def root_mode() -> int:
    """The home folder: private, or searchable (not listable) by others when publish/ is served."""
    return PRIVATE_FOLDER | (0o011 if served() else 0)


def _set_tree(top: Path, file_mode: int, top_mode: int | None = None) -> int:
    """Give every file under `top` `file_mode` and every folder its `folder_mode` (`top` itself
    `top_mode` when given), never following a link; how many modes changed."""
    changed = 0

    def put(path: Path, mode: int) -> None:
        nonlocal changed
        current = os.lstat(path)
        if stat.S_ISLNK(current.st_mode) or stat.S_IMODE(current.st_mode) == mode:
            return
        os.chmod(path, mode)
        changed += 1

    if not top.exists():
        return 0
    put(top, folder_mode(file_mode) if top_mode is None else top_mode)
    for parent, folders, files in os.walk(top):
        for name in folders:
            put(Path(parent) / name, folder_mode(file_mode))
        for name in files:
            put(Path(parent) / name, file_mode)
    return changed


def private_tree(top: Path) -> int:
    """Files under `top` 0600, folders 0700 (a copy that carried a package file's 0644 mode)."""
    return _set_tree(top, PRIVATE_FILE)


def publish_tree(top: Path) -> int:
    """A published folder (publish/ or its staging copy) given the configured mode."""
    return _set_tree(top, _publish_file_mode)


def ensure_private_folder(folder: Path) -> Path:
    """`folder` (and its missing parents) created; a folder created here is 0700 whatever the umask."""
    if not folder.exists():
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, PRIVATE_FOLDER)
    return folder


def exposed(home: DataHome) -> list[str]:
    """What others can read or change in `home` now (paths relative to it, as walked): a file with a
    group or other read or write bit, or a folder they can list or change, each only where they
    can reach it (every folder above it searchable by them). publish/ counts only beyond its
    configured mode; the home's search bit for a served publish/ is not exposure."""
    root = home.root
    if not root.exists():
        return []
    allowed_file = _publish_file_mode & _OTHERS_READ_WRITE
    allowed_folder = folder_mode(_publish_file_mode) & _OTHERS_READ_WRITE
    found = []
    reachable = {root: True}  # a folder others can enter: the home's own parents are the operator's
    for parent, folders, files in os.walk(root):
        here = Path(parent)
        mode = stat.S_IMODE(os.lstat(here).st_mode)
        in_publish = here == home.publish or home.publish in here.parents
        if reachable[here] and mode & _OTHERS_READ_WRITE & ~(allowed_folder if in_publish else 0):
            found.append(str(here.relative_to(root)))
        enter = reachable[here] and bool(mode & 0o011)
        for name in folders:
            reachable[here / name] = enter
        if not enter:
            continue
        for name in files:
            status = os.lstat(here / name)
            bits = stat.S_IMODE(status.st_mode) & _OTHERS_READ_WRITE & ~(allowed_file if in_publish else 0)
            if bits and not stat.S_ISLNK(status.st_mode):
                found.append(str((here / name).relative_to(root)))
    return found


def make_private(home: DataHome) -> int:
    """Every file and folder of `home` private (publish/ as configured); how many modes changed."""
    if not home.root.exists():
        return 0
    changed = 0
    current = stat.S_IMODE(os.lstat(home.root).st_mode)
    if current != root_mode():
        os.chmod(home.root, root_mode())
        changed += 1
    for entry in home.root.iterdir():
        if entry.is_symlink():
            continue
        if entry == home.publish:
            changed += publish_tree(entry)
        elif entry.is_dir():
            changed += private_tree(entry)
        elif stat.S_IMODE(entry.lstat().st_mode) != PRIVATE_FILE:
            os.chmod(entry, PRIVATE_FILE)
            changed += 1
    return changed
