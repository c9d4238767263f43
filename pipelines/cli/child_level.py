"""`csc-returns purge` (child-level records past the home's retention) and `csc-returns child-lookup`
(the owner's look-up of the child behind a pseudonym): pipelines/steps/retention.py.

Each handler imports the step when it runs (the step loads DuckDB: tests/test_cli.py holds that
`validate` of a new home imports none).
"""

from __future__ import annotations

import argparse
import getpass

from pipelines.cli.common import Commands, say, writing_command
from pipelines.exit_codes import OK, USAGE
from pipelines.home import DataHome, environment


def add_purge(commands: Commands) -> None:
    purge = writing_command(
        commands,
        "purge",
        _purge,
        help="delete archived child-level workbooks older than the home's retention period, recording each",
    )
    purge.add_argument("--who", help="who purges, for the record (default: your user name)")


def add_child_lookup(commands: Commands) -> None:
    lookup = writing_command(
        commands,
        "child-lookup",
        _child_lookup,
        help="the home's owner only: the child's ID behind a pseudonym, to your terminal; recorded (never the ID)",
    )
    lookup.add_argument("--pseudonym", required=True)
    lookup.add_argument("--who", required=True, help="who asks, for the record")
    lookup.add_argument("--reason", required=True, help="why, for the record")


def _purge(args: argparse.Namespace, home: DataHome) -> int:
    from pipelines.steps.retention import ChildLevelSettingsError, purge

    try:
        summary = purge(home, args.who or getpass.getuser())
    except ChildLevelSettingsError as exc:
        return say(str(exc))
    for line in summary.lines():
        print(line)
    return OK


def _child_lookup(args: argparse.Namespace, home: DataHome) -> int:
    from pipelines.steps.retention import LookupRefused, look_up_child, terminal_only

    if not terminal_only():
        return say("child-lookup prints a child's ID to a terminal only, never to a file or a pipe")
    if not home.warehouse.exists():
        return say(f"{home.root} holds no warehouse: nothing was received")
    try:
        found = look_up_child(
            home, args.pseudonym, args.who, args.reason, environment.child_level_key_file(environment.current())
        )
    except LookupRefused as exc:
        return say(str(exc))
    if found is None:
        return say("no archived workbook holds a child with that pseudonym (asking recorded)", USAGE)
    print(found)
    return OK
