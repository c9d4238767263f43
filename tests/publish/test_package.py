"""datapackage.json, dcat.jsonld and manifest.json describe exactly what is in the publish folder."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.publish.dataset import PublishSettings
from pipelines.publish.ees import read_csv
from pipelines.publish.formats.descriptions import json_bytes
from pipelines.publish.release import publish_month

from .synthetic import BLACKPOOL, HALTON, accept_returns


def _publish_two_months(home, settings=None):
    accept_returns(home, "2025-11", {BLACKPOOL: {"cla_started": 3}, HALTON: {}}, received="2025-12-04")
    accept_returns(home, "2025-12", {BLACKPOOL: {}, HALTON: {"cla": 0}})
    publish_month(home, "2025-11", settings=settings)
    return publish_month(home, "2025-12", settings=settings)


def test_frictionless_validate_passes_on_the_published_package(north_west_home):
    _publish_two_months(north_west_home)
    result = subprocess.run(
        [sys.executable, "-m", "frictionless", "validate", "--json", "datapackage.json"],
        cwd=north_west_home.publish,
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = json.loads(result.stdout)
    assert result.returncode == 0 and report["valid"], result.stdout[-2000:]
    package = json.loads((north_west_home.publish / "datapackage.json").read_text())
    assert package["licenses"][0]["name"] == "OGL-UK-3.0"
    assert package["sources"] and package["contributors"]
    paths = {r["path"] for r in package["resources"]}
    assert {
        "children_social_care_monthly.csv",
        "releases/2025-11/children_social_care_monthly_2025_11.csv",
        "releases/2025-12/children_social_care_monthly_2025_12.meta.csv",
        "revisions.csv",
    } <= paths


def test_frictionless_finds_a_damaged_cell(north_west_home):
    _publish_two_months(north_west_home)
    series = north_west_home.publish / "children_social_care_monthly.csv"
    series.write_text(series.read_text().replace(",300,", ",3O0,", 1))  # a letter O typed for a zero
    result = subprocess.run(
        [sys.executable, "-m", "frictionless", "validate", "--json", "datapackage.json"],
        cwd=north_west_home.publish,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0 and not json.loads(result.stdout)["valid"]


def test_manifest_lists_every_file_with_its_hash_and_rows(north_west_home):
    summary = _publish_two_months(north_west_home)
    publish = north_west_home.publish
    manifest = json.loads((publish / "manifest.json").read_text())
    listed = {entry["path"]: entry for entry in manifest["files"]}
    on_disk = {p.relative_to(publish).as_posix() for p in publish.rglob("*") if p.is_file()} - {"manifest.json"}
    assert set(listed) == on_disk
    for path, entry in listed.items():
        assert entry["sha256"] == hashlib.sha256((publish / path).read_bytes()).hexdigest()
    assert listed["children_social_care_monthly.csv"]["rows"] == 2 * (1 + 1 + 24)
    assert listed["releases/2025-12/children_social_care_monthly_2025_12.csv"]["rows"] == 26
    assert set(summary.files) <= on_disk | {"manifest.json"}


def test_dcat_has_one_dataset_per_release_and_the_series(north_west_home):
    settings = PublishSettings(base_url="https://data.example.org/csc/", publisher_name="SYNTHETIC Council")
    _publish_two_months(north_west_home, settings)
    catalogue = json.loads((north_west_home.publish / "dcat.jsonld").read_text())
    datasets = {d["dct:identifier"]: d for d in catalogue["dcat:dataset"]}
    assert set(datasets) == {
        "children-social-care-monthly",
        "children-social-care-monthly-2025-11",
        "children-social-care-monthly-2025-12",
    }
    for dataset in datasets.values():
        assert dataset["dct:title"] and dataset["dct:description"]
        assert dataset["dct:license"]["@id"].startswith(
            "https://www.nationalarchives.gov.uk/doc/open-government-licence"
        )
        assert dataset["dcat:distribution"][0]["dcat:downloadURL"]["@id"].startswith("https://data.example.org/csc/")
        assert dataset["dct:publisher"]["foaf:name"] == "SYNTHETIC Council"
    series = datasets["children-social-care-monthly"]
    assert (series["dct:issued"]["@value"], series["dct:modified"]["@value"]) == ("2025-12-04", "2026-01-06")
    assert series["dct:temporal"]["dcat:endDate"]["@value"] == "2026-01-01"
    assert (
        "North West (E12000002) total not published"
        in datasets["children-social-care-monthly-2025-12"]["dct:description"]
    )


def test_revisions_file_is_valid_even_when_empty(north_west_home):
    accept_returns(north_west_home, "2025-12", {BLACKPOOL: {}})
    publish_month(north_west_home, "2025-12")
    columns, rows = read_csv(north_west_home.publish / "revisions.csv")
    assert columns == ["month", "geography", "geography_name", "indicator", "old", "new", "date"] and rows == []


JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8)),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=6), JSON_VALUES, max_size=5), JSON_VALUES)
def test_descriptions_are_encoded_as_the_standard_library_encodes_them(document, shared):
    """The same object met twice (every monthly file's schema) is encoded once, to the same bytes."""
    document = {**document, "first": shared, "again": [shared, {"inner": shared}]}
    expected = json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    assert json_bytes(document) == expected.encode("utf-8")
