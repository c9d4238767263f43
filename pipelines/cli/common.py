"""What every command group of `csc-returns` shares: a handler's shape, the one-line refusal, and
the making of a command that writes the data home.

A command that writes the home is made by `writing_command`: it takes `--wait SECONDS` and its
handler runs holding the home's writer lock (one writer at a time, docs/operations.md). Any other
command is made by `command`: it takes no lock and never waits.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import functools
import sys
from collections.abc import Callable
from typing import Any, Protocol, TextIO

from pipelines.exit_codes import LOCKED, USAGE
from pipelines.home import DataHome
from pipelines.home.lock import WriterLockTimeout
from pipelines.shown import terminal_text

# A subcommand's handler: its parsed arguments and the data home, to its exit code (pipelines/exit_codes.py).
Handler = Callable[[argparse.Namespace, DataHome], int]


class Commands(Protocol):
    """What `ArgumentParser.add_subparsers()` returns: a parser's subcommands, where a group adds its own."""

    def add_parser(self, name: str, **options: Any) -> argparse.ArgumentParser: ...


_WAITS = argparse.ArgumentParser(add_help=False)
_WAITS.add_argument(
    "--wait",
    type=float,
    metavar="SECONDS",
    default=None,
    help="how long to wait for another writer of the home before giving up with exit 75 "
    "(default $CSC_LOCK_TIMEOUT, else 3600)",
)


def show(line: str, file: TextIO | None = None, flush: bool = False) -> None:
    """One line of text output (standard output unless `file`): whatever it quotes (codes, names,
    file names, a waiver's who and why) cannot move the cursor, colour the screen or start a line
    of its own: control characters are shown escaped (`pipelines.shown.terminal_text`). JSON is
    printed as `json.dumps` writes it, CSV as the csv module does."""
    print(terminal_text(line), file=file or sys.stdout, flush=flush)


def day(text: str) -> dt.date:
    """An option's date, written YYYY-MM-DD (argparse's type)."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date written YYYY-MM-DD") from None


def say(message: str, status: int = USAGE) -> int:
    """A refusal: `message` as one line on standard error, and the exit code `status`."""
    show(message, file=sys.stderr)
    return status


def command(commands: Commands, name: str, handler: Handler, **options: Any) -> argparse.ArgumentParser:
    """Subcommand `name` that does not write the data home (it reads it, or hands it to another
    program): no lock, no waiting."""
    parser = commands.add_parser(name, **options)
    parser.set_defaults(handler=handler)
    return parser


def writing_command(commands: Commands, name: str, handler: Handler, **options: Any) -> argparse.ArgumentParser:
    """Subcommand `name` that writes the data home: `--wait SECONDS`, and `handler` run holding the
    home's writer lock."""
    parser = commands.add_parser(name, parents=[_WAITS], **options)
    parser.set_defaults(handler=_holding_the_writer_lock(handler))
    return parser


def _holding_the_writer_lock(handler: Handler) -> Handler:
    @functools.wraps(handler)
    def holding(args: argparse.Namespace, home: DataHome) -> int:
        from pipelines.steps.session import writing

        with contextlib.ExitStack() as held:
            try:
                held.enter_context(writing(home, timeout=args.wait))
            except WriterLockTimeout as exc:
                return say(str(exc), LOCKED)
            except OSError as exc:  # the home cannot be made (a file of that name, no permission)
                return say(f"{home.root}: {exc.strerror or exc}")
            return handler(args, home)

    return holding
