"""`csc-returns`: validate returns, run the pipeline, import reference data, run the demo."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import sys
from pathlib import Path

from pipelines.exit_codes import FINDINGS, LOCKED, OK, RUN_FAILED, USAGE
from pipelines.home import DataHome, environment


def _validate(args: argparse.Namespace, home: DataHome) -> int:
    from pipelines.ingest.readers import read_return
    from pipelines.reference import load_reference
    from pipelines.validate.rulebook import validate_rows
    from schemas.findings import ERROR
    from schemas.rules import new_finding

    reference = load_reference(home)
    history = None
    notes = []
    if home.warehouse.exists():  # read from the readers' snapshot: a running pipeline never blocks it
        from pipelines.store.month import accepted_history  # DuckDB: imported only when there is history
        from pipelines.store.warehouse import connect

        with connect(home, read_only=True) as connection:
            history = accepted_history(connection)
    findings, files = [], []
    for name in args.files:
        path = Path(name)
        if not path.is_file():
            findings.append(new_finding("file_unreadable", file=name, message="no such file"))
            continue
        parsed = read_return(path, home=home)
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
    return FINDINGS if any(f.severity == ERROR for f in findings) else OK


def _run(args: argparse.Namespace, home: DataHome) -> int:
    from pipelines.orchestration.progress import showing_progress
    from pipelines.orchestration.runner import UnknownMonth, run_months

    try:
        with showing_progress("months", quiet=args.quiet) as progress:
            summary = run_months(home, [args.month] if args.month else None, progress=progress)
    except UnknownMonth as exc:
        print(str(exc), file=sys.stderr)
        return USAGE
    return _say_run(summary, home, as_json=args.json)


def _say_run(summary, home: DataHome, as_json: bool = False) -> int:
    """A run's summary as text (stdout, failures on stderr) or JSON; its exit code."""
    if as_json:
        print(json.dumps(summary.as_json(), indent=2))
    else:
        out, err = summary.text(home.landing, home.publish)
        print("\n".join(out))
        if err:
            print("\n".join(err), file=sys.stderr)
    return summary.exit_code


def _reference(args: argparse.Namespace, home: DataHome) -> int:
    from pipelines.orchestration.progress import Progress, showing_progress
    from pipelines.reference import ReferenceError, import_reference

    said, problems = [], []  # printed once the progress display has finished
    with showing_progress("files", quiet=args.quiet) as progress:
        for done, name in enumerate(args.files):
            progress(Progress(done, len(args.files), Path(name).name, "reading"))
            outcome = "imported"
            try:
                said.append(import_reference(Path(name), home))
            except (ReferenceError, OSError) as exc:
                problems.append(f"{name}: {exc}" if isinstance(exc, OSError) else str(exc))
                outcome = "refused"
            progress(Progress(done + 1, len(args.files), Path(name).name, finished=outcome))
    for line in said:
        print(line)
    for line in problems:
        print(line, file=sys.stderr)
    return FINDINGS if problems else OK


def _demo(args: argparse.Namespace, home: DataHome) -> int:
    from pipelines.demo import write_demo_landing
    from pipelines.orchestration.progress import showing_progress
    from pipelines.orchestration.runner import run_months
    from pipelines.reference import import_demo_reference

    problem = _not_a_demo_home(home)
    if problem:
        print(f"{home.root}: {problem}; nothing deleted (give another --home, or an empty folder)", file=sys.stderr)
        return USAGE
    _empty_demo_home(home)  # a fresh demo home every time
    (home.root / DEMO_MARKER).write_text(
        "made by `csc-returns demo`: the next `demo` may empty this folder\n", encoding="utf-8"
    )
    home.ensure()
    for line in import_demo_reference(home):
        print(f"reference {line} (demo subset)")
    files = write_demo_landing(home.landing)
    print(f"landed {len(files)} SYNTHETIC demo returns in {home.landing}")
    with showing_progress("months") as progress:
        summary = run_months(home, None, progress=progress)
    status = _say_run(summary, home)
    return OK if status == FINDINGS else status  # the demo holds a return back on purpose


def _one_line(message: str, status: int = USAGE) -> int:
    print(message, file=sys.stderr)
    return status


def _month_argument(month: str | None) -> str | None:
    """None when `month` is absent or a month written YYYY-MM; else the one-line complaint."""
    from schemas.catalogue import PERIOD_PATTERN

    if month is None or re.fullmatch(PERIOD_PATTERN, month):
        return None
    return f"--month {month}: not a month written YYYY-MM"


def _unknown(connection, home: DataHome, month: str | None, la_code: str | None) -> str | None:
    """Why `month` or `la_code` names nothing in this data home, in one line; None when both are known."""
    from pipelines.reference import load_reference
    from pipelines.store.status import known_authorities, stored_months

    if month is not None:
        complaint = _month_argument(month)
        if complaint:
            return complaint
        months = stored_months(connection)
        if month not in months:
            held = f"stored: {months[0]} to {months[-1]}" if months else "no month is stored yet"
            return f"--month {month}: no returns stored for this month ({held})"
    if la_code is not None:
        register = load_reference(home).register
        known = known_authorities(connection) | (set(register["new_la_code"]) if register is not None else set())
        if la_code not in known:
            return f"--la-code {la_code}: not an authority on the register or in any stored return"
    return None


def _nothing_run(home: DataHome) -> str:
    return f"nothing has been run in {home.root} yet: no warehouse, no findings (csc-returns run)"


def _status(args: argparse.Namespace, home: DataHome) -> int:
    from pipelines.publish.files import released_at
    from pipelines.store.status import (
        WarehouseBusy,
        iso_utc,
        month_statuses,
        names_seen,
        pending_files,
        reading,
        stored_months,
    )

    complaint = _month_argument(args.month)
    if complaint:
        return _one_line(complaint)
    statuses, seen = [], {}
    if home.warehouse.exists():
        try:
            with reading(home) as connection:
                unknown = _unknown(connection, home, args.month, None)
                if unknown:
                    return _one_line(unknown)
                statuses = month_statuses(connection, [args.month] if args.month else stored_months(connection))
                seen = names_seen(connection)
        except WarehouseBusy as exc:
            return _one_line(str(exc), LOCKED)
    for month in statuses:
        month["released_at"] = iso_utc(released_at(home.publish, month["month"]))
    report = {"months": statuses, "pending_files": pending_files(home, seen)}
    if args.json:
        print(json.dumps(report, indent=2))
        return OK
    if not report["months"]:
        print(_nothing_run(home) if not home.warehouse.exists() else f"no returns stored in {home.root} yet")
    for month in report["months"]:
        print(
            f"{month['month']}: {month['received']} received, {month['accepted']} accepted, "
            f"{len(month['held_back'])} held back; validated {month['validated_at'] or 'not recorded'}, "
            f"released {month['released_at'] or 'not yet'}"
        )
        for held in month["held_back"]:
            print(f"  held back {held['la_code']}: {held['errors']} error(s), first: {held['first_error'] or ''}")
        for waiver in month["waivers"]:
            print(f"  {_waiver_line(waiver)}")
    if report["pending_files"]:
        print(f"landed, not yet run ({len(report['pending_files'])}): {', '.join(report['pending_files'])}")
    return OK


def _waiver_line(waiver: dict) -> str:
    """`waiver 3 open: rule E06000006 2024-06 [column] by who at when: "reason"` (+ its revocation)."""
    where = f"{waiver['rule']} {waiver['la_code']}{' ' + waiver['period'] if waiver.get('period') else ''}"
    column = f" [{waiver['column']}]" if waiver["column"] else " (no column)"
    line = (
        f"waiver {waiver['waiver_id']} {waiver['state']}: {where}{column} by {waiver['who']} "
        f'at {waiver["created_at"]}: "{waiver["reason"]}"'
    )
    if waiver["revoked_at"]:
        line += f'; revoked by {waiver["revoked_by"]} at {waiver["revoked_at"]}: "{waiver["revoked_reason"] or ""}"'
    return line


def _findings(args: argparse.Namespace, home: DataHome) -> int:
    import csv

    from pipelines.publish.ees import safe_text
    from pipelines.store.status import FINDINGS_EXPORT_COLUMNS, WarehouseBusy, findings_export, reading, records

    complaint = _month_argument(args.month)
    if complaint:
        return _one_line(complaint)
    if not home.warehouse.exists():
        print(_nothing_run(home), file=sys.stdout if args.format == "text" else sys.stderr)
        rows = []
    else:
        try:
            with reading(home) as connection:
                unknown = _unknown(connection, home, args.month, args.la_code)
                if unknown:
                    return _one_line(unknown)
                rows = records(findings_export(connection, args.month, args.la_code, args.severity))
        except WarehouseBusy as exc:
            return _one_line(str(exc), LOCKED)
    if args.format == "json":
        print(json.dumps(rows, indent=2))
    elif args.format == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=FINDINGS_EXPORT_COLUMNS)
        writer.writeheader()
        # A cell a spreadsheet would run as a formula (text sent by an authority) gets a leading apostrophe.
        writer.writerows(
            {key: safe_text(value) if isinstance(value, str) else value for key, value in row.items()} for row in rows
        )
    else:
        for row in rows:
            where = f"{row['file']}:{row['row']}" if row["row"] is not None else (row["file"] or "<no file>")
            cell = f" {row['cell']}" if row["cell"] else ""
            column = f" [{row['column']}]" if row["column"] else ""
            waived = f" (waived: {row['waiver_reason']})" if row["waived"] else ""
            print(f"{where}{cell} {row['authority']}{column} {row['severity']} {row['rule']}: {row['message']}{waived}")
        if home.warehouse.exists():
            print(f"{len(rows)} finding(s) for {args.month}")
    return OK


# `demo` empties only a folder it made itself: this file marks one.
DEMO_MARKER = ".csc-demo-home"


def _kept_by_demo(home: DataHome) -> set[str]:
    """What `demo` never deletes, not even in its own home: the writer lock it holds, and the home's
    Dagster instance (run history; `csc-returns dev` may have it open)."""
    from pipelines.home.lock import LOCK_FILE

    return {LOCK_FILE, home.instance.name}


def _not_a_demo_home(home: DataHome) -> str:
    """Why `demo` must not write into `home` (empty: it may)."""
    if not home.root.is_dir():
        return "not a folder" if home.root.exists() else ""
    if (home.root / DEMO_MARKER).is_file():
        return ""
    contents = sorted(p.name for p in home.root.iterdir() if p.name not in _kept_by_demo(home))
    if contents:
        return (
            f"not empty ({', '.join(contents[:3])}{', ...' if len(contents) > 3 else ''}) and not a demo "
            f"home made by `csc-returns demo`"
        )
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
    command = [
        sys.executable,
        "-m",
        "dagster",
        "dev",
        "-m",
        "pipelines.orchestration.definitions",
        "-h",
        args.host,
        "-p",
        str(args.port),
    ]
    print(f"Dagster UI for {home.root} (instance {env['DAGSTER_HOME']}) on http://{args.host}:{args.port}", flush=True)
    os.execve(sys.executable, command, env)
    return RUN_FAILED  # not reached: execve returns only by raising


def _waive(args: argparse.Namespace, home: DataHome) -> int:
    from pipelines.store.month import findings_matching
    from pipelines.store.status import finding_columns
    from pipelines.store.waivers import waive_finding
    from pipelines.store.warehouse import connect
    from pipelines.validate.waivers import WaiverError

    missing = [
        f"--{name.replace('_', '-')}"
        for name in ("rule", "la_code", "month", "reason", "who")
        if not getattr(args, name)
    ]
    if missing:
        return _one_line(f"waive needs {', '.join(missing)} (or: waive list, waive revoke ID)")
    if not home.warehouse.exists():
        return _one_line(f"no warehouse in {home.root}: run the pipeline first")
    column = f" [{args.column}]" if args.column else " (no column)"
    with connect(home) as connection:
        unknown = _unknown(connection, home, args.month, args.la_code)
        if unknown:
            return _one_line(unknown)
        matches = findings_matching(connection, args.rule, args.la_code, args.month, args.column)
        if matches.empty:
            others = finding_columns(connection, args.rule, args.la_code, args.month)
            hint = f": its columns are {', '.join(others)}; give --column" if others and not args.column else ""
            return _one_line(
                f"no finding {args.rule} on {args.la_code} {args.month}{column} in the current return{hint}"
            )
        try:
            ids = [
                waive_finding(connection, finding, reason=args.reason, who=args.who)
                for _, finding in matches.iterrows()
            ]
        except WaiverError as exc:
            return _one_line(str(exc))
    print(
        f"waiver {', '.join(map(str, ids))} recorded for {args.rule} on {args.la_code} {args.month}{column}; "
        f"it applies from the next run: csc-returns run --month {args.month}"
    )
    return OK


def _waive_list(args: argparse.Namespace, home: DataHome) -> int:
    from pipelines.store.status import WarehouseBusy, reading, records, waiver_history

    complaint = _month_argument(args.month)
    if complaint:
        return _one_line(complaint)
    waivers = []
    if home.warehouse.exists():
        try:
            with reading(home) as connection:
                unknown = _unknown(connection, home, args.month, args.la_code)
                if unknown:
                    return _one_line(unknown)
                waivers = records(waiver_history(connection, [args.month] if args.month else None, args.la_code))
        except WarehouseBusy as exc:
            return _one_line(str(exc), LOCKED)
    if args.json:
        print(json.dumps(waivers, indent=2))
        return OK
    for waiver in waivers:
        print(_waiver_line(waiver))
    print(f"{sum(w['state'] == 'open' for w in waivers)} open, {sum(w['state'] != 'open' for w in waivers)} revoked")
    return OK


def _waive_revoke(args: argparse.Namespace, home: DataHome) -> int:
    from pipelines.store.status import iso_utc
    from pipelines.store.waivers import WaiverError, revoke_waiver, waiver_record
    from pipelines.store.warehouse import connect

    if not home.warehouse.exists():
        return _one_line(f"no waiver {args.waiver_id}: nothing has been run in {home.root} yet")
    with connect(home) as connection:
        record = waiver_record(connection, args.waiver_id)
        if record is None:
            return _one_line(f"no waiver {args.waiver_id} (csc-returns waive list shows them)")
        if record["revoked_at"] is not None and not _missing(record["revoked_at"]):
            return _one_line(
                f"waiver {args.waiver_id} was already revoked by {record['revoked_by']} "
                f"at {iso_utc(record['revoked_at'])}"
            )
        try:
            revoke_waiver(connection, args.waiver_id, who=args.who, reason=args.reason)
        except WaiverError as exc:
            return _one_line(str(exc))
    print(
        f"waiver {args.waiver_id} revoked ({record['rule']} on {record['la_code']} {record['period']}); "
        f"it stops applying from the next run: csc-returns run --month {record['period']}"
    )
    return OK


def _missing(value: object) -> bool:
    import pandas as pd

    return value is None or bool(pd.isna(value))


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
    run.add_argument("--json", action="store_true", help="print the run's summary as JSON (docs/operations.md)")
    run.add_argument("--quiet", action="store_true", help="no progress (bar or lines) on standard error")
    run.set_defaults(handler=_run, writer=True)

    reference = commands.add_parser("reference", help="reference data")
    reference_commands = reference.add_subparsers(dest="reference_command", required=True)
    reference_import = reference_commands.add_parser("import", help="import the LA register or ONS populations")
    reference_import.add_argument("files", nargs="+", metavar="FILE")
    reference_import.add_argument("--quiet", action="store_true", help="no progress on standard error")
    reference_import.set_defaults(handler=_reference, writer=True)

    demo = commands.add_parser("demo", help="a fresh demo home with SYNTHETIC returns, and a full run")
    demo.set_defaults(handler=_demo, writer=True)

    dev = commands.add_parser("dev", help="open the Dagster UI on this home's own instance (<home>/.dagster)")
    dev.add_argument("--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1)")
    dev.add_argument("--port", type=int, default=3000, help="port to serve on (default 3000)")
    dev.set_defaults(handler=_dev)

    waive = commands.add_parser(
        "waive",
        help="accept a warning or override an error, with a reason; list and revoke waivers",
        description="Grant a waiver (the options below), or `waive list` / `waive revoke ID`.",
    )
    waive.add_argument("--rule")
    waive.add_argument("--la-code")
    waive.add_argument("--month")
    waive.add_argument("--column", help="the finding's column; leave out for a finding with no column")
    waive.add_argument("--reason")
    waive.add_argument("--who")
    waive.set_defaults(handler=_waive, writer=True)
    waive_commands = waive.add_subparsers(dest="waive_command")
    waive_list = waive_commands.add_parser("list", help="every waiver, open and revoked, with who, when and why")
    waive_list.add_argument("--month", help="only this month, YYYY-MM")
    waive_list.add_argument("--la-code", help="only this authority")
    waive_list.add_argument("--json", action="store_true")
    waive_list.set_defaults(handler=_waive_list, writer=False)
    waive_revoke = waive_commands.add_parser("revoke", help="stop a waiver applying; it stays on the record")
    waive_revoke.add_argument("waiver_id", type=int, metavar="ID")
    waive_revoke.add_argument("--reason", required=True)
    waive_revoke.add_argument("--who", required=True)
    waive_revoke.set_defaults(handler=_waive_revoke, writer=True)

    status = commands.add_parser(
        "status",
        help="per month: received, accepted, held back, waivers, validated and released; files landed and not yet run",
    )
    status.add_argument("--month", help="only this month, YYYY-MM")
    status.add_argument("--json", action="store_true", help="the stable JSON form (docs/operations.md)")
    status.set_defaults(handler=_status)

    findings = commands.add_parser("findings", help="a month's stored findings, for a spreadsheet (--format csv)")
    findings.add_argument("--month", required=True, help="YYYY-MM")
    findings.add_argument("--la-code", help="only this authority")
    findings.add_argument("--severity", choices=["error", "warning"])
    findings.add_argument("--format", choices=["text", "csv", "json"], default="text")
    findings.set_defaults(handler=_findings)
    _add_wait_option(parser)
    return parser


def _add_wait_option(parser: argparse.ArgumentParser) -> None:
    """`--wait SECONDS` on every subcommand that writes the data home (`set_defaults(writer=True)`)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for subparser in action.choices.values():
                _add_wait_option(subparser)
    if parser.get_default("writer") and parser.get_default("handler"):
        parser.add_argument(
            "--wait",
            type=float,
            metavar="SECONDS",
            default=None,
            help="how long to wait for another writer of the home before giving up with exit 75 "
            "(default $CSC_LOCK_TIMEOUT, else 3600)",
        )


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
    # The edge: the environment is read here once and handed on as values (pipelines/home/environment.py).
    environment.use_catalogue_from(environment.current())
    if (catalogue_problems := _catalogue_problems()) is not None:
        return catalogue_problems
    home = DataHome.resolve(environment.home_path(args.home, environment.current()))
    try:
        if getattr(args, "writer", False):
            return _as_the_writer(args, home)
        return args.handler(args, home)
    except Exception as exc:
        # DuckDB is imported only by commands that open the warehouse (not `validate` of a new home).
        duckdb = sys.modules.get("duckdb")
        if duckdb is not None and isinstance(
            exc, duckdb.IOException
        ):  # a process outside the pipeline holds its write lock
            print(f"{home.warehouse}: {str(exc).splitlines()[0]}", file=sys.stderr)
            return LOCKED
        raise


def _as_the_writer(args: argparse.Namespace, home: DataHome) -> int:
    """Run a writing subcommand holding the home's writer lock: one writer at a time (docs/operations.md)."""
    from pipelines.home.lock import WriterLockTimeout, writer_lock

    with contextlib.ExitStack() as held:
        try:
            held.enter_context(writer_lock(home, timeout=args.wait))
        except WriterLockTimeout as exc:
            print(str(exc), file=sys.stderr)
            return LOCKED
        except OSError as exc:  # the home cannot be made (a file of that name, no permission)
            print(f"{home.root}: {exc.strerror or exc}", file=sys.stderr)
            return USAGE
        return args.handler(args, home)


if __name__ == "__main__":
    sys.exit(main())
