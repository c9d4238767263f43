"""Fixtures for the operations tests (helpers live in operations_support.py)."""
from operations_support import demo_files  # noqa: F401  (session fixture)
