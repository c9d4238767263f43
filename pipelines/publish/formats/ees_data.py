"""EES data files and their `.meta.csv`: the cumulative series, and each month's snapshot (the
months published, and earlier months whose rows the release changed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pipelines.publish.ees import META_COLUMNS, meta_rows, published_columns, remember_table, write_csv
from pipelines.publish.files import SERIES_FILE, meta_file, release_file
from pipelines.publish.folder import write_file
from pipelines.publish.formats.publication import Publication

name = "ees"


def files(month: str) -> list[str]:
    return [release_file(month), meta_file(release_file(month)), SERIES_FILE, meta_file(SERIES_FILE)]


def write(folder: Path, publication: Publication) -> list[str]:
    columns, described = published_columns(), meta_rows()
    series = publication.series
    text, table = series.file_content()
    data = text.encode("utf-8")
    written = [SERIES_FILE] if write_file(folder / SERIES_FILE, data) else []
    if table is not None:
        remember_table(data, table)  # the screen and the manifest read these bytes next
    wanted: dict[str, tuple[Sequence[str], list[dict[str, str]]]] = {meta_file(SERIES_FILE): (META_COLUMNS, described)}
    wanted.update({meta_file(release_file(m.month)): (META_COLUMNS, described) for m in publication.months})
    wanted.update({release_file(month): (columns, rows) for month, rows in series.snapshots.items()})
    return written + [path for path, (header, rows) in wanted.items() if write_csv(folder / path, header, rows)]
