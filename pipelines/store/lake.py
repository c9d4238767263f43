"""The Parquet lake: accepted figures hive-partitioned by period, one file per month replaced whole."""

from __future__ import annotations

import pandas as pd

from pipelines.home import DataHome


def write_lake_month(home: DataHome, month: str, frame: pd.DataFrame) -> None:
    """Replace the month's file by a rename (never the folder, so other months stay); none when empty."""
    import pyarrow as pa  # not on the command line's fast path (`validate` reads the warehouse only)
    import pyarrow.parquet as pq

    folder = home.lake / "indicator_values" / f"period={month}"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "part-0.parquet"
    if frame.empty:
        target.unlink(missing_ok=True)
        return
    temporary = folder / ".part-0.parquet.tmp"
    pq.write_table(pa.Table.from_pandas(frame.drop(columns=["period"]), preserve_index=False), temporary)
    temporary.replace(target)
