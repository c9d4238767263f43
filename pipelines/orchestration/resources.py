"""Dagster resources shared by every asset."""
from __future__ import annotations

import dagster as dg

from pipelines.home import DataHome


class DataHomeResource(dg.ConfigurableResource):
    """Where the pipeline keeps its archive, warehouse and publications (`--home`, `CSC_HOME`)."""

    path: str = ""  # empty: CSC_HOME, else ./data, read when a run starts
    validation_engine: str = "gx"

    def home(self) -> DataHome:
        return DataHome.resolve(self.path or None).ensure()
