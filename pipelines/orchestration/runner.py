"""Runs the monthly job in-process against the data home's own Dagster instance, so CLI runs show in its UI."""
from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from pipelines.home import DataHome

# The instance configuration every data home starts from (package data: installed copies have it too).
INSTANCE_TEMPLATE = Path(__file__).with_name("dagster.yaml")
# The CLI prints its own summary; step logs stay in the instance for the UI.
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def instance_home(home: DataHome) -> Path:
    """The folder of the Dagster instance that records `home`'s runs: $DAGSTER_HOME when set,
    else `<home>/.dagster/`, given the project's dagster.yaml the first time (an edited copy is kept)."""
    if os.environ.get("DAGSTER_HOME"):
        return Path(os.environ["DAGSTER_HOME"]).resolve()
    folder = home.instance
    config = folder / "dagster.yaml"
    if not config.exists():
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f".dagster.yaml.{os.getpid()}.partial"
        partial.write_text(INSTANCE_TEMPLATE.read_text(encoding="utf-8"), encoding="utf-8")
        os.replace(partial, config)
    return folder


@contextlib.contextmanager
def project_instance(home: DataHome | None = None) -> Iterator["DagsterInstance"]:  # noqa: F821
    """The instance `csc-returns dev` shows for `home` (default: $CSC_HOME, else ./data): see `instance_home`.

    Storage paths left at Dagster's defaults resolve inside the instance folder, whatever the
    working directory.
    """
    from dagster import DagsterInstance

    with DagsterInstance.from_config(str(instance_home(home or DataHome.resolve()))) as instance:
        yield instance


def months_in_landing(home: DataHome) -> tuple[list[str], dict[str, list[str]]]:
    """Archive what has landed; (months that can run, {month that cannot: its files})."""
    from pipelines.orchestration.partitions import MONTHS, releasable
    from pipelines.steps import archive_landing

    valid = set(MONTHS.get_partition_keys())
    runnable, outside = set(), {}
    for archived in archive_landing(home):
        months, others = releasable(archived.periods, valid)
        runnable.update(months)
        for period in others:
            outside.setdefault(period, []).append(archived.file_name)
    return sorted(runnable), outside


def run_months(home: DataHome, months: list[str] | None) -> int:
    from pipelines.orchestration.definitions import defs
    from pipelines.orchestration.partitions import MONTHS

    valid = MONTHS.get_partition_keys()
    if months is None:
        wanted, outside = months_in_landing(home)
    else:
        wanted, outside = months, {}
        for month in months:
            if month not in valid:
                print(f"--month {month}: not a completed month from {valid[0]} to {valid[-1]}", file=sys.stderr)
                return 1
    for month, files in sorted(outside.items()):
        # A month that has not ended (or predates the series) cannot be released: say so, never drop silently.
        print(f"not processed: {month} in {', '.join(sorted(set(files)))} is not a completed month "
              f"from {valid[0]} to {valid[-1]}")
    unreadable = _unreadable_files(home)
    if not wanted:
        print(f"no returns for a completed month in {home.landing}")
        _print_unreadable(unreadable)
        return 1 if unreadable else 0
    job = defs.resolve_job_def("monthly_release")
    failed_runs = []
    with project_instance(home) as instance:
        for month in wanted:
            result = job.execute_in_process(partition_key=month, instance=instance, raise_on_error=False,
                                            run_config=QUIET)
            if not result.success:
                failed_runs.append(f"{month} ({_first_failure(result)})")
    failed_months = {f[:7] for f in failed_runs}
    published = [m for m in wanted if m not in failed_months]
    print(f"published {len(published)} month(s) to {home.publish}: {_span(published)}")
    held = _held_back(home, wanted)
    print(f"held back {len(held)} return(s):" if held else "held back: none")
    for line in held:
        print(f"  {line}")
    _print_unreadable(unreadable)
    if failed_runs:
        print(f"{len(failed_runs)} run(s) failed; step logs are in the Dagster UI (make dev):", file=sys.stderr)
        for failure in failed_runs:
            print(f"  {failure}", file=sys.stderr)
    return 1 if failed_runs else 0


def _held_back(home: DataHome, months: list[str]) -> list[str]:
    """`2024-06 E06000006: 1 error(s), first: ...` for each return of `months` held back."""
    from pipelines.store.month import month_findings, month_returns
    from pipelines.store.warehouse import connect
    from pipelines.validate.month import HELD_BACK
    from pipelines.validate.waivers import unwaived_errors

    with connect(home) as connection:
        returns = month_returns(connection, months)
        errors = unwaived_errors(month_findings(connection, months))
    first = errors.sort_values(["row", "column"], kind="stable").groupby(["period", "la_code"])["message"].first()
    counts = errors.groupby(["period", "la_code"]).size()
    held = returns[returns["status"] == HELD_BACK]
    return [f"{period} {la_code}: {counts.get((period, la_code), n)} error(s), first: "
            f"{first.get((period, la_code), '')}"
            for period, la_code, n in zip(held["period"], held["la_code"], held["errors"])]


def _first_failure(result) -> str:
    for event in result.all_events:
        if event.is_step_failure:
            error = event.event_specific_data.error
            cause = error.cause or error
            return f"{event.step_key}: {cause.message.strip().splitlines()[0][:200]}"
    return "see the Dagster UI"


def _span(months: list[str]) -> str:
    if not months:
        return "none"
    return months[0] if len(months) == 1 else f"{months[0]} to {months[-1]}"


def _unreadable_files(home: DataHome) -> list[str]:
    """File-level errors of the files in the landing folder now (not of every file ever received)."""
    from pipelines.ingest.arrivals import landed_files
    from pipelines.store.received import file_errors
    from pipelines.store.warehouse import connect

    names = [path.name for path in landed_files(home)]
    with connect(home) as connection:
        rows = file_errors(connection, names)
    return [f"{f}{':' + str(r) if r else ''}{' [' + c + ']' if c else ''}: {m}" for f, r, c, m in rows]


def _print_unreadable(lines: list[str]) -> None:
    if lines:
        print(f"files or rows that could not be placed in a month ({len(lines)}):")
        for line in lines:
            print(f"  {line}")
