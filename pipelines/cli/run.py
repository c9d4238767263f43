"""`csc-returns run`, `demo` and `dev`: the pipeline over a data home, a demo home, the Dagster UI
(with the home's reports served beside it).

The runner is imported by the handlers that use it, not here: it loads Dagster (about a second),
which no other command should pay for.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
from typing import TYPE_CHECKING

from pipelines.cli.common import Commands, command, day, say, show, writing_command
from pipelines.demo import write_demo_landing
from pipelines.demo.safety import NotADemoHome, fresh_demo_home
from pipelines.exit_codes import FINDINGS, OK, RUN_FAILED
from pipelines.home import DataHome, environment
from pipelines.orchestration.progress import showing_progress
from pipelines.steps.reference import import_demo_reference

if TYPE_CHECKING:
    from pipelines.orchestration.runner import RunSummary


def add_run(commands: Commands) -> None:
    run = writing_command(commands, "run", _run, help="run the pipeline for the months in <home>/landing")
    run.add_argument("--month", help="only this month, YYYY-MM")
    run.add_argument("--json", action="store_true", help="print the run's summary as JSON (docs/operations.md)")
    run.add_argument("--quiet", action="store_true", help="no progress (bar or lines) on standard error")
    run.add_argument(
        "--la-code",
        help="the authority of a landed child-level (Annex A) workbook that states it neither on a front sheet nor in its name",
    )
    run.add_argument(
        "--extract-date",
        type=day,
        metavar="YYYY-MM-DD",
        help="the extract date of a landed child-level workbook that states it neither on a front sheet nor in its name",
    )


def add_demo(commands: Commands) -> None:
    writing_command(commands, "demo", _demo, help="a fresh demo home with SYNTHETIC returns, and a full run")


def add_dev(commands: Commands) -> None:
    dev = command(commands, "dev", _dev, help="open the Dagster UI on this home's own instance (<home>/.dagster)")
    dev.add_argument("--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1)")
    dev.add_argument("--port", type=int, default=3000, help="port to serve on (default 3000)")
    dev.add_argument(
        "--reports-port", type=int, default=3001, help="port the home's reports are served on (default 3001)"
    )


def _run(args: argparse.Namespace, home: DataHome) -> int:
    from pipelines.orchestration.runner import UnknownMonth, run_months

    if args.la_code or args.extract_date:
        from pipelines.steps.child_level import state_landed_workbooks

        home.ensure()
        for name in state_landed_workbooks(home, args.la_code, args.extract_date):
            show(f"{name}: authority {args.la_code or 'as stated'}, extract date {args.extract_date or 'as stated'}")
    try:
        with showing_progress("months", quiet=args.quiet) as progress:
            summary = run_months(home, [args.month] if args.month else None, progress=progress)
    except UnknownMonth as exc:
        return say(str(exc))
    return _say_run(summary, home, as_json=args.json)


def _demo(args: argparse.Namespace, home: DataHome) -> int:
    from pipelines.orchestration.runner import run_months
    from pipelines.steps.child_level import reconciliation_lines

    try:
        fresh_demo_home(home)  # a fresh demo home every time, never over data it did not make
    except NotADemoHome as exc:
        return say(str(exc))
    for line in import_demo_reference(home):
        show(f"reference {line} (demo subset)")
    files = write_demo_landing(home.landing, annex_a=True)
    show(f"landed {len(files) - 1} SYNTHETIC demo returns and 1 SYNTHETIC Annex A workbook in {home.landing}")
    with showing_progress("months") as progress:
        summary = run_months(home, None, progress=progress)
    status = _say_run(summary, home)
    for line in reconciliation_lines(home):
        print(line)
    return OK if status == FINDINGS else status  # the demo holds a return back on purpose


def _say_run(summary: RunSummary, home: DataHome, as_json: bool = False) -> int:
    """A run's summary as text (standard output; failures on standard error) or JSON; its exit code."""
    if as_json:
        print(json.dumps(summary.as_json(), indent=2))
    else:
        out, err = summary.text(home.landing, home.publish)
        for line in out:
            show(line)
        for line in err:
            show(line, file=sys.stderr)
    return summary.exit_code


def _dev(args: argparse.Namespace, home: DataHome) -> int:
    """`dagster dev` on the home's own instance (see runner.instance_home), with the home's reports
    served beside it on a port of their own (`csc-returns serve`), until it is stopped.

    The home, the instance and the URLs of the reports and the UI reach that other program the one
    way they can: its environment (a URL already configured is kept, as behind a proxy).
    """
    from pipelines.orchestration.launcher import CODE_ROOT
    from pipelines.orchestration.runner import dagster_environment
    from pipelines.steps.reports import serving

    env = dagster_environment(home)
    ui_url = f"http://{_url_host(args.host)}:{args.port}"
    with serving(home.ensure().reports, args.host, args.reports_port) as server:
        reports_url = f"http://{_url_host(args.host)}:{server.server_address[1]}"
        env[environment.REPORTS_URL] = env.get(environment.REPORTS_URL) or reports_url
        env[environment.UI_URL] = env.get(environment.UI_URL) or ui_url
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
        show(f"Dagster UI for {home.root} (instance {env['DAGSTER_HOME']}) on {ui_url}", flush=True)
        show(
            f"reports of {home.root} on {reports_url}/ (linked from the UI as {env[environment.REPORTS_URL]})",
            flush=True,
        )
        ui = subprocess.Popen(command, env=env, cwd=CODE_ROOT)
        # SIGTERM stops the UI as Ctrl-C does; a Ctrl-C reaches the UI's process group itself.
        signal.signal(signal.SIGTERM, lambda *_: ui.send_signal(signal.SIGINT))
        while True:
            try:
                return OK if ui.wait() in (0, -signal.SIGINT) else RUN_FAILED
            except KeyboardInterrupt:
                continue  # the UI got the same Ctrl-C: wait for it to stop


def _url_host(host: str) -> str:
    """The host as a URL names it (an IPv6 address in brackets; all interfaces as the loopback)."""
    if host in ("0.0.0.0", "::", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host
