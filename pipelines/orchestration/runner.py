"""Runs the monthly job in-process against the project's Dagster instance, so CLI runs show in the UI."""
from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from pipelines.home import DataHome

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# The CLI prints its own summary; step logs stay in the instance for the UI.
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


@contextlib.contextmanager
def project_instance() -> Iterator["DagsterInstance"]:  # noqa: F821
    """The instance `dagster dev` shows: $DAGSTER_HOME, else this checkout's dagster.yaml.

    dagster.yaml keeps storage in relative paths (.dagster/), which Dagster resolves against
    the working directory, so the instance is opened from the project root.
    """
    from dagster import DagsterInstance

    previous = Path.cwd()
    if not os.environ.get("DAGSTER_HOME"):
        os.environ["DAGSTER_HOME"] = str(PROJECT_ROOT)
    os.chdir(os.environ["DAGSTER_HOME"])
    try:
        with DagsterInstance.get() as instance:
            yield instance
    finally:
        os.chdir(previous)


def months_in_landing(home: DataHome) -> tuple[list[str], dict[str, list[str]]]:
    """Archive what has landed; (months that can run, {month that cannot: its files})."""
    from pipelines.orchestration.partitions import MONTHS, releasable
    from pipelines.steps import archive_landing

    valid = set(MONTHS.get_partition_keys())
    runnable, arrived, outside = set(), set(), {}
    for archived in archive_landing(home):
        months, others = releasable(archived.periods, valid)
        runnable.update(months)
        if archived.new:
            arrived.update(months)
        for period in others:
            outside.setdefault(period, []).append(archived.file_name)
    return months_touched(home, sorted(runnable), sorted(arrived)), outside


def months_touched(home: DataHome, landed: list[str], arrived: list[str]) -> list[str]:
    """The months a run over the landing folder must process.

    Nothing new arrived: every landed month (running again re-checks them all). Otherwise only
    what the arrivals touch: their months, the stored or landed months whose history rules read
    them (up to HISTORY_MONTHS later: rolling sums, movement), and landed months never validated.
    """
    from pipelines.store.warehouse import connect
    from schemas.rules import HISTORY_MONTHS

    if not arrived:
        return landed
    import pandas as pd

    with connect(home) as connection:
        validated = {month for (month,) in connection.execute("SELECT DISTINCT period FROM returns").fetchall()}
    known = validated | set(landed)
    touched = set(arrived) | {month for month in landed if month not in validated}
    for month in arrived:
        later = pd.period_range(pd.Period(month, "M") + 1, periods=HISTORY_MONTHS, freq="M").strftime("%Y-%m")
        touched.update(known.intersection(later))
    return sorted(touched)


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
    with project_instance() as instance:
        published, failed_runs = execute_months(job, instance, wanted)
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


RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


def month_ranges(months: list[str]) -> list[tuple[str, str]]:
    """Consecutive months as (first, last) ranges: ["2024-01", "2024-02", "2024-05"] ->
    [("2024-01", "2024-02"), ("2024-05", "2024-05")]."""
    import pandas as pd

    periods = pd.PeriodIndex(sorted(set(months)), freq="M")
    if periods.empty:
        return []
    # A new range starts wherever a month does not follow the one before it.
    starts = pd.Series(periods.asi8).diff().ne(1).cumsum()
    return [(group.iloc[0].strftime("%Y-%m"), group.iloc[-1].strftime("%Y-%m"))
            for _, group in pd.Series(periods).groupby(starts.to_numpy())]


def execute_months(job, instance, months: list[str], run_config: dict | None = None) -> tuple[list[str], list[str]]:
    """Run `job` once per range of consecutive months (one process, one run, the fixed work once)
    rather than once per month; (months published, one line per failed run)."""
    published, failed_runs = [], []
    for first, last in month_ranges(months):
        if first == last:
            result = job.execute_in_process(partition_key=first, instance=instance, raise_on_error=False,
                                            run_config=run_config or QUIET)
        else:
            result = job.execute_in_process(instance=instance, raise_on_error=False, run_config=run_config or QUIET,
                                            tags={RANGE_START: first, RANGE_END: last})
        published += _published_months(result, first, last)
        if not result.success:
            failed_runs.append(f"{_span([first, last] if first != last else [first])} ({_first_failure(result)})")
    return sorted(published), failed_runs


def _published_months(result, first: str, last: str) -> list[str]:
    """The months of the run whose release was materialised (a range records one event per month)."""
    events = result.asset_materializations_for_node("open_data_release")
    return sorted({event.partition for event in events if event.partition and first <= event.partition <= last})


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
