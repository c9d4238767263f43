"""Fixtures for the orchestration tests (helpers live in orchestration_support.py)."""

from orchestration_support import demo_files  # noqa: F401  (session fixture)
