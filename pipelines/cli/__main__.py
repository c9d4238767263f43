"""`python -m pipelines.cli`: the `csc-returns` command (tests and benchmarks start it this way)."""

from pipelines.cli import entry

entry()
