"""`dcat.jsonld`: a DCAT catalogue with one dataset for the series and one per monthly release, in the
shape data.gov.uk harvests (identifier, title, description with the release notes, licence,
publisher, issued/modified, temporal coverage, CSV distributions)."""

from __future__ import annotations

from pathlib import Path

from pipelines.publish.dataset import DESCRIPTION, KEYWORDS, LICENCE, PACKAGE_NAME, TITLE, PublishSettings
from pipelines.publish.files import DCAT_CATALOGUE, REVISIONS_FILE, SERIES_FILE, meta_file, release_folder
from pipelines.publish.formats.descriptions import release_metadata, write_json
from pipelines.publish.formats.publication import Publication
from schemas.month import Month

name = "dcat"
ENGLAND = "http://statistics.data.gov.uk/id/statistical-geography/E92000001"


def files(month: str) -> list[str]:
    return [DCAT_CATALOGUE]


def write(folder: Path, publication: Publication) -> list[str]:
    return write_json(folder, DCAT_CATALOGUE, catalogue(folder, publication.settings))


def catalogue(folder: Path, settings: PublishSettings) -> dict:
    releases = release_metadata(folder)
    months = sorted(releases)
    datasets = [
        _dataset(
            settings,
            PACKAGE_NAME,
            TITLE,
            DESCRIPTION + f" All published months in one file; see {REVISIONS_FILE} "
            "for figures changed after resubmission.",
            SERIES_FILE,
            months,
            issued=min(r["as_of"] for r in releases.values()),
            modified=max(r["as_of"] for r in releases.values()),
        )
    ]
    for month in months:
        release = releases[month]
        datasets.append(
            _dataset(
                settings,
                f"{PACKAGE_NAME}-{month}",
                f"{TITLE}, {release['time_identifier']} {release['time_period']}",
                " ".join([DESCRIPTION, *release["notes"]]),
                f"{release_folder(month)}/{release['data_file']}",
                [month],
                issued=release["as_of"],
                modified=release["as_of"],
            )
        )
    publisher = {"@type": "foaf:Agent", "foaf:name": settings.publisher_name}
    return {
        "@context": {
            "dcat": "http://www.w3.org/ns/dcat#",
            "dct": "http://purl.org/dc/terms/",
            "foaf": "http://xmlns.com/foaf/0.1/",
            "xsd": "http://www.w3.org/2001/XMLSchema#",
        },
        "@id": settings.url(DCAT_CATALOGUE),
        "@type": "dcat:Catalog",
        "dct:title": TITLE,
        "dct:description": DESCRIPTION,
        "dct:publisher": publisher,
        "dct:license": {"@id": LICENCE["path"]},
        "dcat:dataset": datasets,
    }


def _date(value: str) -> dict:
    return {"@value": value, "@type": "xsd:date"}


def _distribution(title: str, url: str) -> dict:
    return {
        "@type": "dcat:Distribution",
        "dct:title": title,
        "dcat:downloadURL": {"@id": url},
        "dcat:mediaType": "text/csv",
        "dct:format": "CSV",
    }


def _dataset(
    settings: PublishSettings,
    identifier: str,
    title: str,
    description: str,
    path: str,
    months: list[str],
    issued: str,
    modified: str,
) -> dict:
    end = Month.parse(months[-1]) + 1  # the coverage ends where the month after the last begins
    return {
        "@id": settings.url(path),
        "@type": "dcat:Dataset",
        "dct:identifier": identifier,
        "dct:title": title,
        "dct:description": description,
        "dct:license": {"@id": LICENCE["path"]},
        "dct:publisher": {"@type": "foaf:Agent", "foaf:name": settings.publisher_name},
        "dct:issued": _date(issued),
        "dct:modified": _date(modified),
        "dct:spatial": {"@id": ENGLAND},
        "dct:temporal": {
            "@type": "dct:PeriodOfTime",
            "dcat:startDate": _date(f"{months[0]}-01"),
            "dcat:endDate": _date(f"{end}-01"),
        },
        "dcat:keyword": KEYWORDS,
        "dcat:distribution": [
            _distribution("Data (CSV, EES open-data standard)", settings.url(path)),
            _distribution("Metadata (EES .meta.csv)", settings.url(meta_file(path))),
        ],
    }
