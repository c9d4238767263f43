"""What every format is given (`Publication`: the series after this release and the months it
publishes) and what it must do (`Format`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from pipelines.publish.dataset import PublishSettings
from pipelines.publish.series import PublishedSeries


@dataclass(frozen=True)
class ReleasedMonth:
    """One month of the publication: its rows as published and what release.json says of it."""

    month: str
    as_of: str  # the day its latest accepted return arrived: the release's date, never the clock's
    rows: list[dict[str, str]]
    notes: list[str]
    held_back: list[str]
    accepted: frozenset[str]  # the authorities with an accepted return
    la_rows: int
    suppressed_cells: int
    revisions: int
    audit: dict[str, object] = field(default_factory=dict)  # the attacker's audit's summary: no figure


@dataclass(frozen=True)
class Publication:
    """A release of one or more months, as every format writes it."""

    series: PublishedSeries  # the cumulative series and its revisions, these months replaced
    months: tuple[ReleasedMonth, ...] = ()
    settings: PublishSettings = field(default_factory=PublishSettings)

    def __post_init__(self) -> None:
        self.series.settle()  # every month's sums decided before a format reads them

    @property
    def as_of(self) -> str:
        """The publication's date: that of its latest month."""
        return self.months[-1].as_of


class Format(Protocol):
    """One published format: a module with these three names (formats/ees_data.py is one)."""

    @property
    def name(self) -> str:
        """What the format is called (in messages and the docs)."""
        ...

    def files(self, month: str) -> list[str]:
        """The files of `month`'s release in this format, relative to the publish folder."""
        ...

    def write(self, folder: Path, publication: Publication) -> list[str]:
        """Write the publication's files into `folder` (the staging folder); the files whose bytes changed."""
        ...
