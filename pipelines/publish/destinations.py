"""Where a screened release goes once it is in the publish folder: the destination, configured once
(by the command line or by Dagster, from the same settings) and used the same way by both.

`folder` (the default): the publish folder is what is served (a web server, or data.gov.uk's
harvester reading `dcat.jsonld`); nothing more to do. `ckan`: the release's files are also
uploaded to one CKAN dataset with the standard ckanapi client: package_show -> package_create
or package_patch -> resource_create or resource_patch (upload), one resource per file, named by
its path. The API token is given apart from the other settings (a secret), and is never printed,
logged or shown in an error. Nothing here reads the environment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import requests

from pipelines.publish.dataset import DESCRIPTION, PACKAGE_NAME, TITLE

FOLDER, CKAN = "folder", "ckan"
KINDS = (FOLDER, CKAN)
CKAN_LICENCE_ID = "uk-ogl"  # CKAN's id for the Open Government Licence v3.0
USER_AGENT = "csc-returns-publisher"


class DestinationError(ValueError):
    """A destination cannot be set up, refused or could not be reached; one line, never the token."""


class Destination(Protocol):
    """Makes a release available once it is swapped into the publish folder."""

    @property
    def name(self) -> str:
        """`folder` or `ckan`: what the destination is, as its settings name it."""
        ...

    def publish(self, folder: Path, files: list[str]) -> None:
        """Make `files` (relative to `folder`, screened and in place) available; DestinationError if not."""
        ...


@dataclass(frozen=True)
class FolderDestination:
    name: str = FOLDER

    def publish(self, folder: Path, files: list[str]) -> None:
        """Nothing to do: the release was swapped into the publish folder, which is what is served."""


@dataclass(frozen=True)
class CkanDestination:
    url: str
    organisation: str
    token: str = field(repr=False)
    dataset: str = PACKAGE_NAME
    name: str = CKAN

    def publish(self, folder: Path, files: list[str]) -> None:
        import ckanapi  # only a CKAN destination needs the client

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
            raise DestinationError(f"CKAN at {self.url}: {_one_line(exc, self.token)}") from None

    def _ensure_package(self, portal: Any, not_found: type[Exception]) -> dict:
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


def destination_for(
    kind: str = FOLDER, *, url: str = "", organisation: str = "", dataset: str = "", token: str = ""
) -> Destination:
    """The destination of `kind` (folder or ckan) from plain settings; `token` is the CKAN API token
    (a secret: given apart, never shown). A blank dataset is the default one."""
    if kind == FOLDER:
        return FolderDestination()
    if kind == CKAN:
        missing = [
            name for name, value in (("url", url), ("organisation", organisation), ("token", token)) if not value
        ]
        if missing:
            raise DestinationError(f"the ckan destination needs {', '.join(missing)}")
        return CkanDestination(url=url, organisation=organisation, token=token, dataset=dataset or PACKAGE_NAME)
    raise DestinationError(f"unknown destination '{kind}' ({' or '.join(KINDS)})")
