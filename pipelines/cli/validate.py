"""`csc-returns validate FILE...`: check returns before they are sent; findings, exit 1 on any error."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from pipelines.cli.common import Commands, command, show
from pipelines.exit_codes import FINDINGS, OK
from pipelines.home import DataHome
from pipelines.steps.validate_files import validate_files


def add_validate(commands: Commands) -> None:
    validate = command(commands, "validate", _validate, help="check returns and print findings; exit 1 on any error")
    validate.add_argument("files", nargs="+", metavar="FILE")
    validate.add_argument("--json", action="store_true", help="print {files, findings} as JSON")


def _validate(args: argparse.Namespace, home: DataHome) -> int:
    checked = validate_files(home, args.files)
    if args.json:
        # "notes" stays for scripts that read it; always empty since history is read from the
        # readers' snapshot (a busy warehouse was its only note).
        report = {"files": checked.files, "findings": [asdict(f) for f in checked.findings], "notes": []}
        print(json.dumps(report, indent=2))
    else:
        for finding in checked.findings:
            show(finding.one_line())
        show(
            f"{len(checked.files)} file(s), {checked.errors} error(s), {len(checked.findings) - checked.errors} warning(s)"
        )
    return FINDINGS if checked.errors else OK
