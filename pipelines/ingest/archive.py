"""The archive: every landed file kept byte for byte as `<home>/archive/<sha256><suffix>`.

The archive is the source of truth; the landing folder is only an inbox. A file is archived
before it is read, so an unreadable file is kept along with its finding, and nothing is ever
deleted from the archive.

A copy is durable (temporary file, fsync, rename, fsync of the folder: `home/durable.py`),
and every read checks the bytes against the sha256 the file is named by: a torn file (a power
cut mid-copy on a disk that reordered writes) is repaired from the landing copy when that copy
has the right hash, and otherwise stops with one line naming the file; it is never used.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from pipelines.home import DataHome
from pipelines.home.durable import copy_stream_durably, crash_point
from pipelines.ingest.arrivals import LandingChanged, open_landed, sha256_of_handle
from pipelines.ingest.readers import ParsedReturn, read_return


@dataclass(frozen=True)
class ArchivedFile:
    """A landed file version as the intake recorded it."""

    sha256: str
    file_name: str
    periods: tuple[str, ...]
    readable: bool
    new: bool  # an arrival: new content under this name, or a new name


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def archive_path(home: DataHome, sha256: str, file_name: str) -> Path:
    return home.archive / f"{sha256}{Path(file_name).suffix.lower()}"


class ArchiveDamaged(ValueError):
    """An archived file does not hold the bytes its name promises and cannot be repaired; one line."""


def copy_into_archive(home: DataHome, source: BinaryIO, file_name: str, sha256: str, size: int) -> Path:
    """Copy the open landed file `source` (`size` bytes hashing to `sha256`, `ingest.arrivals.open_landed`)
    to its archive path unless that version is there already, whole; a copy of another size there
    (torn) is replaced. The descriptor is copied, never the landing path again."""
    target = archive_path(home, sha256, file_name)
    if not target.exists() or target.stat().st_size != size:
        target.parent.mkdir(parents=True, exist_ok=True)
        source.seek(0)
        copy_stream_durably(source, target)
    crash_point("archived")
    return target


def verified_archive_path(home: DataHome, sha256: str, file_name: str) -> Path:
    """The archive path of a version whose bytes hash to `sha256`, repaired from the landing copy
    if they do not; `ArchiveDamaged` when no good copy is at hand."""
    target = archive_path(home, sha256, file_name)
    if target.exists() and sha256_of(target) == sha256:
        return target
    # Only a copy inside the landing folder (a link is followed no further out: ingest/arrivals.py).
    try:
        with open_landed(home, file_name) as landed:
            if sha256_of_handle(landed)[0] == sha256:
                return copy_stream_durably(landed, target)
    except (FileNotFoundError, LandingChanged):
        pass
    state = "is missing" if not target.exists() else "does not match its sha256 (a torn or altered copy)"
    raise ArchiveDamaged(
        f"archive/{target.name} ({file_name}) {state} and the landing folder holds no copy "
        "with that hash: restore it from a backup"
    )


def read_archived(home: DataHome, sha256: str, file_name: str) -> ParsedReturn:
    """An archived version, checked against its hash, read as the return it was landed as (named by its landing name)."""
    return read_return(verified_archive_path(home, sha256, file_name), display_name=file_name, home=home)
