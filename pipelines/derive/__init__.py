"""The return computed from child-level records: each month's figures by ../shared/child-level.md."""
