"""The data home: one folder holding everything the pipeline keeps (see docs/operations.md)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_operator_key_file: Path | None = None  # CSC_CHILD_LEVEL_KEY, set at an edge


def use_child_level_key_file(path: Path | str | None) -> None:
    """At an edge (the command line's entry point, the Dagster code location): the key of child-level
    pseudonyms is at `path` ($CSC_CHILD_LEVEL_KEY), not in the home; None or blank: the home's own."""
    global _operator_key_file
    _operator_key_file = Path(path) if path else None


@dataclass(frozen=True)
class DataHome:
    """The folders of one data home. Its path is given, never looked up: the command line and the
    Dagster code location learn it (`--home`, $CSC_HOME: pipelines/home/environment.py) and hand it on."""

    root: Path

    @classmethod
    def resolve(cls, home: str | os.PathLike) -> DataHome:
        """The home at `home`, as an absolute path."""
        if not str(home):
            raise ValueError("a data home needs a path")
        return cls(Path(home).resolve())

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def archive(self) -> Path:
        return self.root / "archive"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def warehouse_snapshot(self) -> Path:
        """What readers open: a copy of the warehouse the writer replaces after each write (store/warehouse.py)."""
        return self.root / "warehouse.snapshot.duckdb"

    @property
    def instance(self) -> Path:
        """The home's own Dagster instance (DAGSTER_HOME unless one is set): runs, check results, step logs."""
        return self.root / ".dagster"

    @property
    def lake(self) -> Path:
        return self.root / "lake"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def publish(self) -> Path:
        return self.root / "publish"

    @property
    def reference(self) -> Path:
        return self.root / "reference"

    @property
    def row_labels(self) -> Path:
        """The mapping of authorities' own row labels to catalogue columns, for wide sheets (docs/standard.md)."""
        return self.reference / "row_labels.csv"

    @property
    def child_level_key(self) -> Path:
        """The secret key of child-level pseudonyms: in the home, unless the operator keeps it elsewhere
        (CSC_CHILD_LEVEL_KEY, set at an edge by `use_child_level_key_file`)."""
        return _operator_key_file or self.root / "keys" / "child-level.key"

    @property
    def child_level_rows(self) -> Path:
        """The pseudonymised rows of each child-level workbook, owner-only (store/child_rows.py), purged with it."""
        return self.root / "child-level"

    def data_docs(self, month: str) -> Path:
        """Great Expectations' Data Docs of one month's validation."""
        return self.reports / "gx" / month

    def ensure(self) -> DataHome:
        """The home's folders, each created private (0700, the home itself searchable by others only
        when publish/ is served: pipelines/home/privacy.py)."""
        from pipelines.home import privacy

        if not self.root.exists():
            privacy.ensure_private_folder(self.root)
            os.chmod(self.root, privacy.root_mode())
        for folder in (self.landing, self.archive, self.lake, self.reports, self.reference):
            privacy.ensure_private_folder(folder)
        if not self.publish.exists():
            self.publish.mkdir(parents=True, exist_ok=True)
            os.chmod(self.publish, privacy.folder_mode(privacy.publish_file_mode()))
        return self
