"""The home's reports for a browser: served over HTTP (`csc-returns serve`, beside the UI in
`csc-returns dev`) and linked as URLs from the Dagster UI and the notifications."""

from __future__ import annotations

from pipelines.reports.links import (
    DEFAULT_REPORTS_URL,
    DEFAULT_UI_URL,
    authority_pages,
    base_url,
    data_docs_url,
    report_url,
)
from pipelines.reports.server import reports_server, serving

__all__ = [
    "DEFAULT_REPORTS_URL",
    "DEFAULT_UI_URL",
    "authority_pages",
    "base_url",
    "data_docs_url",
    "report_url",
    "reports_server",
    "serving",
]
