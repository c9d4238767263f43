"""Publishing: a month's accepted returns as open data (EES files, disclosure control, screen, portal).

See docs/publishing.md. The pipeline calls `publish_month`.
"""
from pipelines.publishing.release import PublishingError, ReleaseSummary, publish_month

__all__ = ["PublishingError", "ReleaseSummary", "publish_month"]
