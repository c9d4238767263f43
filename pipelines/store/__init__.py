"""Store: the DuckDB warehouse and the Parquet lake; each write is one transaction, a month is replaced whole."""
