"""The search for identifying SYNTHETIC values in what a data home stores: the child's IDs, dates
of birth and staff names of a SYNTHETIC Annex A workbook, looked for in every file's bytes and in
its decoded content (DuckDB tables, Parquet, SQLite: Dagster's storage), never in the archive and
landing folders, where the raw workbook is kept by design, owner-only."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

KEPT_RAW = ("archive", "landing")


def identifying_values(lists: dict[str, list[dict]]) -> tuple[set[str], set[str]]:
    """(the IDs of seven characters or more, the dates of birth as ISO and DD/MM/YYYY and the staff
    names, also with a non-breaking space) of a SYNTHETIC workbook's lists."""
    rows = [row for rows in lists.values() for row in rows]
    ids = {str(row["Child Unique ID"]) for row in rows if len(str(row["Child Unique ID"])) >= 7}
    births = {row["Date of Birth"] for row in rows}
    others = {d.isoformat() for d in births} | {d.strftime("%d/%m/%Y") for d in births}
    workers = {row["Allocated Worker"] for row in rows if row.get("Allocated Worker")}
    others |= workers | {worker.replace(" ", "\u00a0", 1) for worker in workers}
    return ids, others


def _decoded(path: Path) -> str:
    if path.suffix == ".parquet":
        return pq.read_table(path).to_pandas().to_csv()
    if path.suffix == ".duckdb":
        with duckdb.connect(str(path), read_only=True) as connection:
            tables = [t for (t,) in connection.sql("show tables").fetchall()]
            return "\n".join(connection.sql(f'select * from "{t}"').df().to_csv() for t in tables)
    if path.suffix == ".db":
        with sqlite3.connect(path) as connection:
            tables = [t for (t,) in connection.execute("select name from sqlite_master where type = 'table'")]
            return "\n".join(str(connection.execute(f'select * from "{t}"').fetchall()) for t in tables)
    return ""


def stored_text(home_root: Path, *more: Path, leave_out: tuple[str, ...] = KEPT_RAW) -> str:
    """Everything stored under the home (but the folders `leave_out`: its raw archive and landing
    folder) and `more` folders: each file's bytes and its decoded content."""
    texts = []
    for folder in (home_root, *more):
        for path in folder.rglob("*"):
            if not path.is_file() or (folder == home_root and path.relative_to(home_root).parts[0] in leave_out):
                continue
            texts.append(path.read_bytes().decode("latin-1"))
            texts.append(_decoded(path))
    return "\n".join(texts)


def found(ids: Iterable[str], others: Iterable[str], text: str) -> list[str]:
    """The identifying values in `text`. An ID is digits: found as a value of its own, not inside a
    longer number, hash or timestamp (a run's stored times and hashes hold any 7-digit string now and then)."""
    hits = [i for i in ids if re.search(rf"(?<![0-9A-Za-z.]){re.escape(i)}(?![0-9A-Za-z])", text)]
    return sorted(hits + [value for value in others if value in text])
