"""The names of the files in the publish folder, each decided here once.

```
<home>/publish/
  children_social_care_monthly.csv       the cumulative series (every published month)
  children_social_care_monthly.meta.csv  its EES metadata
  releases/YYYY-MM/                      one month's snapshot, its metadata and release.json
  revisions.csv                          every published figure changed after publication
  datapackage.json, dcat.jsonld, manifest.json
```
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

SERIES_NAME = "children_social_care_monthly"
SERIES_FILE = f"{SERIES_NAME}.csv"
REVISIONS_FILE = "revisions.csv"
RELEASES_FOLDER = "releases"
RELEASE_METADATA = "release.json"
DATA_PACKAGE, DCAT_CATALOGUE, MANIFEST = "datapackage.json", "dcat.jsonld", "manifest.json"
PACKAGE_FILES = (DATA_PACKAGE, DCAT_CATALOGUE, MANIFEST)
DATA_SUFFIX, META_SUFFIX = ".csv", ".meta.csv"


def release_folder(month: str) -> str:
    return f"{RELEASES_FOLDER}/{month}"


def release_file(month: str) -> str:
    """The month's snapshot: `releases/2025-06/children_social_care_monthly_2025_06.csv`."""
    return f"{release_folder(month)}/{SERIES_NAME}_{month.replace('-', '_')}{DATA_SUFFIX}"


def release_metadata(month: str) -> str:
    return f"{release_folder(month)}/{RELEASE_METADATA}"


def is_meta_file(name: str) -> bool:
    return name.endswith(META_SUFFIX)


def meta_file(data_file: str) -> str:
    """The EES metadata file paired with a data file: `x.csv` -> `x.meta.csv`."""
    return data_file[: -len(DATA_SUFFIX)] + META_SUFFIX


def data_file(meta: str) -> str:
    """The data file a metadata file describes: `x.meta.csv` -> `x.csv`."""
    return meta[: -len(META_SUFFIX)] + DATA_SUFFIX


def released_at(publish_folder: Path, month: str) -> dt.datetime | None:
    """When `month` was last released (UTC): its release.json is written by that release only, and
    copied with its time by later ones; the file's bytes carry no clock so that releases stay
    reproducible. None when the month has not been released."""
    try:
        modified = (publish_folder / release_metadata(month)).stat().st_mtime
    except FileNotFoundError:
        return None
    return dt.datetime.fromtimestamp(modified, dt.UTC).replace(tzinfo=None)
