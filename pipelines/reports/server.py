"""`csc-returns serve`: the home's reports/ over HTTP (Data Docs, scorecard, benchmarks), read only.

Threaded `http.server`, bound to 127.0.0.1 unless told otherwise. Every answer carries a
Content-Security-Policy that lets a page load only what this server serves (GX's Data Docs ask
CDNs for Bootstrap and jQuery: those are refused, and the pages' own HTML, styles and images
from `reports/gx/static/` carry the findings). A path is served only when the file it resolves to,
symbolic links followed, lies inside reports/: `..` and a link leading out are answered 404, as is
a folder (no listings). The reports show figures not yet published: in production the server sits
behind the organisation's authenticating reverse proxy (docs/operations.md).
"""

from __future__ import annotations

import contextlib
import http.server
import os
import re
import threading
import urllib.parse
from collections.abc import Iterator
from functools import partial
from pathlib import Path

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; font-src 'self' data:; "
    "script-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)
_GX_MONTH_STATIC = re.compile(r"^gx/[^/]+/static/(?P<rest>.+)$")
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class ReportsHandler(http.server.SimpleHTTPRequestHandler):
    """GET and HEAD of files inside `directory`, nothing else."""

    server_version = "csc-returns-reports"
    sys_version = ""

    def guess_type(self, path) -> str:
        return "text/csv; charset=utf-8" if str(path).endswith(".csv") else super().guess_type(path)

    def end_headers(self) -> None:
        for name, value in SECURITY_HEADERS.items():
            self.send_header(name, value)
        super().end_headers()

    def send_head(self):
        target = self.resolved()
        if target is None:
            self.send_error(404, "not a report")
            return None
        return super().send_head()

    def resolved(self) -> Path | None:
        """The file the request names when it lies inside the reports folder, links followed; else None."""
        root = Path(self.directory).resolve()
        try:
            path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path, errors="strict")
        except (UnicodeDecodeError, ValueError):
            return None
        if "\x00" in path:
            return None
        relative = path.lstrip("/")
        if any(part.startswith(".") for part in relative.split("/")):
            return None  # hidden: a file being written (`durable.temporary_beside`), a marker; never a report
        target = (root / relative).resolve()
        if not target.is_file() and (shared := _GX_MONTH_STATIC.match(relative)):
            # GX 1.24 links a validation page to static/ one level short (`gx/<month>/static/`):
            # the Data Docs' assets are kept once, in `gx/static/` (pipelines/validate/gx_views.py).
            target = (root / "gx" / "static" / shared["rest"]).resolve()
        if target != root and root not in target.parents:
            return None
        return target if target.is_file() else None

    def translate_path(self, path: str) -> str:
        target = self.resolved()
        # Never a folder (no listing) and never outside: an unresolvable request names nothing.
        return str(target) if target is not None else os.devnull

    def list_directory(self, path):
        self.send_error(404, "not a report")
        return None

    def do_POST(self) -> None:
        self.send_error(405, "read only")

    do_PUT = do_DELETE = do_PATCH = do_POST

    def log_message(self, format: str, *args) -> None:
        return  # quiet: a steward's browsing is no one's log


def reports_server(reports: Path, host: str = "127.0.0.1", port: int = 0) -> http.server.ThreadingHTTPServer:
    """A server of `reports` on host:port (port 0: any free one), not yet serving."""
    reports.mkdir(parents=True, exist_ok=True)
    server = http.server.ThreadingHTTPServer((host, port), partial(ReportsHandler, directory=str(reports)))
    server.daemon_threads = True
    return server


@contextlib.contextmanager
def serving(reports: Path, host: str = "127.0.0.1", port: int = 0) -> Iterator[http.server.ThreadingHTTPServer]:
    """The reports served from a thread of this process while the block runs."""
    server = reports_server(reports, host, port)
    thread = threading.Thread(target=server.serve_forever, name="csc-reports", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
