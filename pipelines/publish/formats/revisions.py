"""`revisions.csv`: every published figure changed after publication (docs/publishing.md, Revisions)."""

from __future__ import annotations

from pathlib import Path

from pipelines.publish.ees import REVISION_COLUMNS, write_csv
from pipelines.publish.files import REVISIONS_FILE
from pipelines.publish.formats.publication import Publication

name = "revisions"


def files(month: str) -> list[str]:
    return [REVISIONS_FILE]


def write(folder: Path, publication: Publication) -> list[str]:
    return (
        [REVISIONS_FILE] if write_csv(folder / REVISIONS_FILE, REVISION_COLUMNS, publication.series.revisions) else []
    )
