"""The home's reports over HTTP: the server of `reports/` (Data Docs, scorecard, benchmarks) and the
links to its pages that the Dagster UI and the notifications give (no Dagster here)."""
