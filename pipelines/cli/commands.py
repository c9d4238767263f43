"""The commands of `csc-returns`: the parser assembled from the command groups, and the edge that
reads the environment once and runs the command asked for (`pipelines/cli/__init__.py` calls it)."""

from __future__ import annotations

import argparse
import sys

from pipelines.cli.child_level import add_child_lookup, add_purge
from pipelines.cli.common import say, show
from pipelines.cli.reference import add_reference
from pipelines.cli.run import add_demo, add_dev, add_run
from pipelines.cli.serve import add_serve
from pipelines.cli.steward import add_findings, add_private, add_status, add_waive
from pipelines.cli.validate import add_validate
from pipelines.exit_codes import LOCKED, USAGE
from pipelines.home import DataHome, environment, privacy, use_child_level_key_file
from schemas.catalogue import CatalogueError, load_catalogue

__all__ = ["build_parser", "main"]

DESCRIPTION = "`csc-returns`: validate returns, run the pipeline, import reference data, run the demo."


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="csc-returns", description=DESCRIPTION)
    parser.add_argument("--home", help="data home (default: $CSC_HOME, else ./data)")
    commands = parser.add_subparsers(dest="command", required=True)
    # In the order `--help` lists them.
    for add_commands in (
        add_validate,
        add_run,
        add_reference,
        add_demo,
        add_dev,
        add_serve,
        add_waive,
        add_status,
        add_findings,
        add_private,
        add_purge,
        add_child_lookup,
    ):
        add_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # The edge: the environment is read here once and handed on as values (pipelines/home/environment.py).
    environment.use_catalogue_from(environment.current())
    try:  # every file this command (and a run it starts) writes is private: pipelines/home/privacy.py
        privacy.configure(environment.publish_mode(environment.current()))
    except privacy.BadMode as exc:
        return say(str(exc))
    if (catalogue_problems := _catalogue_problems()) is not None:
        return catalogue_problems
    home = DataHome.resolve(environment.home_path(args.home, environment.current()))
    use_child_level_key_file(environment.child_level_key_file(environment.current()))  # a key kept outside the home
    try:
        return args.handler(args, home)
    except Exception as exc:
        # DuckDB is imported only by commands that open the warehouse (not `validate` of a new home).
        duckdb = sys.modules.get("duckdb")
        if duckdb is not None and isinstance(exc, duckdb.IOException):
            # A program outside the pipeline holds the warehouse's own lock: busy, try again later.
            return say(f"{home.warehouse}: {str(exc).splitlines()[0]}", LOCKED)
        raise


def _catalogue_problems() -> int | None:
    """Check the indicator catalogue at start-up: one line per mistake and USAGE, before any work."""
    try:
        load_catalogue()
    except CatalogueError as exc:
        show(f"the indicator catalogue {exc.path} is not valid ({len(exc.problems)} problem(s)):", file=sys.stderr)
        for problem in exc.problems:
            show(f"  {problem}", file=sys.stderr)
        return USAGE
    return None
