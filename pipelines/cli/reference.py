"""`csc-returns reference import FILE...`: the LA register, ONS populations, targets, statistical
neighbours or LAIT figures into the data home; exit 1 when a file is refused."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipelines.cli.common import Commands, show, writing_command
from pipelines.exit_codes import FINDINGS, OK
from pipelines.home import DataHome
from pipelines.orchestration.progress import Progress, showing_progress
from pipelines.steps.reference import ReferenceError, import_file


def add_reference(commands: Commands) -> None:
    reference = commands.add_parser("reference", help="reference data")
    reference_commands = reference.add_subparsers(dest="reference_command", required=True)
    import_files = writing_command(
        reference_commands, "import", _import, help="import the LA register or ONS populations"
    )
    import_files.add_argument("files", nargs="+", metavar="FILE")
    import_files.add_argument("--quiet", action="store_true", help="no progress on standard error")


def _import(args: argparse.Namespace, home: DataHome) -> int:
    said, refused = [], []  # printed once the progress display has finished
    with showing_progress("files", quiet=args.quiet) as progress:
        for done, name in enumerate(args.files):
            progress(Progress(done, len(args.files), Path(name).name, "reading"))
            outcome = "imported"
            try:
                said.append(import_file(home, name))
            except ReferenceError as exc:
                refused.append(str(exc))
                outcome = "refused"
            progress(Progress(done + 1, len(args.files), Path(name).name, finished=outcome))
    for summary in said:  # a summary line, then one `warning:` line for each thing left out
        for line in summary.splitlines():
            show(line)
    for line in refused:
        show(line, file=sys.stderr)
    return FINDINGS if refused else OK
