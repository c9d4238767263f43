"""The month partitions every asset, job and check shares."""

from __future__ import annotations

import warnings

import dagster as dg

# Partitioned asset checks are "preview" and backfill policies "beta" in Dagster 1.13; we rely on them knowingly.
warnings.filterwarnings("ignore", category=dg.PreviewWarning)
warnings.filterwarnings("ignore", category=dg.BetaWarning)

# The first month of the ONS population series we check denominators against (2012-13).
FIRST_MONTH = "2012-04"
MONTHS = dg.MonthlyPartitionsDefinition(start_date=FIRST_MONTH, fmt="%Y-%m", timezone="Europe/London")
# A backfill of many months (from the UI, or `csc-returns run` over a landing folder of years) is
# one run over the range: every asset processes the range's months in one go, in calendar order,
# and the checks record one result per month (assets/metadata.py: month_check_evaluations).
ONE_RUN_PER_RANGE = dg.BackfillPolicy.single_run()


def releasable(periods, valid: set[str] | None = None) -> tuple[list[str], list[str]]:
    """Split periods into months the monthly job can run (completed months of the series) and the
    rest (malformed, not yet ended, before the series)."""
    valid = set(MONTHS.get_partition_keys()) if valid is None else valid
    return [p for p in periods if p in valid], [p for p in periods if p not in valid]
