"""Dagster's own command line for a run over a range of months (`dg launch`), started before the range
is known: `csc-returns run` starts this process, which loads Dagster, its command line and the code
location while the command archives the landing folder; the arguments of `dg launch` then arrive as one
JSON line on standard input (an empty line, or none: no run, and the process ends).

    python -m pipelines.orchestration.launcher < '["launch", "-m", "pipelines.orchestration.definitions", ...]'

Once `dg` returns, its run recorded and its storage closed, the process ends at once with `dg`'s status:
the interpreter's teardown of every module Dagster loaded took over a second, with nothing left to write.
"""

from __future__ import annotations

import json
import os
import sys


def main() -> None:
    from dagster_dg_cli.cli import main as dg  # the `dg` command's own entry point

    import pipelines.orchestration.definitions  # noqa: F401  (the code location, loaded ahead of need)

    line = sys.stdin.readline()
    if not line.strip():
        return
    sys.argv = ["dg", *json.loads(line)]
    try:
        dg()
        status = 0
    except SystemExit as ended:
        status = ended.code if isinstance(ended.code, int) else 0 if ended.code is None else 1
        if not isinstance(ended.code, int | None):
            print(ended.code, file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


if __name__ == "__main__":
    main()
