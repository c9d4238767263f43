"""Child-level records kept for the home's retention period, then purged; the owner's look-up of
the child behind a pseudonym (../shared/child-level.md, "Personal data"; docs/child-level.md).

The period is a home setting, in `<home>/child-level.toml` (read by `pipelines.derive.settings`; a home's settings are TOML files in
the home, as `notify.toml` is):

    retention_days = 730

Without it nothing is purged: deleting records of children is never a default. `purge` deletes
each archived child-level workbook (a workbook whose sheets hold Annex A lists, read from its
archived bytes) received more than `retention_days` ago, and its landing copy when that holds
the same bytes. A typed return is never purged, whatever its suffix. Each purge is recorded in
the warehouse (`child_level_purges`: the file's name, sha256, size, when received and purged,
by whom, under which period) before the file is deleted, so a crash between the two leaves a
record whose file the next purge finishes deleting; a purged file is never recorded twice.
The pseudonymised rows drawn from a purged workbook (`store/child_rows.py`, owner-only) are
deleted with it, and with them what a steward's explanation of a difference could list.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from pipelines.derive.settings import RETENTION, SETTINGS_FILE, retention_days
from pipelines.derive.settings import ChildLevelSettingsError as ChildLevelSettingsError  # the CLI's refusal
from pipelines.home import DataHome
from pipelines.home.durable import crash_point, fsync_directory
from pipelines.ingest.annex_a import CHILD_LEVEL_SUFFIXES, child_id_behind, holds_annex_a_lists
from pipelines.ingest.archive import archive_path, sha256_of
from pipelines.ingest.pseudonyms import PSEUDONYM_CHARS, KeyUnsafe, home_key
from pipelines.store.child_rows import delete_rows
from pipelines.store.warehouse import connect, writing


class LookupRefused(PermissionError):
    """The look-up is not for this caller or this home, in one line."""


@dataclass(frozen=True)
class Purged:
    file_name: str
    sha256: str
    received_at: dt.datetime


@dataclass(frozen=True)
class PurgeSummary:
    retention_days: int | None
    purged: tuple[Purged, ...] = ()
    finished: int = 0  # files recorded as purged by an earlier, interrupted purge and deleted now

    def lines(self) -> list[str]:
        if self.retention_days is None:
            return [f"no retention period set ({RETENTION} in {SETTINGS_FILE}): nothing purged"]
        said = [f"purged {p.file_name} (sha256 {p.sha256}, received {p.received_at:%Y-%m-%d})" for p in self.purged]
        if self.finished:
            said.append(f"finished deleting {self.finished} file(s) an interrupted purge had recorded")
        return said or [f"nothing child-level older than {self.retention_days} days to purge"]


def purge(home: DataHome, who: str, now: dt.datetime | None = None) -> PurgeSummary:
    """Delete the archived child-level workbooks received more than the home's retention period
    before `now`, recording each first; safe to run again (it purges nothing more)."""
    days = retention_days(home)
    if days is None or not home.warehouse.exists():
        return PurgeSummary(days)
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(tzinfo=None)
    cutoff = now - dt.timedelta(days=days)
    purged: list[Purged] = []
    with writing(home), connect(home) as connection:
        # First: what an interrupted purge recorded but had not yet deleted.
        recorded = connection.execute("SELECT sha256, suffix, file_name FROM child_level_purges").fetchall()
        finished = sum(_delete(home, sha256, suffix, name) for sha256, suffix, name in recorded)
        due = connection.execute(
            """SELECT sha256, suffix, file_name, size, received_at FROM received_files AS f
               WHERE list_contains(?, suffix) AND received_at < ?
               AND NOT EXISTS (SELECT 1 FROM child_level_purges AS p WHERE p.sha256 = f.sha256 AND p.suffix = f.suffix)
               ORDER BY arrival""",
            [list(CHILD_LEVEL_SUFFIXES), cutoff],
        ).fetchall()
        for sha256, suffix, name, size, received_at in due:
            path = archive_path(home, sha256, name)
            if not path.exists() or not holds_annex_a_lists(path.read_bytes()):
                continue  # a typed return (an XLSX of the standard's layout) is never purged
            connection.execute(
                "INSERT INTO child_level_purges VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [sha256, suffix, name, size, received_at, now, who, days],
            )
            crash_point("purge_recorded")  # test hook: killed between the record and the deletion
            _delete(home, sha256, suffix, name)
            purged.append(Purged(name, sha256, received_at))
    return PurgeSummary(days, tuple(purged), finished)


def _delete(home: DataHome, sha256: str, suffix: str, file_name: str) -> bool:
    """Delete a purged version's archived copy, the pseudonymised rows drawn from it, and its landing
    copy when that holds the same bytes."""
    deleted = delete_rows(home, sha256)
    target = home.archive / f"{sha256}{suffix}"
    if target.exists():
        target.unlink()
        fsync_directory(target.parent)
        deleted = True
    landed = home.landing / file_name
    if landed.is_file() and not landed.is_symlink() and sha256_of(landed) == sha256:
        landed.unlink()
        fsync_directory(landed.parent)
    return deleted


def purged_files(home: DataHome) -> list[tuple]:
    """The purge record: (purged_at, who, file_name, sha256, size, received_at, retention_days)."""
    with connect(home, read_only=True) as connection:
        return connection.execute(
            """SELECT purged_at, who, file_name, sha256, size, received_at, retention_days
               FROM child_level_purges ORDER BY purged_at, file_name"""
        ).fetchall()


def look_up_child(home: DataHome, pseudonym: str, who: str, reason: str, key_file: Path | None = None) -> str | None:
    """The raw ID behind `pseudonym` (the home key's pseudonym of a child of an archived workbook),
    None when no archived workbook holds it. Only the home's owner may ask, with a key only the
    owner can read; every asking is recorded (who, when, why, the pseudonym, whether found), never the ID.
    """
    pseudonym = pseudonym.strip().lower()
    if len(pseudonym) != PSEUDONYM_CHARS or any(c not in "0123456789abcdef" for c in pseudonym):
        raise LookupRefused(f"{pseudonym!r} is not a pseudonym ({PSEUDONYM_CHARS} hex digits)")
    if not who.strip() or not reason.strip():
        raise LookupRefused("say who asks (--who) and why (--reason): both are recorded")
    if os.getuid() != home.root.stat().st_uid:
        raise LookupRefused(f"only the owner of {home.root} may look a child up")
    key_path = key_file or home.child_level_key
    if not key_path.exists():
        raise LookupRefused(f"{key_path} does not exist: no pseudonym was made with the home's key")
    if os.getuid() != key_path.stat().st_uid:
        raise LookupRefused(f"{key_path} is not owned by you: only the key's owner may look a child up")
    try:
        key = home_key(home, key_path)
    except KeyUnsafe as exc:  # a key others can read, or no key
        raise LookupRefused(str(exc)) from None
    found: str | None = None
    with writing(home), connect(home) as connection:
        files = connection.execute(
            """SELECT DISTINCT sha256, file_name, suffix FROM received_files AS f WHERE list_contains(?, suffix)
               AND NOT EXISTS (SELECT 1 FROM child_level_purges AS p WHERE p.sha256 = f.sha256 AND p.suffix = f.suffix)
               ORDER BY sha256""",
            [list(CHILD_LEVEL_SUFFIXES)],
        ).fetchall()
        for sha256, name, _ in files:
            path = archive_path(home, sha256, name)
            if not path.exists():
                continue
            data = path.read_bytes()
            if holds_annex_a_lists(data) and (found := child_id_behind(data, name, key, pseudonym)) is not None:
                break
        connection.execute(
            "INSERT INTO child_lookups VALUES (?, ?, ?, ?, ?, ?)",
            [
                dt.datetime.now(dt.UTC).replace(tzinfo=None),
                who.strip(),
                getpass.getuser(),
                reason.strip(),
                pseudonym,
                found is not None,
            ],
        )
    return found


def lookups(home: DataHome) -> list[tuple]:
    """The look-up record: (asked_at, who, os_user, reason, pseudonym, found)."""
    with connect(home, read_only=True) as connection:
        return connection.execute("SELECT * FROM child_lookups ORDER BY asked_at").fetchall()


def terminal_only() -> bool:
    """Whether standard output is a terminal (the ID is never written to a file or a pipe)."""
    return sys.stdout.isatty()
