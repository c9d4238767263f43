"""The published formats, each a module of the same small interface (`Format`), written in order.

A format says which files of a month's release it serves (`files`) and writes them from the
`Publication` into the staging folder (`write`), rewriting only a file whose bytes change. The
order matters: the descriptions (data package, DCAT) read the files written before them, and the
manifest, last, lists every file. A new format is a new module here and one entry in `FORMATS`.
"""

from __future__ import annotations

from pipelines.publish.formats.publication import Format, Publication, ReleasedMonth

from pipelines.publish.formats import datapackage, dcat, ees_data, manifest, release_metadata, revisions  # isort: skip

FORMATS: tuple[Format, ...] = (ees_data, release_metadata, revisions, datapackage, dcat, manifest)

__all__ = ["FORMATS", "Format", "Publication", "ReleasedMonth"]
