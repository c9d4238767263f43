"""Dagster resources and partitions shared by every asset."""
from __future__ import annotations

import warnings

import dagster as dg

from pipelines.home import DataHome

# Partitioned asset checks are "preview" in Dagster 1.13; we rely on them knowingly.
warnings.filterwarnings("ignore", category=dg.PreviewWarning)

# The first month of the ONS population series we check denominators against (2012-13).
FIRST_MONTH = "2012-04"
MONTHS = dg.MonthlyPartitionsDefinition(start_date=FIRST_MONTH, fmt="%Y-%m", timezone="Europe/London")


class DataHomeResource(dg.ConfigurableResource):
    """Where the pipeline keeps its archive, warehouse and publications (`--home`, `CSC_HOME`)."""

    path: str = ""  # empty: CSC_HOME, else ./data, read when a run starts
    validation_engine: str = "gx"

    def home(self) -> DataHome:
        return DataHome.resolve(self.path or None).ensure()
