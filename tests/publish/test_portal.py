"""The CKAN destination, with the real ckanapi client over real HTTP, against a loopback CKAN stand-in.

A real CKAN needs Solr and PostgreSQL, which cannot run here; this small server on 127.0.0.1
implements the five actions the destination calls, with CKAN's request and response shapes
(JSON bodies, multipart uploads, `{"success": false, "error": {"__type": ...}}` errors). The
destination is built as the command line and Dagster build it: from plain settings, the token
given apart (`steps.monthly.publish_destination`).
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pipelines.publish.release import PublishingError, publish_month
from pipelines.steps.monthly import publish_destination

from .synthetic import BLACKPOOL, HALTON, accept_returns

TOKEN = "synthetic-token-7f3a9c"


class LoopbackCkan(BaseHTTPRequestHandler):
    packages: dict[str, dict]
    uploads: dict[str, bytes]
    calls: list[str]

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def _reply(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, kind: str, message: str) -> None:
        self._reply(status, {"success": False, "error": {"__type": kind, "message": message}})

    def _payload(self) -> tuple[dict, dict[str, bytes]]:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        content_type = self.headers.get("Content-Type", "")
        if content_type.startswith("multipart/form-data"):
            message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                f"Content-Type: {content_type}\r\n\r\n".encode() + body
            )
            fields, files = {}, {}
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                if part.get_filename() is not None:
                    files[name] = part.get_payload(decode=True)
                else:
                    fields[name] = part.get_payload(decode=True).decode()
            return fields, files
        return (json.loads(body) if body else {}), {}

    def do_POST(self) -> None:
        action = self.path.rstrip("/").rsplit("/", 1)[-1]
        self.calls.append(action)
        if self.headers.get("Authorization") != TOKEN:
            return self._error(403, "Authorization Error", "Access denied")
        data, files = self._payload()
        packages = self.packages
        if action == "package_show":
            if data["id"] not in packages:
                return self._error(404, "Not Found Error", "Not found")
            return self._reply(200, {"success": True, "result": packages[data["id"]]})
        if action == "package_create":
            if not data.get("owner_org"):
                return self._error(409, "Validation Error", "owner_org: Missing value")
            packages[data["name"]] = {**data, "id": f"pkg-{data['name']}", "resources": []}
            return self._reply(200, {"success": True, "result": packages[data["name"]]})
        if action == "package_patch":
            packages[data["id"]].update({k: v for k, v in data.items() if k != "id"})
            return self._reply(200, {"success": True, "result": packages[data["id"]]})
        if action in ("resource_create", "resource_patch"):
            if "upload" not in files:
                return self._error(409, "Validation Error", "upload: Missing file")
            package = next(
                p
                for p in packages.values()
                if p["id"] == data.get("package_id") or any(r["id"] == data.get("id") for r in p["resources"])
            )
            if action == "resource_create":
                resource = {"id": f"res-{len(self.uploads)}", "name": data["name"], "format": data.get("format")}
                package["resources"].append(resource)
            else:
                resource = next(r for r in package["resources"] if r["id"] == data["id"])
            self.uploads[resource["id"]] = files["upload"]
            return self._reply(200, {"success": True, "result": resource})
        return self._error(400, "Bad Request", f"unknown action {action}")


@pytest.fixture
def ckan():
    handler = type("Handler", (LoopbackCkan,), {"packages": {}, "uploads": {}, "calls": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    handler.url = f"http://127.0.0.1:{server.server_port}"
    yield handler
    server.shutdown()
    server.server_close()


def _portal(url: str, token: str = TOKEN):
    return publish_destination("ckan", url=url, organisation="synthetic-council", token=token)


def _uploaded(ckan, name: str) -> bytes:
    package = ckan.packages["children-social-care-monthly"]
    resource = next(r for r in package["resources"] if r["name"] == name)
    return ckan.uploads[resource["id"]]


def test_release_is_created_then_updated_on_ckan(north_west_home, ckan):
    accept_returns(north_west_home, "2025-11", {BLACKPOOL: {}, HALTON: {}}, received="2025-12-04")
    accept_returns(north_west_home, "2025-12", {BLACKPOOL: {"cla": 500}, HALTON: {}})

    first = publish_month(north_west_home, "2025-11", _portal(ckan.url))
    assert ckan.calls[:2] == ["package_show", "package_create"]
    package = ckan.packages["children-social-care-monthly"]
    assert package["owner_org"] == "synthetic-council" and package["license_id"] == "uk-ogl"
    assert sorted(r["name"] for r in package["resources"]) == sorted(first.files)

    second = publish_month(north_west_home, "2025-12", _portal(ckan.url))
    assert "package_patch" in ckan.calls and "resource_patch" in ckan.calls
    names = [r["name"] for r in package["resources"]]
    assert len(names) == len(set(names)) == len(set(first.files) | set(second.files))
    for name in second.files:
        assert _uploaded(ckan, name) == (north_west_home.publish / name).read_bytes()


def test_refused_token_is_a_one_line_error_that_never_shows_the_token(north_west_home, ckan, caplog):
    accept_returns(north_west_home, "2025-12", {BLACKPOOL: {}})
    caplog.set_level(logging.DEBUG)

    with pytest.raises(PublishingError) as raised:
        publish_month(north_west_home, "2025-12", _portal(ckan.url, token="wrong-" + TOKEN))

    message = str(raised.value)
    assert "published in" in message and "not on the portal" in message and "\n" not in message
    assert TOKEN not in message and TOKEN not in caplog.text
    assert (north_west_home.publish / "children_social_care_monthly.csv").exists()  # the folder is still the record


def test_unreachable_ckan_is_a_one_line_error(north_west_home):
    accept_returns(north_west_home, "2025-12", {BLACKPOOL: {}})
    with pytest.raises(
        PublishingError, match=r"not on the portal: CKAN at http://127\.0\.0\.1:9: cannot connect"
    ) as raised:
        publish_month(north_west_home, "2025-12", _portal("http://127.0.0.1:9"))  # discard port: nothing listens
    assert TOKEN not in str(raised.value)


def test_a_release_published_again_unchanged_is_uploaded_again(north_west_home, ckan):
    """The folder rewrites nothing, but the portal is given the month's files again: a release that
    reached the folder and not the portal reaches it on the next run."""
    accept_returns(north_west_home, "2025-12", {BLACKPOOL: {}})
    with pytest.raises(PublishingError):
        publish_month(north_west_home, "2025-12", _portal(ckan.url, token="wrong-" + TOKEN))
    assert "children-social-care-monthly" not in ckan.packages

    summary = publish_month(north_west_home, "2025-12", _portal(ckan.url))

    for name in summary.files:
        assert _uploaded(ckan, name) == (north_west_home.publish / name).read_bytes()


def test_ckan_settings_are_required_and_the_token_is_not_in_the_repr():
    with pytest.raises(PublishingError, match="the ckan destination needs url, organisation, token"):
        publish_destination("ckan")
    with pytest.raises(PublishingError, match=r"unknown destination 'ftp' \(folder or ckan\)"):
        publish_destination("ftp")
    destination = publish_destination("ckan", url="http://127.0.0.1:1", organisation="o", token=TOKEN)
    assert TOKEN not in repr(destination) and destination.dataset == "children-social-care-monthly"
    assert publish_destination().name == "folder"
