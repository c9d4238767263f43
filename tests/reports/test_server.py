"""The reports server (`csc-returns serve`), over real HTTP on 127.0.0.1: it serves the home's
reports/ and nothing else (no `..`, no symbolic link out, no folder listing, no writes), every
answer carrying a Content-Security-Policy that keeps a page from loading anything from elsewhere,
and GX Data Docs' own static assets resolve through it. SYNTHETIC files only."""

from __future__ import annotations

import http.client
import os
import urllib.parse

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.home import DataHome
from pipelines.steps.reports import authority_pages, data_docs_url, report_url, serving

SECRET = "SYNTHETIC secret outside reports"
DOCS_PAGE = "gx/2024-06/validations/derived_figures/__none__/20240701T000000.000000Z/returns-derived_figures.html"


@pytest.fixture
def served(tmp_path):
    home = DataHome(tmp_path / "home").ensure()
    (home.root / "warehouse.duckdb").write_text(SECRET)
    (tmp_path / "outside.txt").write_text(SECRET)
    page = home.reports / DOCS_PAGE
    page.parent.mkdir(parents=True)
    page.write_text(
        '<html><link href="../../../../static/styles/x.css" rel="stylesheet">'
        "<td>E06000006</td><td>573.0</td><td>57.32</td></html>"
    )
    (home.reports / "gx/2024-06/index.html").write_text("<html>SYNTHETIC index</html>")
    static = home.reports / "gx/static/styles/x.css"
    static.parent.mkdir(parents=True)
    static.write_text("body { color: black }")
    (home.reports / "scorecard").mkdir()
    (home.reports / "scorecard/benchmarks.csv").write_text("la_code,value\nE06000006,1\n")
    (home.reports / "escape").symlink_to(tmp_path / "outside.txt")
    (home.reports / "escape_folder").symlink_to(home.root)
    with serving(home.reports) as server:
        yield home, server.server_address[1]


def get(port: int, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def test_a_data_docs_page_and_its_static_assets_are_served_with_a_policy_that_allows_nothing_else(served):
    _, port = served
    status, headers, body = get(port, "/" + DOCS_PAGE)
    assert status == 200 and b"E06000006" in body and b"573.0" in body
    policy = headers["content-security-policy"]
    assert "default-src 'none'" in policy and "https:" not in policy and "*" not in policy
    assert headers["x-content-type-options"] == "nosniff"
    # The page's relative link to GX's shared static folder resolves through the server.
    stylesheet = urllib.parse.urljoin("/" + DOCS_PAGE, "../../../../static/styles/x.css")
    assert stylesheet == "/gx/2024-06/static/styles/x.css"  # GX 1.24's link from a result page, one level short
    status, headers, body = get(port, stylesheet)
    assert status == 200 and body == b"body { color: black }" and headers["content-type"].startswith("text/css")
    from_the_index = urllib.parse.urljoin("/gx/2024-06/index.html", "../static/styles/x.css")
    assert get(port, from_the_index)[2] == body
    assert get(port, "/gx/2024-06/static/../../../warehouse.duckdb")[0] == 404
    status, headers, _ = get(port, "/scorecard/benchmarks.csv")
    assert status == 200 and headers["content-type"].startswith("text/csv")


@pytest.mark.parametrize(
    "path",
    [
        "/../warehouse.duckdb",
        "/gx/../../warehouse.duckdb",
        "/%2e%2e/warehouse.duckdb",
        "/gx/%2e%2e%2f%2e%2e%2fwarehouse.duckdb",
        "/..%5cwarehouse.duckdb",
        "/escape",
        "/escape_folder/warehouse.duckdb",
        "/gx/",
        "/",
        "/gx/2024-06",
        "//etc/passwd",
        "/%00",
        "/%ff%fe",
    ],
)
def test_nothing_outside_reports_nor_a_folder_listing_is_served(served, path):
    _, port = served
    status, headers, body = get(port, path)
    assert status == 404 and SECRET.encode() not in body and b"Directory listing" not in body
    assert "content-security-policy" in headers


def test_a_hidden_file_is_never_served_a_file_being_written_beside_a_report_say(served):
    home, port = served
    being_written = home.reports / "scorecard" / f".benchmarks.csv.{os.getpid()}.1.incoming"
    being_written.write_text("la_code,value\nE06000006,half written\n")
    (home.reports / "gx" / "static" / ".marker").write_text("SYNTHETIC marker")
    for path in (f"/scorecard/{being_written.name}", "/gx/static/.marker", "/gx/./2024-06/index.html"):
        status, _, body = get(port, path)
        assert status == 404 and b"half written" not in body and b"marker" not in body
    assert get(port, "/scorecard/benchmarks.csv")[0] == 200


def test_the_server_only_reads(served):
    home, port = served
    for method in ("POST", "PUT", "DELETE"):
        status, _, _ = get(port, "/scorecard/benchmarks.csv", method)
        assert status in (405, 501)
    assert (home.reports / "scorecard/benchmarks.csv").read_text().startswith("la_code")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.sampled_from(["..", ".", "%2e%2e", "%2e", "gx", "escape_folder", "escape", "", "%2f", "\\"]), max_size=6
    )
)
def test_an_attacker_composing_paths_never_reads_outside_reports(served, parts):
    """Whatever the path, the answer is a file under reports/ (resolved) or a 404: never the home's secret."""
    _, port = served
    path = "/" + "/".join(parts) + "/warehouse.duckdb"
    status, _, body = get(port, path)
    assert SECRET.encode() not in body
    assert status in (200, 404)


def test_links_are_urls_under_the_configured_base_and_each_authority_gets_its_page(served):
    home, _ = served
    assert report_url(home, home.reports / "scorecard/benchmarks.csv", "https://reports.example.org/csc/") == (
        "https://reports.example.org/csc/scorecard/benchmarks.csv"
    )
    assert report_url(home, home.root / "warehouse.duckdb", "https://x") is None
    assert data_docs_url(home, "2024-06", "http://h:1") == "http://h:1/gx/2024-06/index.html"
    pages = authority_pages(home, "2024-06", ["E06000006", "E06000008"], "http://h:1")
    assert pages == {
        "E06000006": f"http://h:1/{DOCS_PAGE}",
        "E06000008": "http://h:1/gx/2024-06/index.html",  # named by no page: the month's index
    }


def test_serve_binds_to_the_loopback_by_default(tmp_path):
    home = DataHome(tmp_path / "home")
    with serving(home.reports) as server:
        assert server.server_address[0] == "127.0.0.1"
    assert os.path.isdir(home.reports)


def test_csc_returns_serve_serves_the_homes_reports_until_interrupted(tmp_path):
    import signal
    import socket
    import subprocess
    import sys
    import time

    home = DataHome(tmp_path / "home").ensure()
    (home.reports / "scorecard").mkdir()
    (home.reports / "scorecard/scorecard.html").write_text("<html>SYNTHETIC scorecard</html>")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "--home", str(home.root), "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        said = process.stdout.readline()
        assert said.startswith(f"reports of {home.root} on http://127.0.0.1:{port}/")
        deadline = time.monotonic() + 30
        while True:
            try:
                status, headers, body = get(port, "/scorecard/scorecard.html")
                break
            except ConnectionRefusedError:
                assert time.monotonic() < deadline
                time.sleep(0.2)
        assert status == 200 and b"SYNTHETIC scorecard" in body and "content-security-policy" in headers
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
