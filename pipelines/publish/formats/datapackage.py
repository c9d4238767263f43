"""`datapackage.json`: a Frictionless tabular data package (a schema for every CSV, licence, sources,
contributors) that `frictionless validate` checks cell by cell."""

from __future__ import annotations

from pathlib import Path

from pipelines.publish.dataset import DESCRIPTION, KEYWORDS, LICENCE, PACKAGE_NAME, SOURCE, TITLE
from pipelines.publish.ees import GEOGRAPHIC_LEVELS, MONTH_NAMES, SYMBOLS, indicator, read_header
from pipelines.publish.files import DATA_PACKAGE, DATA_SUFFIX, REVISIONS_FILE, meta_file
from pipelines.publish.formats.descriptions import data_files, write_json
from pipelines.publish.formats.publication import Publication

name = "data package"


def files(month: str) -> list[str]:
    return [DATA_PACKAGE]


def write(folder: Path, publication: Publication) -> list[str]:
    resources = []
    schemas: dict[tuple[str, ...], dict] = {}  # one schema object per set of columns: encoded once
    for path in data_files(folder):
        resources.append(_ees_resource(folder, path, schemas))
        meta = meta_file(path)
        if (folder / meta).exists():
            resources.append(_meta_resource(meta))
    if (folder / REVISIONS_FILE).exists():
        resources.append(_revisions_resource())
    package = {
        "profile": "tabular-data-package",
        "name": PACKAGE_NAME,
        "title": TITLE,
        "description": DESCRIPTION,
        "created": f"{publication.as_of}T00:00:00Z",
        "keywords": KEYWORDS,
        "licenses": [LICENCE],
        "sources": [SOURCE],
        "contributors": [{"title": publication.settings.publisher_name, "role": "publisher"}],
        "resources": resources,
    }
    return write_json(folder, DATA_PACKAGE, package)


def _field(column: str) -> dict:
    if column == "time_period":
        return {"name": column, "type": "integer", "constraints": {"required": True}}
    if column == "time_identifier":
        return {"name": column, "type": "string", "constraints": {"required": True, "enum": list(MONTH_NAMES)}}
    if column == "geographic_level":
        return {"name": column, "type": "string", "constraints": {"required": True, "enum": list(GEOGRAPHIC_LEVELS)}}
    described = indicator(column)
    if described is None or not described.is_numeric:
        return {"name": column, "type": "string"}
    return {
        "name": column,
        "type": "integer" if described.is_count else "number",
        "title": described.label,
        "description": f"{described.label}. Symbols: c suppressed, x not available, z not applicable.",
    }


def _schema(fields: list[dict], missing: list[str]) -> dict:
    return {"fields": fields, "missingValues": missing}


def _resource(resource: str, path: str, schema: dict) -> dict:
    return {
        "name": resource,
        "path": path,
        "profile": "tabular-data-resource",
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "schema": schema,
    }


def _ees_resource(folder: Path, path: str, schemas: dict[tuple[str, ...], dict]) -> dict:
    columns = tuple(read_header(folder / path))
    if columns not in schemas:
        schemas[columns] = _schema([_field(c) for c in columns], ["", *SYMBOLS])
    return _resource(Path(path).name[: -len(DATA_SUFFIX)], path, schemas[columns])


def _meta_resource(path: str) -> dict:
    fields = [
        {"name": n, "type": "string"} for n in ("col_name", "col_type", "label", "indicator_grouping", "indicator_unit")
    ]
    fields += [
        {"name": "indicator_dp", "type": "integer"},
        {"name": "filter_hint", "type": "string"},
        {"name": "filter_grouping_column", "type": "string"},
    ]
    return _resource(Path(path).name[: -len(DATA_SUFFIX)].replace(".", "_"), path, _schema(fields, [""]))


def _revisions_resource() -> dict:
    fields: list[dict] = [
        {"name": "month", "type": "string", "constraints": {"pattern": r"\d{4}-\d{2}"}},
        *({"name": n, "type": "string"} for n in ("geography", "geography_name", "indicator", "old", "new")),
        {"name": "date", "type": "date"},
    ]
    return _resource(Path(REVISIONS_FILE).stem, REVISIONS_FILE, _schema(fields, [""]))
