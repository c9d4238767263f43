"""`csc-returns validate FILE...`: check returns before they are sent; findings, exit 1 on any error."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from pipelines.cli.common import Commands, command, day, say, show
from pipelines.exit_codes import FINDINGS, OK
from pipelines.home import DataHome
from pipelines.steps.validate_files import ChildLevelSettingsError, validate_files


def add_validate(commands: Commands) -> None:
    validate = command(commands, "validate", _validate, help="check returns and print findings; exit 1 on any error")
    validate.add_argument("files", nargs="+", metavar="FILE")
    validate.add_argument("--json", action="store_true", help="print {files, findings, rows} as JSON")
    validate.add_argument(
        "--la-code",
        help="the authority of a child-level (Annex A) workbook that states it neither on a front sheet nor in its name",
    )
    validate.add_argument(
        "--extract-date",
        type=day,
        metavar="YYYY-MM-DD",
        help="the extract date of a child-level workbook that states it neither on a front sheet nor in its name",
    )


def _validate(args: argparse.Namespace, home: DataHome) -> int:
    try:
        checked = validate_files(home, args.files, args.la_code, args.extract_date)
    except ChildLevelSettingsError as exc:  # the home's child-level.toml: its tolerances apply here too
        return say(str(exc))
    if args.json:
        # "notes" stays for scripts that read it; always empty since history is read from the
        # readers' snapshot (a busy warehouse was its only note). "rows": the return derived from
        # child-level workbooks, one per authority and month.
        report = {
            "files": checked.files,
            "findings": [asdict(f) for f in checked.findings],
            "notes": [],
            "rows": checked.derived,
        }
        print(json.dumps(report, indent=2))
    else:
        for finding in checked.findings:
            show(finding.one_line())
        for row in checked.derived:
            figures = ", ".join(
                f"{k} {'blank' if v is None else v}"
                for k, v in row.items()
                if k not in ("la_code", "period", "extract_date")
            )
            show(f"derived {row['la_code']} {row['period']} (extract {row['extract_date']}): {figures}")
        show(
            f"{len(checked.files)} file(s), {checked.errors} error(s), {len(checked.findings) - checked.errors} warning(s)"
        )
    return FINDINGS if checked.errors else OK
