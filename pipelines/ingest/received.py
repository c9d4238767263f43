"""A month as received: the current return of each authority, assembled from the files that hold it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from pipelines.ingest.arrivals import current_rows
from pipelines.ingest.readers import ParsedReturn, empty_frame
from schemas.catalogue import PERIOD_PATTERN


@dataclass(frozen=True)
class ReceivedFile:
    """An archived file version that holds rows for the month, with its place in the order of arrival."""

    sha256: str
    file_name: str
    arrival: int
    parsed: ParsedReturn

    def in_month(self, month: str) -> pd.Series:
        """Which of the file's rows state `month`."""
        return self.parsed.values["period"].eq(month).fillna(False).astype(bool)


@dataclass
class ReceivedMonth:
    month: str
    values: pd.DataFrame  # current rows, one per authority, with sha256 and arrival
    text: pd.DataFrame  # their cells as submitted, aligned with `values`
    files: list[ReceivedFile] = field(default_factory=list)  # every file with rows for the month, by arrival


def placed_rows(values: pd.DataFrame) -> set[int]:
    """Rows that name an authority and a valid month: a month can hold them."""
    if values.empty:
        return set()
    placed = values["la_code"].notna() & values["period"].str.fullmatch(PERIOD_PATTERN).fillna(False)
    return set(values.loc[placed, "row"])


def _precedence(file: ReceivedFile, derived_first: bool = False) -> tuple[bool, dt.date]:
    """Later wins: derived returns by extract date, then typed returns (stable: by arrival within
    each); with `derived_first`, typed returns then derived ones."""
    return file.parsed.child_level == derived_first, file.parsed.extract_date or dt.date.min


def assemble_month(month: str, files: list[ReceivedFile], derived_first: bool = False) -> ReceivedMonth:
    """The month's current returns from `files` (in order of arrival): the latest arrival wins.
    `derived_first` (the home's setting `reconciliation.publish = "derived"`): a return computed
    from child-level records wins over a typed one."""
    value_frames, text_frames = [], []
    # A return computed from child-level records gives way to a typed one of the same authority and
    # month, whenever each arrived (the home's default: the typed return is published); among returns
    # computed from child-level records, the latest extract decides, whenever it arrived.
    for received in sorted(files, key=lambda file: _precedence(file, derived_first)):
        rows = received.in_month(month).to_numpy()
        value_frames.append(received.parsed.values[rows].assign(sha256=received.sha256, arrival=received.arrival))
        text_frames.append(received.parsed.text[rows])
    if not value_frames:
        empty = empty_frame()
        return ReceivedMonth(month, empty.assign(sha256=None, arrival=None), empty, [])
    values = pd.concat(value_frames, ignore_index=True)
    text = pd.concat(text_frames, ignore_index=True)
    current = current_rows(values)
    return ReceivedMonth(
        month, values.loc[current].reset_index(drop=True), text.loc[current].reset_index(drop=True), list(files)
    )
