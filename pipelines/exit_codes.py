"""Exit codes of every `csc-returns` command: one table, the same across commands.

Documented in docs/operations.md ("Exit codes"); scripts and schedulers branch on these.
"""

from __future__ import annotations

OK = 0
# `validate` found an error, or `run` held back at least one return: the pipeline worked, the data did not pass.
FINDINGS = 1
# Bad arguments, an unknown month, authority or waiver id, a refused demo folder (argparse also exits 2).
USAGE = 2
# A step of a run failed: see the Dagster UI for its logs.
RUN_FAILED = 3
# Another writer held the data home for longer than the wait allowed (EX_TEMPFAIL: try again later).
LOCKED = 75
