"""A steward's commands: `status`, `findings`, `waive`, `waive list` and `waive revoke`.

They call `pipelines.steps.steward`, each handler importing it when it runs: the steps load DuckDB
and the store, and the parser is built from every command group, so importing them here would give
`validate` on a new home DuckDB's start-up (tests/test_cli.py holds that it imports none).
"""

from __future__ import annotations

import argparse
import csv
import functools
import json
import sys

from pipelines.cli.common import Commands, Handler, command, say, show, writing_command
from pipelines.exit_codes import LOCKED, OK
from pipelines.home import DataHome

# The options `waive` needs to grant a waiver (its subcommands `list` and `revoke` need none of them).
WAIVE_NEEDS = ("rule", "la_code", "month", "reason", "who")


def add_status(commands: Commands) -> None:
    status = command(
        commands,
        "status",
        _refused_in_one_line(_status),
        help="per month: received, accepted, held back, waivers, validated and released; files landed and not yet run",
    )
    status.add_argument("--month", help="only this month, YYYY-MM")
    status.add_argument("--json", action="store_true", help="the stable JSON form (docs/operations.md)")


def add_findings(commands: Commands) -> None:
    findings = command(
        commands,
        "findings",
        _refused_in_one_line(_findings),
        help="a month's stored findings, for a spreadsheet (--format csv)",
    )
    findings.add_argument("--month", required=True, help="YYYY-MM")
    findings.add_argument("--la-code", help="only this authority")
    findings.add_argument("--severity", choices=["error", "warning"])
    findings.add_argument("--format", choices=["text", "csv", "json"], default="text")
    findings.add_argument(
        "--explain",
        action="store_true",
        help="for each difference from child-level records: the pseudonyms of the children counted in the derived figure",
    )


def add_waive(commands: Commands) -> None:
    waive = writing_command(
        commands,
        "waive",
        _refused_in_one_line(_waive),
        help="accept a warning or override an error, with a reason; list and revoke waivers",
        description="Grant a waiver (the options below), or `waive list` / `waive revoke ID`.",
    )
    waive.add_argument("--rule")
    waive.add_argument("--la-code")
    waive.add_argument("--month")
    waive.add_argument("--column", help="the finding's column; leave out for a finding with no column")
    waive.add_argument("--reason")
    waive.add_argument("--who")
    waive_commands = waive.add_subparsers(dest="waive_command")
    waive_list = command(
        waive_commands,
        "list",
        _refused_in_one_line(_waive_list),
        help="every waiver, open and revoked, with who, when and why",
    )
    waive_list.add_argument("--month", help="only this month, YYYY-MM")
    waive_list.add_argument("--la-code", help="only this authority")
    waive_list.add_argument("--json", action="store_true")
    waive_revoke = writing_command(
        waive_commands,
        "revoke",
        _refused_in_one_line(_waive_revoke),
        help="stop a waiver applying; it stays on the record",
    )
    waive_revoke.add_argument("waiver_id", type=int, metavar="ID")
    waive_revoke.add_argument("--reason", required=True)
    waive_revoke.add_argument("--who", required=True)


def _refused_in_one_line(handler: Handler) -> Handler:
    """`handler` with the steward steps' refusals said in one line: a request naming what the home
    does not hold (exit 2), or a warehouse held by a program outside the pipeline (exit 75)."""

    @functools.wraps(handler)
    def handle(args: argparse.Namespace, home: DataHome) -> int:
        from pipelines.steps.steward import RequestRefused, WarehouseBusy

        try:
            return handler(args, home)
        except RequestRefused as exc:
            return say(str(exc))
        except WarehouseBusy as exc:
            return say(str(exc), LOCKED)

    return handle


def add_private(commands: Commands) -> None:
    command(
        commands,
        "private",
        _private,
        help="make an existing data home private: files 0600, folders 0700 (publish/ as $CSC_PUBLISH_MODE)",
    )


def _private(args: argparse.Namespace, home: DataHome) -> int:
    from pipelines.home.privacy import make_private

    if not home.root.exists():
        return say(f"no data home at {home.root}")
    changed = make_private(home)
    show(f"{home.root} is private: {changed} file and folder mode(s) changed")
    return OK


def _warn_if_exposed(home: DataHome) -> None:
    """One line on standard error when others can read the home (a home made before it was private by default)."""
    from pipelines.home.privacy import exposed

    found = exposed(home)
    if found:
        show(
            f"warning: {home.root} is readable by others ({len(found)} file(s) or folder(s), first: {found[0]}): "
            "run `csc-returns private`",
            file=sys.stderr,
        )


def _status(args: argparse.Namespace, home: DataHome) -> int:
    from pipelines.steps import steward

    _warn_if_exposed(home)
    report = steward.month_status(home, args.month)
    if args.json:
        print(json.dumps(report, indent=2))
        return OK
    if not report["months"]:
        show(_nothing_run(steward.nothing_run_yet(home)) or f"no returns stored in {home.root} yet")
    for month in report["months"]:
        show(
            f"{month['month']}: {month['received']} received, {month['accepted']} accepted, "
            f"{len(month['held_back'])} held back; validated {month['validated_at'] or 'not recorded'}, "
            f"released {month['released_at'] or 'not yet'}"
        )
        for held in month["held_back"]:
            show(f"  held back {held['la_code']}: {held['errors']} error(s), first: {held['first_error'] or ''}")
        for waiver in month["waivers"]:
            show(f"  {_waiver_line(waiver)}")
    if report["pending_files"]:
        show(f"landed, not yet run ({len(report['pending_files'])}): {', '.join(report['pending_files'])}")
    return OK


def _findings(args: argparse.Namespace, home: DataHome) -> int:
    from pipelines.steps import steward

    if args.explain:
        return _explain(args, home)
    rows = steward.findings(home, args.month, args.la_code, args.severity)
    nothing_run = _nothing_run(steward.nothing_run_yet(home))
    if nothing_run:  # said beside the rows a script reads, not in them
        show(nothing_run, file=sys.stdout if args.format == "text" else sys.stderr)
    if args.format == "json":
        print(json.dumps(rows, indent=2))
    elif args.format == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=steward.FINDINGS_EXPORT_COLUMNS)
        writer.writeheader()
        writer.writerows(steward.spreadsheet_safe(rows))
    else:
        for row in rows:
            where = f"{row['file']}:{row['row']}" if row["row"] is not None else (row["file"] or "<no file>")
            cell = f" {row['cell']}" if row["cell"] else ""
            column = f" [{row['column']}]" if row["column"] else ""
            waived = f" (waived: {row['waiver_reason']})" if row["waived"] else ""
            show(f"{where}{cell} {row['authority']}{column} {row['severity']} {row['rule']}: {row['message']}{waived}")
        if not nothing_run:
            show(f"{len(rows)} finding(s) for {args.month}")
    return OK


def _explain(args: argparse.Namespace, home: DataHome) -> int:
    """`findings --explain`: the children behind each reconciliation difference, to the steward only
    (standard output; never logged or stored): text, or `--format json`."""
    from pipelines.steps import steward

    if args.format == "csv":
        return say("findings --explain gives text or --format json, not csv")
    explained = steward.explain(home, args.month, args.la_code)
    if args.format == "json":
        print(json.dumps(explained, indent=2))
        return OK
    for record in explained:
        where = f"{record['la_code']} {record['period']} [{record['figure']}]"
        show(
            f"{where}: typed {record['typed']}, derived {record['derived']} "
            f"(extract of {record['extract_date']}, {record['workbook'] or 'workbook not kept'}): "
            f"{len(record['children'])} child(ren) counted in the derived figure"
        )
        if record["note"]:
            show(f"  {record['note']}")
        for child in record["children"]:
            show(f"  {child['pseudonym']}  list {child['list']}  {', '.join(child['rows'])}")
        if record["left_out"]:
            show(f"  left out of the derived figure ({len(record['left_out'])}), though their episode had started:")
        for child in record["left_out"]:
            show(f"  {child['pseudonym']}  list {child['list']}  {', '.join(child['rows'])}  ({child['why']})")
    show(
        f"{len(explained)} difference(s) from child-level records for {args.month}"
        + ("; csc-returns child-lookup --pseudonym P (the home's owner) finds a child's ID" if explained else "")
    )
    return OK


def _waive(args: argparse.Namespace, home: DataHome) -> int:
    from pipelines.steps import steward

    missing = [f"--{name.replace('_', '-')}" for name in WAIVE_NEEDS if not getattr(args, name)]
    if missing:
        return say(f"waive needs {', '.join(missing)} (or: waive list, waive revoke ID)")
    ids = steward.waive(home, args.rule, args.la_code, args.month, args.column, reason=args.reason, who=args.who)
    show(
        f"waiver {', '.join(map(str, ids))} recorded for "
        f"{steward.finding_named(args.rule, args.la_code, args.month, args.column)}; "
        f"it applies from the next run: csc-returns run --month {args.month}"
    )
    return OK


def _waive_list(args: argparse.Namespace, home: DataHome) -> int:
    from pipelines.steps import steward

    waivers = steward.waivers(home, args.month, args.la_code)
    if args.json:
        print(json.dumps(waivers, indent=2))
        return OK
    for waiver in waivers:
        show(_waiver_line(waiver))
    show(f"{sum(w['state'] == 'open' for w in waivers)} open, {sum(w['state'] != 'open' for w in waivers)} revoked")
    return OK


def _waive_revoke(args: argparse.Namespace, home: DataHome) -> int:
    from pipelines.steps import steward

    record = steward.revoke(home, args.waiver_id, who=args.who, reason=args.reason)
    show(
        f"waiver {args.waiver_id} revoked ({record['rule']} on {record['la_code']} {record['period']}); "
        f"it stops applying from the next run: csc-returns run --month {record['period']}"
    )
    return OK


def _nothing_run(nothing_run_yet: str | None) -> str | None:
    """The line `status` and `findings` print for a home with no warehouse yet."""
    return f"{nothing_run_yet}: no warehouse, no findings (csc-returns run)" if nothing_run_yet else None


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
