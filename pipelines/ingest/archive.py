"""The archive: every landed file kept byte for byte as `<home>/archive/<sha256><suffix>`.

The archive is the source of truth; the landing folder is only an inbox. A file is archived
before it is read, so an unreadable file is kept along with its finding, and nothing is ever
deleted from the archive.
"""
from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from pipelines.home import DataHome
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


def copy_into_archive(home: DataHome, source: Path, sha256: str) -> Path:
    """Copy `source` to its archive path unless that version is there already; a rename, so never half a file."""
    target = archive_path(home, sha256, source.name)
    if not target.exists():
        temporary = target.with_name(target.name + ".incoming")
        shutil.copyfile(source, temporary)
        os.replace(temporary, target)
    return target


def read_archived(home: DataHome, sha256: str, file_name: str) -> ParsedReturn:
    """An archived version read as the return it was landed as (named by its landing name)."""
    return read_return(archive_path(home, sha256, file_name), display_name=file_name)
