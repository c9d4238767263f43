"""`python -m pipelines.cli`: the `csc-returns` command (tests and benchmarks start it this way)."""

import sys

from pipelines.cli import main

sys.exit(main())
