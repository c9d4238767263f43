"""Descriptions that let people and harvesters find and check the published files.

- `datapackage.json`: a Frictionless tabular data package (schema of every CSV, licence,
  sources, contributors) that `frictionless validate` checks cell by cell;
- `dcat.jsonld`: a DCAT catalogue, one dataset for the time series and one per monthly
  release, in the shape data.gov.uk harvests (title, description, identifier, licence);
- `manifest.json`: each file's sha256, size and row count, so a mirror can verify a download.

Dates come from the releases (the day the latest return arrived), never from the clock, so
the same inputs give the same bytes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from pipelines.ingest.archive import sha256_of
from pipelines.publish.ees import GEOGRAPHIC_LEVELS, MONTH_NAMES, SYMBOLS, indicator, read_csv
from pipelines.publish.files import (
    DATA_PACKAGE,
    DATA_SUFFIX,
    DCAT_CATALOGUE,
    MANIFEST,
    PACKAGE_FILES,
    RELEASE_METADATA,
    RELEASES_FOLDER,
    REVISIONS_FILE,
    is_meta_file,
    meta_file,
    release_folder,
)

PACKAGE_NAME = "children-social-care-monthly"
TITLE = "Children's social care: monthly returns from English local authorities"
DESCRIPTION = (
    "Monthly figures on contacts, referrals, assessments, child protection and children looked after, "
    "returned by each upper-tier local authority in England, with regional and England totals. "
    "Counts from 1 to 5 are suppressed (c), regional and England counts rounded to the nearest 10."
)
LICENCE = {
    "name": "OGL-UK-3.0",
    "title": "Open Government Licence v3.0",
    "path": "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/",
}
SOURCE = {"title": "Monthly children's social care returns submitted by English local authorities (return standard v1)"}
PUBLISHER_ENV = "CSC_PUBLISHER_NAME"
BASE_URL_ENV = "CSC_PUBLISH_BASE_URL"
DEFAULT_PUBLISHER = "csc-returns open data"
KEYWORDS = [
    "children's social care",
    "children in need",
    "child protection",
    "children looked after",
    "local authorities",
    "England",
]


def publisher_name() -> str:
    return os.environ.get(PUBLISHER_ENV, DEFAULT_PUBLISHER)


def _url(path: str) -> str:
    base = os.environ.get(BASE_URL_ENV, "")
    return f"{base.rstrip('/')}/{path}" if base else path


def _dump(path: Path, document: dict) -> None:
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")


def _relative(folder: Path, path: Path) -> str:
    return path.relative_to(folder).as_posix()


def data_files(folder: Path) -> list[str]:
    """EES data files in the folder (the time series and each release), without their metadata."""
    return sorted(
        _relative(folder, p)
        for p in folder.rglob(f"*{DATA_SUFFIX}")
        if not is_meta_file(p.name) and p.name != REVISIONS_FILE
    )


def _field(name: str) -> dict:
    if name == "time_period":
        return {"name": name, "type": "integer", "constraints": {"required": True}}
    if name == "time_identifier":
        return {"name": name, "type": "string", "constraints": {"required": True, "enum": list(MONTH_NAMES)}}
    if name == "geographic_level":
        return {"name": name, "type": "string", "constraints": {"required": True, "enum": list(GEOGRAPHIC_LEVELS)}}
    described = indicator(name)
    if described is None or not described.is_numeric:
        return {"name": name, "type": "string"}
    return {
        "name": name,
        "type": "integer" if described.is_count else "number",
        "title": described.label,
        "description": f"{described.label}. Symbols: c suppressed, x not available, z not applicable.",
    }


def _ees_resource(folder: Path, path: str) -> dict:
    columns, _ = read_csv(folder / path)
    return {
        "name": Path(path).name[: -len(DATA_SUFFIX)],
        "path": path,
        "profile": "tabular-data-resource",
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "schema": {"fields": [_field(c) for c in columns], "missingValues": ["", *SYMBOLS]},
    }


def _meta_resource(path: str) -> dict:
    fields = [
        {"name": n, "type": "string"} for n in ("col_name", "col_type", "label", "indicator_grouping", "indicator_unit")
    ]
    fields += [
        {"name": "indicator_dp", "type": "integer"},
        {"name": "filter_hint", "type": "string"},
        {"name": "filter_grouping_column", "type": "string"},
    ]
    return {
        "name": Path(path).name[: -len(DATA_SUFFIX)].replace(".", "_"),
        "path": path,
        "profile": "tabular-data-resource",
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "schema": {"fields": fields, "missingValues": [""]},
    }


def _revisions_resource() -> dict:
    fields = [
        {"name": "month", "type": "string", "constraints": {"pattern": r"\d{4}-\d{2}"}},
        *({"name": n, "type": "string"} for n in ("geography", "geography_name", "indicator", "old", "new")),
        {"name": "date", "type": "date"},
    ]
    return {
        "name": Path(REVISIONS_FILE).stem,
        "path": REVISIONS_FILE,
        "profile": "tabular-data-resource",
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "schema": {"fields": fields, "missingValues": [""]},
    }


def _release_dates(folder: Path) -> dict[str, dict]:
    """Each release's metadata (as_of date, notes) by month, read from its release.json."""
    releases = {}
    for path in sorted(folder.glob(f"{RELEASES_FOLDER}/*/{RELEASE_METADATA}")):
        releases[path.parent.name] = json.loads(path.read_text(encoding="utf-8"))
    return releases


def _dataset(
    identifier: str, title: str, description: str, path: str, months: list[str], issued: str, modified: str
) -> dict:
    first, last = months[0], months[-1]
    end_year, end_month = int(last[:4]), int(last[5:7])
    next_month = f"{end_year + end_month // 12}-{end_month % 12 + 1:02d}-01"
    meta_path = meta_file(path)
    return {
        "@id": _url(path),
        "@type": "dcat:Dataset",
        "dct:identifier": identifier,
        "dct:title": title,
        "dct:description": description,
        "dct:license": {"@id": LICENCE["path"]},
        "dct:publisher": {"@type": "foaf:Agent", "foaf:name": publisher_name()},
        "dct:issued": {"@value": issued, "@type": "xsd:date"},
        "dct:modified": {"@value": modified, "@type": "xsd:date"},
        "dct:spatial": {"@id": "http://statistics.data.gov.uk/id/statistical-geography/E92000001"},
        "dct:temporal": {
            "@type": "dct:PeriodOfTime",
            "dcat:startDate": {"@value": f"{first}-01", "@type": "xsd:date"},
            "dcat:endDate": {"@value": next_month, "@type": "xsd:date"},
        },
        "dcat:keyword": KEYWORDS,
        "dcat:distribution": [
            {
                "@type": "dcat:Distribution",
                "dct:title": "Data (CSV, EES open-data standard)",
                "dcat:downloadURL": {"@id": _url(path)},
                "dcat:mediaType": "text/csv",
                "dct:format": "CSV",
            },
            {
                "@type": "dcat:Distribution",
                "dct:title": "Metadata (EES .meta.csv)",
                "dcat:downloadURL": {"@id": _url(meta_path)},
                "dcat:mediaType": "text/csv",
                "dct:format": "CSV",
            },
        ],
    }


def _catalogue(folder: Path, series_file: str) -> dict:
    releases = _release_dates(folder)
    months = sorted(releases)
    datasets = [
        _dataset(
            PACKAGE_NAME,
            TITLE,
            DESCRIPTION + f" All published months in one file; see {REVISIONS_FILE} "
            "for figures changed after resubmission.",
            series_file,
            months,
            issued=min(r["as_of"] for r in releases.values()),
            modified=max(r["as_of"] for r in releases.values()),
        )
    ]
    for month in months:
        release = releases[month]
        title = f"{TITLE}, {release['time_identifier']} {release['time_period']}"
        description = " ".join([DESCRIPTION, *release["notes"]])
        datasets.append(
            _dataset(
                f"{PACKAGE_NAME}-{month}",
                title,
                description,
                f"{release_folder(month)}/{release['data_file']}",
                [month],
                issued=release["as_of"],
                modified=release["as_of"],
            )
        )
    return {
        "@context": {
            "dcat": "http://www.w3.org/ns/dcat#",
            "dct": "http://purl.org/dc/terms/",
            "foaf": "http://xmlns.com/foaf/0.1/",
            "xsd": "http://www.w3.org/2001/XMLSchema#",
        },
        "@id": _url(DCAT_CATALOGUE),
        "@type": "dcat:Catalog",
        "dct:title": TITLE,
        "dct:description": DESCRIPTION,
        "dct:publisher": {"@type": "foaf:Agent", "foaf:name": publisher_name()},
        "dct:license": {"@id": LICENCE["path"]},
        "dcat:dataset": datasets,
    }


def _data_rows(path: Path) -> int:
    return len(read_csv(path)[1])


def write_manifest(folder: Path) -> None:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST)
    entries = [
        {
            "path": _relative(folder, p),
            "sha256": sha256_of(p),
            "bytes": p.stat().st_size,
            "rows": _data_rows(p) if p.suffix == ".csv" else None,
        }
        for p in files
    ]
    _dump(folder / MANIFEST, {"files": entries})


def write_package(folder: Path, as_of: str, series_file: str) -> list[str]:
    """Write datapackage.json, dcat.jsonld and manifest.json for everything in `folder`; returns their names."""
    resources = []
    for path in data_files(folder):
        resources.append(_ees_resource(folder, path))
        meta = meta_file(path)
        if (folder / meta).exists():
            resources.append(_meta_resource(meta))
    if (folder / REVISIONS_FILE).exists():
        resources.append(_revisions_resource())
    _dump(
        folder / DATA_PACKAGE,
        {
            "profile": "tabular-data-package",
            "name": PACKAGE_NAME,
            "title": TITLE,
            "description": DESCRIPTION,
            "created": f"{as_of}T00:00:00Z",
            "keywords": KEYWORDS,
            "licenses": [LICENCE],
            "sources": [SOURCE],
            "contributors": [{"title": publisher_name(), "role": "publisher"}],
            "resources": resources,
        },
    )
    _dump(folder / DCAT_CATALOGUE, _catalogue(folder, series_file))
    write_manifest(folder)
    return list(PACKAGE_FILES)
