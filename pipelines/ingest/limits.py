"""What the reader accepts before it stops: every limit in one place, configurable, each an error finding.

A return is small (150 authorities x a few months), so the limits are generous for a real file
and tight for a hostile one: each is checked before the work it bounds (the file's size before
reading it, a workbook's uncompressed size from its zip directory before inflating anything,
rows and columns while streaming), so any input ends within seconds and under 1 GB.

Each limit can be changed with an environment variable `CSC_LIMIT_<NAME>` (e.g.
`CSC_LIMIT_MAX_ROWS=200000`); docs/standard.md lists them.
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import IO

from pipelines.home import environment

ENV_PREFIX = environment.LIMIT_PREFIX
MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = 10 * MB  # a CSV or XLSX as landed
    max_uncompressed_bytes: int = 10 * MB  # all members of a workbook's zip, as its directory declares them
    max_rows: int = 50_000  # rows read from a CSV or a sheet (title rows and blank rows included)
    max_columns: int = 500  # cells in a row (a wide sheet has a column per month)
    max_cell_chars: int = 1_000  # characters in one cell
    # An authority's child-level workbook (Ofsted's Annex A lists) is larger than a return: 25,000
    # rows over the lists inflate to about 10 MB (pipelines/ingest/annex_a.py).
    max_child_level_file_bytes: int = 100 * MB
    max_child_level_uncompressed_bytes: int = 1024 * MB
    max_child_level_rows: int = 1_000_000  # rows of one list's sheet

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Limits:
        """The defaults, each overridden by `CSC_LIMIT_<NAME>` when set to a whole number above zero."""
        overrides = environment.limit_overrides(environ)
        given = {}
        for limit in fields(cls):
            raw = overrides.get(limit.name)
            if raw is not None and raw.strip().isdigit() and int(raw) > 0:
                given[limit.name] = int(raw)
        return cls(**given)


class LimitExceeded(ValueError):
    """Reading stopped at a limit; the message says which, in one line."""


def describe_bytes(size: int) -> str:
    return f"{size / MB:,.1f} MB" if size >= MB else f"{size:,} bytes"


def check_file_size(path: Path, limits: Limits) -> None:
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        raise LimitExceeded(
            f"the file is {describe_bytes(size)}, over the limit of "
            f"{describe_bytes(limits.max_file_bytes)} (max_file_bytes)"
        )


def check_workbook_directory(path: Path | IO[bytes], limits: Limits, child_level: bool = False) -> None:
    """Refuse a workbook whose members would inflate beyond the limit, reading only the zip directory.

    The directory's sizes bound what is inflated: Python's zip reader stops a member at its
    declared size, so a member that lies about its size cannot inflate further.
    """
    with zipfile.ZipFile(path) as archive:
        declared = sum(member.file_size for member in archive.infolist())
    limit, name = (
        (limits.max_child_level_uncompressed_bytes, "max_child_level_uncompressed_bytes")
        if child_level
        else (limits.max_uncompressed_bytes, "max_uncompressed_bytes")
    )
    if declared > limit:
        raise LimitExceeded(
            f"the workbook would inflate to {describe_bytes(declared)}, over the limit of {describe_bytes(limit)} ({name})"
        )


def check_row_count(rows_read: int, limits: Limits) -> None:
    if rows_read > limits.max_rows:
        raise LimitExceeded(f"the file has more than {limits.max_rows:,} rows (max_rows)")


def check_width(row_number: int, width: int, limits: Limits) -> None:
    if width > limits.max_columns:
        raise LimitExceeded(f"row {row_number} has more than {limits.max_columns:,} cells (max_columns)")


def check_cell_length(row_number: int, cells: list[str], limits: Limits) -> None:
    longest = max(map(len, cells), default=0)
    if longest > limits.max_cell_chars:
        position = next(i for i, cell in enumerate(cells) if len(cell) == longest)
        raise LimitExceeded(
            f"row {row_number}, column {position + 1} holds {longest:,} characters, over the "
            f"limit of {limits.max_cell_chars:,} (max_cell_chars)"
        )
