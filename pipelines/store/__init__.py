"""Store: the DuckDB warehouse and the Parquet lake; every write replaces a whole month."""
