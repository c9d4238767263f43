"""`csc-returns`: validate returns, run the pipeline, import reference data, run the demo."""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

from pipelines.home import DataHome


def _validate(args: argparse.Namespace, home: DataHome) -> int:
    from pipelines.ingest.readers import read_return
    from pipelines.reference import load_reference
    from pipelines.store.month import accepted_history
    from pipelines.store.warehouse import connect
    from pipelines.validate.rulebook import validate_rows
    from schemas.findings import ERROR
    from schemas.rules import new_finding

    reference = load_reference(home)
    history = None
    notes = []
    if home.warehouse.exists():
        try:
            with connect(home, read_only=True) as connection:
                history = accepted_history(connection)
        except Exception as exc:  # a running pipeline holds the write lock: validate without history
            notes.append(f"history not used: the warehouse is busy ({str(exc).splitlines()[0][:80]})")
    findings, files = [], []
    for name in args.files:
        path = Path(name)
        if not path.is_file():
            findings.append(new_finding("file_unreadable", file=name, message="no such file"))
            continue
        parsed = read_return(path)
        files.append({"file": name, "rows": len(parsed.values)})
        findings += parsed.findings
        if parsed.readable:
            # Rows of other files do not count as history for this one.
            findings += validate_rows(parsed.values, parsed.text, reference, history, engine="pandas")
    if args.json:
        from dataclasses import asdict
        print(json.dumps({"files": files, "findings": [asdict(f) for f in findings], "notes": notes}, indent=2))
    else:
        for finding in findings:
            print(finding.one_line())
        for note in notes:
            print(f"note: {note}", file=sys.stderr)
        errors = sum(f.severity == ERROR for f in findings)
        print(f"{len(files)} file(s), {errors} error(s), {len(findings) - errors} warning(s)")
    return 1 if any(f.severity == ERROR for f in findings) else 0


def _run(args: argparse.Namespace, home: DataHome) -> int:
    from pipelines.orchestration.runner import run_months

    return run_months(home, [args.month] if args.month else None)


def _reference(args: argparse.Namespace, home: DataHome) -> int:
    from pipelines.reference import ReferenceError, import_reference

    status = 0
    for name in args.files:
        try:
            print(import_reference(Path(name), home))
        except (ReferenceError, OSError) as exc:
            print(f"{name}: {exc}" if isinstance(exc, OSError) else str(exc), file=sys.stderr)
            status = 1
    return status


def _demo(args: argparse.Namespace, home: DataHome) -> int:
    from pipelines.demo import write_demo_landing
    from pipelines.orchestration.runner import run_months
    from pipelines.reference import import_demo_reference

    if home.root.exists():
        shutil.rmtree(home.root)  # a fresh demo home every time
    home.ensure()
    for line in import_demo_reference(home):
        print(f"reference {line} (demo subset)")
    files = write_demo_landing(home.landing)
    print(f"landed {len(files)} SYNTHETIC demo returns in {home.landing}")
    return run_months(home, None)


def _waive(args: argparse.Namespace, home: DataHome) -> int:
    from pipelines.store.month import findings_matching
    from pipelines.store.waivers import waive_finding
    from pipelines.store.warehouse import connect
    from pipelines.validate.waivers import WaiverError

    if not home.warehouse.exists():
        print(f"no warehouse in {home.root}: run the pipeline first", file=sys.stderr)
        return 1
    with connect(home) as connection:
        matches = findings_matching(connection, args.rule, args.la_code, args.month, args.column)
        if matches.empty:
            print(f"no finding {args.rule} on {args.la_code} {args.month} [{args.column}] in the current return",
                  file=sys.stderr)
            return 1
        try:
            ids = [waive_finding(connection, finding, reason=args.reason, who=args.who)
                   for _, finding in matches.iterrows()]
        except WaiverError as exc:
            print(str(exc), file=sys.stderr)
            return 1
    print(f"waiver {', '.join(map(str, ids))} recorded for {args.rule} on {args.la_code} {args.month} [{args.column}]; "
          f"it applies from the next run: csc-returns run --month {args.month}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="csc-returns", description=__doc__)
    parser.add_argument("--home", help="data home (default: $CSC_HOME, else ./data)")
    commands = parser.add_subparsers(dest="command", required=True)

    validate = commands.add_parser("validate", help="check returns and print findings; exit 1 on any error")
    validate.add_argument("files", nargs="+", metavar="FILE")
    validate.add_argument("--json", action="store_true", help="print {files, findings} as JSON")
    validate.set_defaults(handler=_validate)

    run = commands.add_parser("run", help="run the pipeline for the months in <home>/landing")
    run.add_argument("--month", help="only this month, YYYY-MM")
    run.set_defaults(handler=_run)

    reference = commands.add_parser("reference", help="reference data")
    reference_commands = reference.add_subparsers(dest="reference_command", required=True)
    reference_import = reference_commands.add_parser("import", help="import the LA register or ONS populations")
    reference_import.add_argument("files", nargs="+", metavar="FILE")
    reference_import.set_defaults(handler=_reference)

    demo = commands.add_parser("demo", help="a fresh demo home with SYNTHETIC returns, and a full run")
    demo.set_defaults(handler=_demo)

    waive = commands.add_parser("waive", help="accept a warning or override an error, with a reason")
    waive.add_argument("--rule", required=True)
    waive.add_argument("--la-code", required=True)
    waive.add_argument("--month", required=True)
    waive.add_argument("--column", required=True)
    waive.add_argument("--reason", required=True)
    waive.add_argument("--who", required=True)
    waive.set_defaults(handler=_waive)
    return parser


def _catalogue_problems() -> int | None:
    """Check the indicator catalogue at start-up: one line per mistake and USAGE, before any work."""
    from pipelines.exit_codes import USAGE
    from schemas.catalogue import CatalogueError, load_catalogue

    try:
        load_catalogue()
    except CatalogueError as exc:
        print(f"the indicator catalogue {exc.path} is not valid ({len(exc.problems)} problem(s)):", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return USAGE
    return None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if (catalogue_problems := _catalogue_problems()) is not None:
        return catalogue_problems
    home = DataHome.resolve(args.home)
    os.environ["CSC_HOME"] = str(home.root)
    import duckdb

    try:
        return args.handler(args, home)
    except duckdb.IOException as exc:  # another process holds the warehouse's single write lock
        print(f"{home.warehouse}: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
