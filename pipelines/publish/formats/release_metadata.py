"""`releases/YYYY-MM/release.json`: each month's release metadata (its date, notes, held-back
authorities and counts), which the DCAT catalogue quotes."""

from __future__ import annotations

import json
from pathlib import Path

from pipelines.publish.ees import LOCAL_AUTHORITY, time_identifiers
from pipelines.publish.files import release_file, release_metadata
from pipelines.publish.folder import write_file
from pipelines.publish.formats.publication import Publication, ReleasedMonth

name = "release metadata"


def files(month: str) -> list[str]:
    return [release_metadata(month)]


def metadata(released: ReleasedMonth) -> dict:
    year, month_name = time_identifiers(released.month)
    return {
        "month": released.month,
        "time_period": year,
        "time_identifier": month_name,
        "as_of": released.as_of,
        "data_file": release_file(released.month).split("/")[-1],
        "authorities_in_register": released.la_rows,
        "authorities_with_accepted_returns": sum(
            r["new_la_code"] in released.accepted for r in released.rows if r["geographic_level"] == LOCAL_AUTHORITY
        ),
        "held_back": released.held_back,
        "suppressed_cells": released.suppressed_cells,
        "revisions": released.revisions,
        "disclosure_audit": released.audit,
        "notes": released.notes,
    }


def write(folder: Path, publication: Publication) -> list[str]:
    written = []
    for released in publication.months:
        text = json.dumps(metadata(released), indent=2, ensure_ascii=False) + "\n"
        if write_file(folder / release_metadata(released.month), text.encode("utf-8")):
            written.append(release_metadata(released.month))
    return written
