"""Runs the monthly job in-process against the data home's own Dagster instance, so CLI runs show in its UI."""

from __future__ import annotations

import contextlib
import functools
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.exit_codes import FINDINGS, OK, RUN_FAILED
from pipelines.home import DataHome
from pipelines.orchestration.progress import Progress, ProgressCallback, ignore_progress

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
def project_instance(home: DataHome | None = None) -> Iterator[DagsterInstance]:  # noqa: F821
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
    from pipelines.steps.monthly import archive_landing

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


class UnknownMonth(ValueError):
    """A month asked for that no run can make; the message is one line."""


@dataclass
class RunSummary:
    """What a run did, for the command line to say as text or JSON (`as_json`, docs/operations.md)."""

    months: list[str] = field(default_factory=list)  # the months run, in order
    published: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # month: the first failed step and its error
    held_back: list[dict] = field(default_factory=list)  # {month, la_code, errors, first_error}
    not_processed: dict[str, list[str]] = field(default_factory=dict)  # month not runnable: its files
    unreadable: list[str] = field(default_factory=list)  # files or rows no month holds: one line each
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        if self.failed:
            return RUN_FAILED
        return FINDINGS if self.held_back or self.unreadable else OK

    def as_json(self) -> dict:
        return {
            "months": self.months,
            "published": self.published,
            "failed": [{"month": m, "error": e} for m, e in self.failed.items()],
            "held_back": self.held_back,
            "not_processed": [{"month": m, "files": f} for m, f in self.not_processed.items()],
            "unreadable": self.unreadable,
            "seconds": round(self.seconds, 1),
            "exit_code": self.exit_code,
        }

    def text(self, landing: Path, publish: Path) -> tuple[list[str], list[str]]:
        """(lines for standard output, lines for standard error)."""
        from pipelines.orchestration.partitions import MONTHS

        out = [
            f"not processed: {month} in {', '.join(files)} is not a completed month from "
            f"{MONTHS.get_first_partition_key()} to {MONTHS.get_last_partition_key()}"
            for month, files in self.not_processed.items()
        ]
        if not self.months:
            out.append(f"no returns for a completed month in {landing}")
        else:
            out.append(f"published {len(self.published)} month(s) to {publish}: {_span(self.published)}")
            out.append(f"held back {len(self.held_back)} return(s):" if self.held_back else "held back: none")
            out += [
                f"  {h['month']} {h['la_code']}: {h['errors']} error(s), first: {h['first_error'] or ''}"
                for h in self.held_back
            ]
        if self.unreadable:
            out.append(f"files or rows that could not be placed in a month ({len(self.unreadable)}):")
            out += [f"  {line}" for line in self.unreadable]
        err = []
        if self.failed:
            err.append(f"{len(self.failed)} run(s) failed; step logs are in the Dagster UI (make dev):")
            err += [f"  {month} ({failure})" for month, failure in self.failed.items()]
        return out, err


def run_months(home: DataHome, months: list[str] | None, progress: ProgressCallback = ignore_progress) -> RunSummary:
    """Run `monthly_release` for `months` (None: the months the landing folder's arrivals touch),
    one run per range of consecutive months, reporting each run's stage (the Dagster step under
    way) and end to `progress`.

    UnknownMonth when a month asked for cannot be run.
    """
    started = time.monotonic()
    progress(Progress(0, len(months or []), stage="loading the pipeline"))
    from pipelines.orchestration.definitions import defs
    from pipelines.orchestration.partitions import MONTHS

    valid = MONTHS.get_partition_keys()
    summary = RunSummary()
    if months is None:
        progress(Progress(0, 0, stage="archiving the landing folder"))
        wanted, outside = months_in_landing(home)
    else:
        wanted, outside = months, {}
        for month in months:
            if month not in valid:
                raise UnknownMonth(f"--month {month}: not a completed month from {valid[0]} to {valid[-1]}")
    # A month that has not ended (or predates the series) cannot be released: say so, never drop silently.
    summary.not_processed = {month: sorted(set(files)) for month, files in sorted(outside.items())}
    summary.months = list(wanted)
    job = defs.resolve_job_def("monthly_release")
    with project_instance(home) if wanted else contextlib.nullcontext() as instance:
        done = 0
        for first, last in month_ranges(wanted):
            span = [month for month in wanted if first <= month <= last]
            label = _span(span)
            progress(Progress(done, len(wanted), label, "starting"))
            run_id = str(uuid.uuid4())
            # Dagster reports each step as it starts: that is the stage of the range's run.
            instance.add_event_listener(run_id, functools.partial(_report_step, progress, done, len(wanted), label))
            result = execute_range(job, instance, first, last, run_id=run_id)
            published = published_months(result, first, last)
            held = _held_back(home, span)
            summary.published += published
            summary.held_back += held
            failure = None if result.success else _first_failure(result)
            summary.failed.update({month: failure for month in span if failure and month not in published})
            done += len(span)
            outcome = (
                f"failed: {failure}"
                if failure
                else f"published, {len(held)} return(s) held back"
                if held
                else "published"
            )
            progress(Progress(done, len(wanted), label, finished=outcome))
    summary.unreadable = _unreadable_files(home)
    summary.seconds = time.monotonic() - started
    return summary


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
    return [
        (group.iloc[0].strftime("%Y-%m"), group.iloc[-1].strftime("%Y-%m"))
        for _, group in pd.Series(periods).groupby(starts.to_numpy())
    ]


def execute_range(job, instance, first: str, last: str, run_id: str | None = None, run_config: dict | None = None):
    """One run of `job` over the consecutive months first..last: one process, the fixed work once
    (the assets' single-run backfill policy hands every step the whole range)."""
    options = {"instance": instance, "raise_on_error": False, "run_config": run_config or QUIET, "run_id": run_id}
    if first == last:
        return job.execute_in_process(partition_key=first, **options)
    return job.execute_in_process(tags={RANGE_START: first, RANGE_END: last}, **options)


def published_months(result, first: str, last: str) -> list[str]:
    """The months of the run whose release was materialised (a range records one event per month)."""
    events = result.asset_materializations_for_node("open_data_release")
    return sorted({event.partition for event in events if event.partition and first <= event.partition <= last})


def _report_step(progress: ProgressCallback, done: int, total: int, month: str, entry) -> None:
    event = entry.dagster_event
    if event is not None and event.is_step_start:
        progress(Progress(done, total, month, entry.step_key))


def _held_back(home: DataHome, months: list[str]) -> list[dict]:
    """{month, la_code, errors, first_error} for each return of `months` held back."""
    from pipelines.store.status import held_back_returns, records
    from pipelines.store.warehouse import connect

    with connect(home) as connection:
        held = held_back_returns(connection, months)
    return records(held.rename(columns={"period": "month"}))


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
    from pipelines.ingest.arrivals import scan_landing
    from pipelines.store.received import file_errors
    from pipelines.store.warehouse import connect

    files, refused = scan_landing(home)  # refused entries are findings under their printable names
    names = [path.name for path in files] + [refusal.name for refusal in refused]
    with connect(home) as connection:
        rows = file_errors(connection, names)
    return [f"{f}{':' + str(r) if r else ''}{' [' + c + ']' if c else ''}: {m}" for f, r, c, m in rows]
