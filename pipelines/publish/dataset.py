"""The published dataset as people and portals know it: its name, title, description, licence,
keywords, and who publishes it where (`PublishSettings`, given by the command line or Dagster).

The formats that describe the folder (`formats/datapackage.py`, `formats/dcat.py`) and the CKAN
destination (`destinations.py`) read it from here.
"""

from __future__ import annotations

from dataclasses import dataclass

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
DEFAULT_PUBLISHER = "csc-returns open data"
KEYWORDS = [
    "children's social care",
    "children in need",
    "child protection",
    "children looked after",
    "local authorities",
    "England",
]


@dataclass(frozen=True)
class PublishSettings:
    """Who publishes the dataset and where the publish folder is served; the defaults give the files
    as they always were (relative links, the default publisher's name)."""

    base_url: str = ""  # the publish folder's public address: links in dcat.jsonld become absolute
    publisher_name: str = DEFAULT_PUBLISHER

    def url(self, path: str) -> str:
        """A published file's link: absolute under `base_url`, else relative to the folder."""
        return f"{self.base_url.rstrip('/')}/{path}" if self.base_url else path
