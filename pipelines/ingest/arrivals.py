"""Arrivals and supersession: which landed files are new submissions, and which return is current.

One decision, used by the intake (which remembers the landing folder in the warehouse) and by
the landing sensor (which remembers it in its cursor and never opens the warehouse):

* a file version is its bytes and its extension: the same bytes as `.txt` and `.csv` read differently;
* a name of the landing folder showing content it did not hold before is an arrival, even of
  bytes received earlier (an authority re-sending its first file after a second one means the
  first); the same content seen again under the same name is not;
* what a version holds is read once and remembered by version, whatever name it comes under;
* for each authority and month the row from the latest arrival supersedes earlier ones; within
  one file, the last row.

The landing folder is an inbox others write to, so what is listed is only what can safely be
read (`scan_landing`): a symbolic link is followed only to a file in the landing folder itself
(a copy tool's alias of a file already there, read as that file under the link's name); a link
leading anywhere else, or to nothing, is refused and never opened. A name that is not valid
UTF-8 is refused too (the warehouse, the sensor's run keys and the terminal all need text),
shown with its bytes escaped (`caf\\xe9.csv`). Each refusal is one line for the run and the sensor.

What was listed may change before it is read (a link swapped to point elsewhere), so a landed
file is opened once (`open_landed`): relative to the landing folder's own descriptor, with
`O_NOFOLLOW`, a link resolved by hand at most once and only to a name in that folder, and the
descriptor so checked is the one hashed, copied into the archive and read.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import stat
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Generic, TypeVar

import pandas as pd

from pipelines.home import DataHome
from pipelines.ingest.annex_a import CHILD_LEVEL_SUFFIXES, read_child_level
from pipelines.ingest.pseudonyms import ephemeral_key
from pipelines.ingest.readers import ParsedReturn, read_return
from schemas.catalogue import PERIOD_PATTERN

# Files still being written by a copy tool, and Excel's lock files, are not returns (yet).
IGNORED_PREFIXES = (".", "~$")
IGNORED_SUFFIXES = (".part", ".tmp", ".crdownload", ".partial")

Record = TypeVar("Record")
Version = tuple[str, str]  # (sha256, suffix)


@dataclass(frozen=True)
class Refusal:
    """A landing-folder entry that is not read, and why."""

    name: str  # printable: bytes that are not UTF-8 escaped (`\\xe9`)
    reason: str

    @property
    def line(self) -> str:
        return f"{self.name}: {self.reason}"


def printable_name(name: str) -> str:
    """A file name as one line of text, whatever bytes it was made of: invalid UTF-8 and control
    characters shown as `\\xNN`."""
    text = os.fsencode(name).decode("utf-8", "backslashreplace")
    return "".join(f"\\x{ord(c):02x}" if unicodedata.category(c) == "Cc" else c for c in text)


def _is_text(name: str) -> bool:
    """Valid UTF-8 (a name that was not holds surrogate escapes, which cannot be encoded) and no
    control characters (a newline in a name would break every one-line message)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return not any(unicodedata.category(c) == "Cc" for c in name)


def scan_landing(home: DataHome) -> tuple[list[Path], list[Refusal]]:
    """(the files in the landing folder that may be returns, oldest first; the entries refused)."""
    if not home.landing.exists():
        return [], []
    landing = home.landing.resolve()
    found: list[tuple[int, str, Path]] = []
    refused: list[Refusal] = []
    for path in home.landing.iterdir():
        name = path.name
        if name.startswith(IGNORED_PREFIXES) or name.lower().endswith(IGNORED_SUFFIXES):
            continue
        link = path.is_symlink()
        if not link and not path.is_file():
            continue  # a folder: not a return, nothing to say
        if not _is_text(name):
            refused.append(
                Refusal(
                    printable_name(name),
                    "the file name is not valid UTF-8 text (or holds a "
                    "control character): not read; rename it and it is read on the next run",
                )
            )
            continue
        if link:
            target = path.resolve()
            if not target.is_relative_to(landing):
                refused.append(
                    Refusal(name, "a symbolic link leading out of the landing folder: not followed, not read")
                )
                continue
            if not target.exists():
                refused.append(Refusal(name, "a symbolic link to nothing: not read"))
                continue
            if not (target.parent == landing and target.is_file()):
                continue  # a link to a folder of the landing folder: a folder, nothing to say
            hop = _name_in_folder(os.readlink(path), home.landing.absolute())
            if hop is None or (home.landing / hop).is_symlink():  # `open_landed` follows one link, once
                refused.append(Refusal(name, "a symbolic link to another link: not followed, not read"))
                continue
        try:
            found.append((path.stat().st_mtime_ns, name, path))
        except FileNotFoundError:  # moved away between listing and stat
            continue
    return [path for _, _, path in sorted(found)], sorted(refused, key=lambda r: r.name)


class LandingChanged(OSError):
    """A landing-folder entry that is no longer a file that may be read (a link swapped to lead
    out of the folder, a file replaced by something else); the message is one line."""


_NO_FOLLOW = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


def _name_in_folder(target: str, folder: Path) -> str | None:
    """The name a link's text `target` leads to when that is an entry of `folder` itself, else None."""
    if "/" not in target:
        return target if target not in ("", ".", "..") else None
    leads_to = Path(os.path.normpath(folder / target))
    inside = leads_to.parent in (folder, folder.resolve())
    return leads_to.name if inside and leads_to.name not in ("", ".", "..") else None


@contextlib.contextmanager
def open_landed(home: DataHome, name: str) -> Iterator[BinaryIO]:
    """The landing folder's entry `name`, opened once and never through a link leading out of it.

    Opened relative to the folder's descriptor with `O_NOFOLLOW`; a link (a copy tool's alias) is
    read once and only a plain name of the same folder is opened in its place, again without
    following. Anything but a regular file is refused. `FileNotFoundError` when it went away,
    `LandingChanged` (one line) when it is no longer readable as what was listed.
    """
    if "/" in name or name in ("", ".", ".."):
        raise LandingChanged(f"{name}: not a name in the landing folder")
    folder = os.open(home.landing, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        try:
            descriptor = os.open(name, _NO_FOLLOW, dir_fd=folder)
        except OSError as exc:
            if exc.errno not in (errno.ELOOP, errno.EMLINK):  # a link, as Linux and macOS (ELOOP), FreeBSD (EMLINK) say
                raise
            target = _name_in_folder(os.readlink(name, dir_fd=folder), home.landing.absolute())
            if target is None:
                raise LandingChanged(
                    f"{name}: a symbolic link leading out of the landing folder: not followed, not read"
                ) from None
            try:
                descriptor = os.open(target, _NO_FOLLOW, dir_fd=folder)
            except OSError as again:
                if again.errno in (errno.ELOOP, errno.EMLINK):
                    raise LandingChanged(f"{name}: a symbolic link to another link: not followed, not read") from None
                raise
    finally:
        os.close(folder)
    handle = os.fdopen(descriptor, "rb")
    with handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise LandingChanged(f"{name}: not a regular file: not read")
        os.set_blocking(handle.fileno(), True)
        yield handle


def sha256_of_handle(handle: BinaryIO) -> tuple[str, int]:
    """(sha256, size) of what `handle` holds, read from its start; left at its start again."""
    handle.seek(0)
    digest, size = hashlib.sha256(), 0
    for block in iter(lambda: handle.read(1 << 20), b""):
        digest.update(block)
        size += len(block)
    handle.seek(0)
    return digest.hexdigest(), size


def descriptor_path(handle: BinaryIO) -> Path:
    """A path that opens the very file `handle` holds open (for a reader that takes a path)."""
    proc = Path(f"/proc/self/fd/{handle.fileno()}")
    return proc if proc.exists() else Path(f"/dev/fd/{handle.fileno()}")


def landed_files(home: DataHome) -> list[Path]:
    """The files in the landing folder that may be returns, oldest first (`scan_landing`)."""
    return scan_landing(home)[0]


def version_of(sha256: str, name: str) -> Version:
    return sha256, Path(name).suffix.lower()


@dataclass(frozen=True)
class FileContents:
    """What a file version holds, as far as arrivals are concerned."""

    readable: bool
    periods: tuple[str, ...]  # every period its rows state, as written (`2024-06`, `Oct-24`)
    problem: str | None  # why nothing of it can be read, in one line

    @property
    def months(self) -> tuple[str, ...]:
        """The stated periods that are months written YYYY-MM."""
        return tuple(p for p in self.periods if re.fullmatch(PERIOD_PATTERN, p))


def contents_of(parsed: ParsedReturn) -> FileContents:
    periods = tuple(sorted({str(p) for p in parsed.values["period"].dropna()})) if parsed.readable else ()
    return FileContents(parsed.readable, periods, parsed.problem)


def read_contents(path: Path, home: DataHome, display_name: str | None = None) -> FileContents:
    """What a file landed in `home` holds, through the same reader the pipeline uses, without archiving it
    (a child-level workbook: the months its extract wholly covers). `path` may be an open descriptor's
    path: `display_name` is then the landed name."""
    name = display_name or path.name
    if Path(name).suffix.lower() in CHILD_LEVEL_SUFFIXES:
        data = path.read_bytes()
        if (read := read_child_level(data, name, ephemeral_key())) is not None:
            months = tuple(read.months)
            return FileContents(bool(months), months, None if months else read.problem or "no month wholly covered")
    return contents_of(read_return(path, display_name=display_name, home=home))


@dataclass(frozen=True)
class Sighting(Generic[Record]):
    """One landed file as seen now."""

    name: str
    sha256: str
    arrived: bool  # new content under this name (or a new name): an arrival orders supersession
    known: Record | None  # what was recorded of this version before, under any name

    @property
    def version(self) -> Version:
        return version_of(self.sha256, self.name)


@dataclass
class LandingMemory(Generic[Record]):
    """What each landing-folder name held when last seen, and what was recorded of each version."""

    held: dict[str, str] = field(default_factory=dict)  # name -> sha256
    versions: dict[Version, Record] = field(default_factory=dict)

    def observe(self, name: str, sha256: str) -> Sighting[Record]:
        arrived = self.held.get(name) != sha256
        self.held[name] = sha256
        return Sighting(name, sha256, arrived, self.versions.get(version_of(sha256, name)))


def current_rows(values: pd.DataFrame) -> pd.Index:
    """Labels of the current return of each authority, `values` being a month's rows in order of
    arrival and, within a file, of its rows: the latest wins. Rows naming no authority are none's."""
    return values.dropna(subset=["la_code"]).drop_duplicates("la_code", keep="last").index
