"""Where a screened release goes after it is in the publish folder.

`folder`: the publish folder is the portal (a web server or data.gov.uk's harvester reads it).
`ckan`: the files are also uploaded to one CKAN dataset with the standard ckanapi client:
package_show -> package_create or package_patch -> resource_create or resource_patch (upload).
The API token comes from the environment (or the caller) and is never printed or logged.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import requests

from pipelines.publish.package import DESCRIPTION, PACKAGE_NAME, TITLE

CKAN_URL_ENV, CKAN_ORG_ENV, CKAN_TOKEN_ENV, CKAN_DATASET_ENV = (
    "CSC_CKAN_URL",
    "CSC_CKAN_ORG",
    "CSC_CKAN_TOKEN",
    "CSC_CKAN_DATASET",
)
CKAN_LICENCE_ID = "uk-ogl"  # CKAN's id for the Open Government Licence v3.0
USER_AGENT = "csc-returns-publisher"


class PortalError(ValueError):
    """The portal refused or could not be reached; one line, never the token."""


class Publisher(Protocol):
    name: str

    def publish(self, folder: Path, files: list[str]) -> None:
        """Make `files` (relative to `folder`, already screened and in place) available."""


@dataclass(frozen=True)
class FolderPublisher:
    name: str = "folder"

    def publish(self, folder: Path, files: list[str]) -> None:
        """Nothing to do: the release was swapped into the publish folder, which is what is served."""


@dataclass(frozen=True)
class CkanPublisher:
    url: str
    organisation: str
    token: str = field(repr=False)
    dataset: str = PACKAGE_NAME
    name: str = "ckan"

    def publish(self, folder: Path, files: list[str]) -> None:
        import ckanapi

        portal = ckanapi.RemoteCKAN(self.url, apikey=self.token, user_agent=USER_AGENT)
        try:
            package = self._ensure_package(portal, ckanapi.NotFound)
            resources = {r["name"]: r["id"] for r in package.get("resources", [])}
            for name in files:
                with (folder / name).open("rb") as upload:
                    if name in resources:
                        portal.action.resource_patch(id=resources[name], upload=upload)
                    else:
                        portal.action.resource_create(
                            package_id=package["id"],
                            name=name,
                            format=Path(name).suffix.lstrip(".").upper(),
                            upload=upload,
                        )
        except (ckanapi.CKANAPIError, requests.RequestException) as exc:
            raise PortalError(f"CKAN at {self.url}: {_one_line(exc, self.token)}") from None

    def _ensure_package(self, portal, not_found: type[Exception]) -> dict:
        details = {"title": TITLE, "notes": DESCRIPTION, "license_id": CKAN_LICENCE_ID}
        try:
            portal.action.package_show(id=self.dataset)
        except not_found:
            return portal.action.package_create(name=self.dataset, owner_org=self.organisation, **details)
        return portal.action.package_patch(id=self.dataset, **details)


def _one_line(exc: Exception, token: str) -> str:
    if isinstance(exc, requests.ConnectionError):
        return "cannot connect (refused, unknown host or network down)"
    if isinstance(exc, requests.Timeout):
        return "no answer in time"
    text = f"{type(exc).__name__}: {exc}".splitlines()[0] if str(exc) else type(exc).__name__
    return text.replace(token, "***") if token else text


def publisher_for(name: str, config: Mapping[str, str] | None = None) -> Publisher:
    """The publisher called `name`; CKAN settings from `config`, else from the environment."""
    if name == "folder":
        return FolderPublisher()
    if name == "ckan":
        settings = {**os.environ, **(config or {})}
        missing = [key for key in (CKAN_URL_ENV, CKAN_ORG_ENV, CKAN_TOKEN_ENV) if not settings.get(key)]
        if missing:
            raise PortalError(f"ckan publisher needs {', '.join(missing)} set")
        return CkanPublisher(
            url=settings[CKAN_URL_ENV],
            organisation=settings[CKAN_ORG_ENV],
            token=settings[CKAN_TOKEN_ENV],
            dataset=settings.get(CKAN_DATASET_ENV) or PACKAGE_NAME,
        )
    raise PortalError(f"unknown publisher '{name}' (folder or ckan)")
