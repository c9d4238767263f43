"""`csc-returns`: validate returns, run the pipeline, import reference data, run the demo."""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
from pathlib import Path

from pipelines import exit_codes
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
    if home.warehouse.exists():  # read from the readers' snapshot: a running pipeline never blocks it
        with connect(home, read_only=True) as connection:
            history = accepted_history(connection)
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

    problem = _not_a_demo_home(home)
    if problem:
        print(f"{home.root}: {problem}; nothing deleted (give another --home, or an empty folder)", file=sys.stderr)
        return exit_codes.USAGE
    _empty_demo_home(home)  # a fresh demo home every time
    (home.root / DEMO_MARKER).write_text("made by `csc-returns demo`: the next `demo` may empty this folder\n",
                                         encoding="utf-8")
    home.ensure()
    for line in import_demo_reference(home):
        print(f"reference {line} (demo subset)")
    files = write_demo_landing(home.landing)
    print(f"landed {len(files)} SYNTHETIC demo returns in {home.landing}")
    return run_months(home, None)


# `demo` empties only a folder it made itself: this file marks one.
DEMO_MARKER = ".csc-demo-home"


def _kept_by_demo(home: DataHome) -> set[str]:
    """What `demo` never deletes, not even in its own home: the writer lock it holds, and the home's
    Dagster instance (run history; `csc-returns dev` may have it open)."""
    from pipelines.lock import LOCK_FILE

    return {LOCK_FILE, home.instance.name}


def _not_a_demo_home(home: DataHome) -> str:
    """Why `demo` must not write into `home` (empty: it may)."""
    if not home.root.is_dir():
        return "not a folder" if home.root.exists() else ""
    if (home.root / DEMO_MARKER).is_file():
        return ""
    contents = sorted(p.name for p in home.root.iterdir() if p.name not in _kept_by_demo(home))
    if contents:
        return (f"not empty ({', '.join(contents[:3])}{', ...' if len(contents) > 3 else ''}) and not a demo "
                f"home made by `csc-returns demo`")
    return ""


def _empty_demo_home(home: DataHome) -> None:
    """Everything `demo` made in its home, for a fresh one."""
    home.root.mkdir(parents=True, exist_ok=True)
    for path in home.root.iterdir():
        if path.name in _kept_by_demo(home):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


def _dev(args: argparse.Namespace, home: DataHome) -> int:
    """Replace this process with `dagster dev` on the home's own instance (see runner.instance_home)."""
    from pipelines.orchestration.runner import instance_home

    env = {**os.environ, "CSC_HOME": str(home.root), "DAGSTER_HOME": str(instance_home(home))}
    command = [sys.executable, "-m", "dagster", "dev", "-m", "pipelines.orchestration.definitions",
               "-h", args.host, "-p", str(args.port)]
    print(f"Dagster UI for {home.root} (instance {env['DAGSTER_HOME']}) on http://{args.host}:{args.port}",
          flush=True)
    os.execve(sys.executable, command, env)
    return exit_codes.RUN_FAILED  # not reached: execve returns only by raising


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
    run.set_defaults(handler=_run, writer=True)

    reference = commands.add_parser("reference", help="reference data")
    reference_commands = reference.add_subparsers(dest="reference_command", required=True)
    reference_import = reference_commands.add_parser("import", help="import the LA register or ONS populations")
    reference_import.add_argument("files", nargs="+", metavar="FILE")
    reference_import.set_defaults(handler=_reference, writer=True)

    demo = commands.add_parser("demo", help="a fresh demo home with SYNTHETIC returns, and a full run")
    demo.set_defaults(handler=_demo, writer=True)

    dev = commands.add_parser("dev", help="open the Dagster UI on this home's own instance (<home>/.dagster)")
    dev.add_argument("--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1)")
    dev.add_argument("--port", type=int, default=3000, help="port to serve on (default 3000)")
    dev.set_defaults(handler=_dev)

    waive = commands.add_parser("waive", help="accept a warning or override an error, with a reason")
    waive.add_argument("--rule", required=True)
    waive.add_argument("--la-code", required=True)
    waive.add_argument("--month", required=True)
    waive.add_argument("--column", required=True)
    waive.add_argument("--reason", required=True)
    waive.add_argument("--who", required=True)
    waive.set_defaults(handler=_waive, writer=True)
    _add_wait_option(parser)
    return parser


def _add_wait_option(parser: argparse.ArgumentParser) -> None:
    """`--wait SECONDS` on every subcommand that writes the data home (`set_defaults(writer=True)`)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for subparser in action.choices.values():
                _add_wait_option(subparser)
    if parser.get_default("writer") and parser.get_default("handler"):
        parser.add_argument("--wait", type=float, metavar="SECONDS", default=None,
                            help="how long to wait for another writer of the home before giving up with exit 75 "
                                 "(default $CSC_LOCK_TIMEOUT, else 3600)")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    home = DataHome.resolve(args.home)
    os.environ["CSC_HOME"] = str(home.root)
    import duckdb

    try:
        if getattr(args, "writer", False):
            return _as_the_writer(args, home)
        return args.handler(args, home)
    except duckdb.IOException as exc:  # a process outside the pipeline holds the warehouse's write lock
        print(f"{home.warehouse}: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1


def _as_the_writer(args: argparse.Namespace, home: DataHome) -> int:
    """Run a writing subcommand holding the home's writer lock: one writer at a time (docs/operations.md)."""
    from pipelines.lock import WriterLockTimeout, writer_lock

    with contextlib.ExitStack() as held:
        try:
            held.enter_context(writer_lock(home, timeout=args.wait))
        except WriterLockTimeout as exc:
            print(str(exc), file=sys.stderr)
            return exit_codes.LOCKED
        except OSError as exc:  # the home cannot be made (a file of that name, no permission)
            print(f"{home.root}: {exc.strerror or exc}", file=sys.stderr)
            return exit_codes.USAGE
        return args.handler(args, home)


if __name__ == "__main__":
    sys.exit(main())
