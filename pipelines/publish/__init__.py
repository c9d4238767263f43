"""Publish: a month's accepted figures as open data (EES files, disclosure control, screen, package, portal).

See docs/publishing.md. The pipeline calls `pipelines.publish.release.publish_month`.
"""
