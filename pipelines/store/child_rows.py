"""The pseudonymised rows of each child-level workbook, kept owner-only until it is purged.

Where: `<home>/child-level/<sha256>/list-<n>.parquet`, one folder per archived version of an
Annex A workbook (mode 0700), one Parquet file per list (mode 0600), written whole then renamed
into place. Not in the warehouse: the warehouse is copied for readers (its snapshot), read by the
Dagster UI's checks and backed up with the home; these rows are read only by the steward's
explanation of a reconciliation difference (`steps/child_level.explain_differences`) and purged
with their workbook (`steps/retention.purge`).

What: only what a definition needs, as `ingest/annex_a.py` gives it: the child's pseudonym (the
home's key), the month of birth (never the date), each list's own dates, the earlier-referral count,
the legal status, and the sheet and row (to find the record in the archived workbook). Dates are
stored as day numbers since 1970, so that no date reads as a date of birth in a decoded file.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.home import DataHome
from pipelines.home.durable import fsync_directory, temporary_beside
from pipelines.home.privacy import PRIVATE_FILE, PRIVATE_FOLDER
from pipelines.ingest.annex_a import ChildLevel

_META = b"csc_child_level"
_EPOCH = pd.Timestamp("1970-01-01")


def has_rows(home: DataHome, sha256: str) -> bool:
    return (home.child_level_rows / sha256 / "done").exists()


def keep_rows(home: DataHome, sha256: str, read: ChildLevel) -> None:
    """Keep the pseudonymised rows of the workbook archived as `sha256` (once: a kept version is left)."""
    if has_rows(home, sha256) or not read.derivable:
        return
    home.child_level_rows.mkdir(mode=PRIVATE_FOLDER, parents=True, exist_ok=True)
    os.chmod(home.child_level_rows, PRIVATE_FOLDER)
    temporary = temporary_beside(home.child_level_rows / sha256)
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir(mode=PRIVATE_FOLDER)
    for number, rows in read.lists.items():
        dates = [c for c in rows.columns if pd.api.types.is_datetime64_any_dtype(rows[c])]
        table = rows.copy()
        for column in dates:
            table[column] = ((table[column] - _EPOCH) // pd.Timedelta(days=1)).astype("Int32")
        arrow = pa.Table.from_pandas(table, preserve_index=False)
        meta = {"list": number, "dates": dates, "la_code": read.la_code, "extract_date": str(read.extract_date)}
        arrow = arrow.replace_schema_metadata({**(arrow.schema.metadata or {}), _META: json.dumps(meta).encode()})
        path = temporary / f"list-{number}.parquet"
        pq.write_table(arrow, path)
        os.chmod(path, PRIVATE_FILE)
    (temporary / "done").touch(mode=PRIVATE_FILE)
    fsync_directory(temporary)
    target = home.child_level_rows / sha256
    try:
        os.rename(temporary, target)
    except OSError:  # another process kept them first
        shutil.rmtree(temporary, ignore_errors=True)
    fsync_directory(home.child_level_rows)


def read_rows(home: DataHome, sha256: str, file_name: str) -> ChildLevel | None:
    """The kept rows of the version `sha256` as the derivation reads them; None when none are kept."""
    if not has_rows(home, sha256):
        return None
    lists: dict[int, pd.DataFrame] = {}
    la_code, extract_date = None, None
    for path in sorted((home.child_level_rows / sha256).glob("list-*.parquet")):
        arrow = pq.read_table(path)
        meta = json.loads(arrow.schema.metadata[_META])
        rows = arrow.to_pandas()
        for column in meta["dates"]:
            rows[column] = _EPOCH + pd.to_timedelta(rows[column].astype("float64"), unit="D")
        lists[int(meta["list"])] = rows
        la_code, extract_date = meta["la_code"], dt.date.fromisoformat(meta["extract_date"])
    return ChildLevel(file_name, la_code, extract_date, lists)


def delete_rows(home: DataHome, sha256: str) -> bool:
    """Delete the kept rows of a purged version (and what the operator stated of it); whether there were any."""
    folder = home.child_level_rows / sha256
    _stated_path(home, sha256).unlink(missing_ok=True)
    if not folder.exists():
        return False
    shutil.rmtree(folder)
    fsync_directory(home.child_level_rows)
    return True


def _stated_path(home: DataHome, sha256: str):
    return home.child_level_rows / f"{sha256}.stated.json"


def state(home: DataHome, sha256: str, la_code: str | None, extract_date: dt.date | None) -> None:
    """Record the authority and extract date the operator gave (`run --la-code --extract-date`) for the
    version `sha256`, a workbook stating neither: every later read of it uses them."""
    home.child_level_rows.mkdir(mode=PRIVATE_FOLDER, parents=True, exist_ok=True)
    path = _stated_path(home, sha256)
    temporary = temporary_beside(path)
    text = json.dumps({"la_code": la_code, "extract_date": extract_date.isoformat() if extract_date else None})
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    fsync_directory(path.parent)


def stated(home: DataHome, sha256: str) -> tuple[str | None, dt.date | None]:
    """(authority, extract date) the operator stated for the version; (None, None) when none."""
    path = _stated_path(home, sha256)
    if not path.exists():
        return None, None
    given = json.loads(path.read_text(encoding="utf-8"))
    day = given.get("extract_date")
    return given.get("la_code"), dt.date.fromisoformat(day) if day else None
