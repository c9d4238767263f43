"""Links to the home's reports as URLs a browser can follow: `<reports base URL>/<path under reports/>`.

The base URL is configuration (`CSC_REPORTS_URL`; `csc-returns dev` sets it to the server it
starts beside the UI); a path on the server's disk is never given to a steward.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable
from pathlib import Path

from pipelines.home import DataHome

DEFAULT_REPORTS_URL = "http://127.0.0.1:3001"
DEFAULT_UI_URL = "http://127.0.0.1:3000"
_RUN_FOLDER = re.compile(r"^\d{8}T\d{6}\.\d+Z$")


def base_url(configured: str | None, default: str) -> str:
    """A configured base URL without its trailing slash, or `default`."""
    return (configured or "").strip().rstrip("/") or default


def report_url(home: DataHome, page: Path, reports_url: str | None = None) -> str | None:
    """The URL of `page` (a file under the home's reports/), or None when it is not under reports/."""
    try:
        relative = page.resolve().relative_to(home.reports.resolve())
    except ValueError:
        return None
    return f"{base_url(reports_url, DEFAULT_REPORTS_URL)}/{urllib.parse.quote(relative.as_posix())}"


def data_docs_url(home: DataHome, month: str, reports_url: str | None = None) -> str | None:
    """The URL of the month's Data Docs index, None when the month has none."""
    index = home.data_docs(month) / "index.html"
    return report_url(home, index, reports_url) if index.exists() else None


def latest_validation_pages(home: DataHome, month: str) -> list[Path]:
    """The month's latest validation page of each suite (`validations/<suite>/__none__/<run>/*.html`)."""
    pages: list[Path] = []
    folder = home.data_docs(month) / "validations"
    if not folder.is_dir():
        return pages
    for suite in sorted(p for p in folder.iterdir() if p.is_dir()):
        runs = sorted(run for run in suite.glob("*/*") if run.is_dir() and _RUN_FOLDER.match(run.name))
        if runs:
            pages.extend(sorted(runs[-1].glob("*.html")))
    return pages


def authority_pages(
    home: DataHome, month: str, la_codes: Iterable[str], reports_url: str | None = None
) -> dict[str, str]:
    """Each authority's link to that month's Data Docs: the first validation page that names it (the
    page with its failing figures), else the month's index; an authority with neither has none."""
    wanted = sorted(set(la_codes))
    if not wanted:
        return {}  # a passing check reads no page
    pages = [
        (page, page.read_text(encoding="utf-8", errors="replace")) for page in latest_validation_pages(home, month)
    ]
    index = data_docs_url(home, month, reports_url)
    links: dict[str, str] = {}
    for la_code in wanted:
        found = next((page for page, text in pages if la_code in text), None)
        url = report_url(home, found, reports_url) if found is not None else index
        if url:
            links[la_code] = url
    return links
