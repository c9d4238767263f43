"""Publish: a month's accepted figures as open data (EES files, disclosure control, screen, formats,
destination), one module per concern.

See docs/publishing.md. The steps call `pipelines.publish.release.publish_months`.
"""
