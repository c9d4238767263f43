"""Runs the monthly job against the data home's own Dagster instance, so CLI runs show in its UI.

`csc-returns run` runs `monthly_release` from the code location's definitions, with the same
resources as the UI, the schedule and the sensor, and hands its data home to the run as a value
(the run's config). Consecutive months are one run over their range (the assets' single-run
backfill policy): one month runs in this process, a range through Dagster's own command line
(the one public way to launch a run over a partition range). Either run is tagged with a launch
id; progress, the months published and the first failure are read back from the instance's
public records of that run.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import graphlib
import json
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.exit_codes import FINDINGS, OK, RUN_FAILED
from pipelines.home import DataHome, environment
from pipelines.home.durable import write_durably
from pipelines.orchestration.launcher import dismiss, send, take_ahead
from pipelines.orchestration.launcher import start as start_launcher
from pipelines.orchestration.progress import Progress, ProgressCallback, ignore_progress
from schemas.month import consecutive_ranges, span_text

if TYPE_CHECKING:
    import dagster as dg

    from pipelines.steps.monthly import MonthsToRun

# The instance configuration every data home starts from (package data: installed copies have it too).
INSTANCE_TEMPLATE = Path(__file__).with_name("dagster.yaml")


def instance_home(home: DataHome) -> Path:
    """The folder of the Dagster instance that records `home`'s runs: $DAGSTER_HOME when set,
    else `<home>/.dagster/`, given the project's dagster.yaml the first time (an edited copy is kept)."""
    shared = environment.dagster_home()
    if shared is not None:
        return shared
    folder = home.instance
    config = folder / "dagster.yaml"
    if not config.exists():  # two threads may both find it missing: each writes the same file whole
        folder.mkdir(parents=True, exist_ok=True)
        write_durably(config, INSTANCE_TEMPLATE.read_bytes())
    return folder


STORAGE_READY = ".csc-storage-ready"  # in the instance folder once its storage exists


def ready_instance_home(home: DataHome) -> Path:
    """`instance_home(home)`, its storage created first if it is new, by one process at a time.

    Two processes creating one SQLite instance at once (a range's `dg launch` and this one, the
    webserver and the daemon) can both stamp its schema version, and every later open fails
    ("more than one head"). Once created, a marker makes this a single `stat`.
    """
    folder = instance_home(home)
    ready = folder / STORAGE_READY
    if ready.exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".csc-storage.lock").open("w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)  # released when the file closes, or the process dies
        if not ready.exists():
            from dagster import DagsterInstance

            with DagsterInstance.from_config(str(folder)):
                pass
            ready.touch()
    return folder


@contextlib.contextmanager
def project_instance(home: DataHome) -> Iterator[dg.DagsterInstance]:
    """The instance `csc-returns dev` shows for `home`: see `instance_home`.

    Storage paths left at Dagster's defaults resolve inside the instance folder, whatever the
    working directory.
    """
    from dagster import DagsterInstance

    with DagsterInstance.from_config(str(ready_instance_home(home))) as instance:
        yield instance


def months_in_landing(home: DataHome) -> tuple[MonthsToRun, dict[str, list[str]]]:
    """Archive what has landed; (the months to run and to check, {month that cannot run: its files})."""
    from pipelines.orchestration.partitions import MONTHS, releasable
    from pipelines.steps.monthly import archive_landing, months_to_run

    valid = set(MONTHS.get_partition_keys())
    runnable: set[str] = set()
    arrived: set[str] = set()
    outside: dict[str, list[str]] = {}
    for archived in archive_landing(home):
        months, others = releasable(archived.periods, valid)
        runnable.update(months)
        if archived.new:
            arrived.update(months)
        for period in others:
            outside.setdefault(period, []).append(archived.file_name)
    return months_to_run(home, sorted(runnable), sorted(arrived)), outside


class UnknownMonth(ValueError):
    """A month asked for that no run can make; the message is one line."""


@dataclass
class RunSummary:
    """What a run did, for the command line to say as text or JSON (`as_json`, docs/operations.md)."""

    months: list[str] = field(default_factory=list)  # the months run, in order
    # Months whose history rules read an arrival, checked against it after its run and left as they
    # were: validated again, they would change nothing (`steps.monthly.months_validated_differently`).
    unchanged: list[str] = field(default_factory=list)
    published: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # month: the first failed step and its error
    held_back: list[dict] = field(default_factory=list)  # {month, la_code, errors, first_error}
    held_back_entirely: list[str] = field(default_factory=list)  # months with every return held back: nothing published
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
            "unchanged": self.unchanged,
            "published": self.published,
            "failed": [{"month": m, "error": e} for m, e in self.failed.items()],
            "held_back": self.held_back,
            "held_back_entirely": self.held_back_entirely,
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
            out.append(f"published {len(self.published)} month(s) to {publish}: {span_text(self.published)}")
            if self.unchanged:
                out.append(
                    f"checked {len(self.unchanged)} later month(s) whose history rules read them: "
                    f"unchanged, left as published ({span_text(self.unchanged)})"
                )
            out.append(f"held back {len(self.held_back)} return(s):" if self.held_back else "held back: none")
            out += [
                f"  {h['month']} {h['la_code']}: {h['errors']} error(s), first: {h['first_error'] or ''}"
                for h in self.held_back
            ]
            out += [f"  {month}: every return held back, nothing published" for month in self.held_back_entirely]
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
    one run per range of consecutive months, reporting each run's stage (the asset under way)
    and end to `progress`.

    UnknownMonth when a month asked for cannot be run.
    """
    started = time.monotonic()
    # The process of a range run loads while this one archives the landing folder (the months are
    # known then): started by the command line's entry point if it could tell, else now.
    launcher = take_ahead()
    if months is not None:
        dismiss(launcher)  # months given: a range, if any, starts once they are checked
        launcher = None
    elif launcher is None:
        launcher = start_launcher()
    try:
        plan, outside = _months_wanted(home, months, progress)
    except BaseException:
        dismiss(launcher)
        raise
    summary = RunSummary()
    # A month that has not ended (or predates the series) cannot be released: say so, never drop silently.
    summary.not_processed = {month: sorted(set(files)) for month, files in sorted(outside.items())}
    wanted = plan.now
    summary.months = list(wanted)
    if not wanted:
        dismiss(launcher)
    else:
        # The first range's process started first (one month too: it has loaded the validation engine
        # meanwhile): it loads the code location while this one does.
        first_launch = start_run(*month_ranges(wanted)[0], home, launcher=launcher)
        try:
            from pipelines.orchestration.definitions import defs
            from pipelines.orchestration.jobs import RELEASE_JOB

            job = defs.resolve_job_def(RELEASE_JOB)
            stages = asset_order(defs)
            with project_instance(home) as instance:
                _run_ranges(job, instance, home, wanted, first_launch, stages, summary, progress)
                _run_history_readers(job, instance, home, plan.history_readers, stages, summary, progress)
        finally:
            stop_unfinished(first_launch)
    from pipelines.steps.monthly import unreadable_landed_files

    summary.unreadable = unreadable_landed_files(home)
    summary.seconds = time.monotonic() - started
    return summary


def _months_wanted(
    home: DataHome, months: list[str] | None, progress: ProgressCallback
) -> tuple[MonthsToRun, dict[str, list[str]]]:
    """(the months to run and to check, {month that cannot run: its files}): `months` checked, or the
    landing folder archived (`months_in_landing`). UnknownMonth when a month asked for cannot be run."""
    progress(Progress(0, len(months or []), stage="loading the pipeline"))
    from pipelines.orchestration.partitions import MONTHS

    valid = MONTHS.get_partition_keys()
    for month in months or []:
        if month not in valid:
            raise UnknownMonth(f"--month {month}: not a completed month from {valid[0]} to {valid[-1]}")
    # A new home's Dagster storage is made (SQLite writes, mostly waiting on the disk) while the
    # landing folder is archived; the first run needs it.
    preparing = threading.Thread(target=_ready_quietly, args=(home,), name="instance-storage", daemon=True)
    preparing.start()
    try:
        if months is None:
            progress(Progress(0, 0, stage="archiving the landing folder"))
            return months_in_landing(home)
        from pipelines.steps.monthly import MonthsToRun

        return MonthsToRun(months), {}
    finally:
        preparing.join()


def _ready_quietly(home: DataHome) -> None:
    """`ready_instance_home` ahead of need: a failure is left for the run's start to raise and
    report (in the command's thread, as one line), not printed here as a thread's traceback."""
    with contextlib.suppress(Exception):  # raised again by start_run
        ready_instance_home(home)


def _run_history_readers(
    job: dg.JobDefinition,
    instance: dg.DagsterInstance,
    home: DataHome,
    readers: list[str],
    stages: list[dg.AssetKey],
    summary: RunSummary,
    progress: ProgressCallback,
) -> None:
    """After the arrivals' runs: the stored months whose history rules read them, each run again only
    if its validation now would change (`months_validated_differently`: the months checked together,
    each against the months before it as they now stand); then the months reading those, until none
    changes. The others are `summary.unchanged`."""
    from pipelines.steps.monthly import history_readers, months_validated_differently

    checked: set[str] = set()
    while readers:
        progress(Progress(len(summary.months), len(summary.months), stage="checking the later months' history rules"))
        changed = months_validated_differently(home, readers)
        checked.update(readers)
        summary.unchanged = sorted((set(summary.unchanged) | set(readers)) - set(changed))
        if not changed:
            return
        summary.months += changed
        _run_ranges(job, instance, home, changed, None, stages, summary, progress)
        readers = [month for month in history_readers(home, changed) if month not in checked]


def _run_ranges(
    job: dg.JobDefinition,
    instance: dg.DagsterInstance,
    home: DataHome,
    wanted: list[str],
    first_launch: Launch | None,
    stages: list[dg.AssetKey],
    summary: RunSummary,
    progress: ProgressCallback,
) -> None:
    """One run per range of consecutive months of `wanted` (the first perhaps already started as
    `first_launch`), one after the other, each added to `summary` as it ends (whose `months` hold
    `wanted` already: the progress counts them all)."""
    from pipelines.steps.monthly import held_back_report

    done = len(summary.months) - len(wanted)
    for first, last in month_ranges(wanted):
        span = [month for month in wanted if first <= month <= last]
        label = span_text(span)
        launch = (
            first_launch
            if first_launch is not None and (first_launch.first, first_launch.last) == (first, last)
            else start_run(first, last, home)
        )

        def show(stage: str, done: int = done, label: str = label) -> None:
            progress(Progress(done, len(summary.months), label, stage))

        with following_run(instance, launch, stages, show):
            finish_run(launch, job, instance, home)
        run = launched_run(instance, launch)
        if run is not None:
            tell_run(instance, run, home, span)
        published = published_months(instance, run, launch.since)
        held = held_back_report(home, span)
        summary.published += published
        summary.held_back += held
        failure = run_failure(run, launch)
        entirely = held_back_entirely(run, failure)
        summary.held_back_entirely += [month for month in span if month in entirely]
        summary.failed.update(
            {month: failure for month in span if failure and month not in published and month not in entirely}
        )
        done += len(span)
        outcome = (
            f"failed: {failure}" if failure else f"published, {len(held)} return(s) held back" if held else "published"
        )
        progress(Progress(done, len(summary.months), label, finished=outcome))


def tell_run(instance: dg.DagsterInstance, run: dg.DagsterRun, home: DataHome, months: list[str]) -> None:
    """Word of the run to the home's channels, as the daemon's run-status sensors send it (once per
    run, whichever comes first); a channel not reached is one line on standard error."""
    from pipelines.orchestration.definitions import defs
    from pipelines.orchestration.notifications import notify_dagster_run
    from pipelines.orchestration.resources import ReportsResource

    reports = (defs.resources or {}).get("reports")
    ui_url = reports.ui() if isinstance(reports, ReportsResource) else ReportsResource().ui()
    notify_dagster_run(instance, run, home, ui_url, lambda line: print(line, file=sys.stderr, flush=True), months)


def month_ranges(months: list[str]) -> list[tuple[str, str]]:
    """Consecutive months as (first, last) ranges: ["2024-01", "2024-02", "2024-05"] ->
    [("2024-01", "2024-02"), ("2024-05", "2024-05")]."""
    return consecutive_ranges(months)


def run_config(home: DataHome, quiet: bool = True) -> dict[str, Any]:
    """The run's config: the data home as a value (the code location's default is $CSC_HOME), and
    console logs quietened (the command line prints its own summary; step logs stay in the instance)."""
    config: dict[str, Any] = {"resources": {"data_home": {"config": {"path": str(home.root)}}}}
    if quiet:
        config["loggers"] = {"console": {"config": {"log_level": "CRITICAL"}}}
    return config


# Dagster's switch for single-run backfills (read by its event storage): a range run records one
# "planned" event an asset for all its months, not one a month (600 fewer SQLite writes for ten
# years). Its price, as Dagster states it: the months of a run that fails are not marked failed
# in the UI's partition view (the run itself, its failure tag and `status` still say so).
PLANNED_EVENTS_AS_ONE = "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"


def dagster_environment(home: DataHome) -> dict[str, str]:
    """The environment of a Dagster program run for `home` (a range run, `csc-returns dev`): the
    home and its instance reach another program the one way they can. Its storage is made first if
    new: the program may open it at once."""
    return {
        PLANNED_EVENTS_AS_ONE: "true",  # an operator's own setting wins
        **environment.current(),
        environment.HOME: str(home.root),
        environment.DAGSTER_HOME: str(ready_instance_home(home)),
    }


def range_arguments(first: str, last: str, home: DataHome, quiet: bool = True) -> list[str]:
    """The arguments of Dagster's own command (`dg`) for one run of `monthly_release` over the months
    first..last.

    Dagster 1.13 launches a run over a partition range only from its command line (`dg launch
    --partition-range`, as the UI's single-run backfill does): `execute_in_process` takes one
    `partition_key`. `dg` is installed with this Python (dagster-dg-cli, pinned with dagster) and
    run by `launcher.py`.
    """
    from pipelines.orchestration.jobs import RELEASE_JOB

    return [
        "launch",
        "-m",
        "pipelines.orchestration.definitions",
        "--job",
        RELEASE_JOB,
        "--partition-range",
        f"{first}...{last}",
        "--config-json",
        json.dumps(run_config(home, quiet)),
    ]


@dataclass
class Launch:
    """A run `csc-returns run` starts over the months first..last, and how it finds that run: its
    id when it runs here, else the process that runs it (the writer resource tags each writing
    run with its process, `host:pid`)."""

    first: str
    last: str
    since: float = field(default_factory=time.time)  # the run's records are all after this
    run_id: str | None = None
    process: str | None = None
    said: str = ""  # the last line the process wrote when it failed: why no run started, if none did
    killed_by: int = 0  # the signal that ended the process, if one did (its run never recorded an end)
    running: subprocess.Popen[str] | None = field(default=None, repr=False)


def start_run(
    first: str, last: str, home: DataHome, quiet: bool = True, launcher: subprocess.Popen[str] | None = None
) -> Launch:
    """Start one run of `monthly_release` over the consecutive months first..last on `home`: a
    range in Dagster's command line, in `launcher` (one started ahead: `launcher.py`) or in a
    process started now; one month without `launcher` waits for `finish_run` to run it in this
    process."""
    launch = Launch(first, last)
    if first == last and launcher is None:
        launch.run_id = str(uuid.uuid4())
        return launch
    process = launcher or start_launcher()
    try:
        # A launcher that ended before reading them (it could not load): `finish_run` reads why.
        with contextlib.suppress(BrokenPipeError):
            send(process, dagster_environment(home), range_arguments(first, last, home, quiet))
    except BaseException:  # the instance could not be made, say: the launcher has nothing to run
        dismiss(process)
        raise
    launch.running = process
    launch.process = f"{socket.gethostname()}:{process.pid}"
    return launch


def finish_run(
    launch: Launch, job: dg.JobDefinition, instance: dg.DagsterInstance, home: DataHome, quiet: bool = True
) -> Launch:
    """The run of `launch`, to its end: one process, the fixed work once (the assets' single-run
    backfill policy hands every step the whole range)."""
    if launch.run_id is not None:
        job.execute_in_process(
            partition_key=launch.first,
            instance=instance,
            raise_on_error=False,
            run_config=run_config(home, quiet),
            run_id=launch.run_id,
        )
    elif launch.running is not None:
        with launch.running as process:
            output, _ = process.communicate()
        lines = [line.strip() for line in output.splitlines() if line.strip()]
        launch.said = lines[-1][:300] if process.returncode and lines else ""
        launch.killed_by = -process.returncode if process.returncode < 0 else 0
    return launch


def stop_unfinished(launch: Launch, grace_seconds: float = 60.0) -> None:
    """Stop the run's process if this one is leaving before it ended (an error here, an interrupt):
    it writes under this process's writer lock, which ends with this process."""
    process = launch.running
    if process is None or process.poll() is not None:
        return
    process.terminate()  # Dagster records the run as stopped
    try:
        process.wait(grace_seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def launch_run(
    job: dg.JobDefinition, instance: dg.DagsterInstance, first: str, last: str, home: DataHome, quiet: bool = True
) -> Launch:
    """One run of `job` over the consecutive months first..last on `home`, started and finished."""
    return finish_run(start_run(first, last, home, quiet), job, instance, home, quiet)


def launched_run(instance: dg.DagsterInstance, launch: Launch) -> dg.DagsterRun | None:
    """The run of `launch`, once it exists."""
    import dagster as dg

    from pipelines.orchestration.resources import WRITER_PROCESS_TAG

    if launch.run_id is not None:
        return instance.get_run_by_id(launch.run_id)
    if launch.process is None:
        return None
    # Created after the launch: an older run whose process had the same id is not this one.
    created_after = datetime.datetime.fromtimestamp(launch.since - 1, tz=datetime.UTC)
    records = instance.get_run_records(
        dg.RunsFilter(tags={WRITER_PROCESS_TAG: launch.process}, created_after=created_after), limit=1
    )
    return records[0].dagster_run if records else None


def asset_order(defs: dg.Definitions) -> list[dg.AssetKey]:
    """The code location's assets in the order a run materialises them (each after what it depends on)."""
    import dagster as dg

    import assets

    graph: dict[dg.AssetKey, set[dg.AssetKey]] = {}
    for definition in dg.load_assets_from_package_module(assets):
        if isinstance(definition, dg.AssetsDefinition):
            for key in definition.keys:
                graph[key] = set(definition.dependency_keys) - {key}
    return list(graphlib.TopologicalSorter(graph).static_order())


POLL_SECONDS = 1.0  # a stage lasts seconds; each look is one small query on the instance


@contextlib.contextmanager
def following_run(
    instance: dg.DagsterInstance, launch: Launch, stages: list[dg.AssetKey], show: Callable[[str], None]
) -> Iterator[None]:
    """While the block runs the run of `launch`, tell `show` the asset under way: the first of
    `stages` whose materialization the run has not yet recorded, read from the instance's public
    records (one small query a second, whatever the home's history)."""
    import dagster as dg

    stopped = threading.Event()

    def follow() -> None:
        pending = list(stages)
        shown = None
        run_id = launch.run_id
        while pending and not stopped.is_set():
            if pending[0] != shown:
                shown = pending[0]
                show(shown.to_user_string())
            if run_id is None:
                run = launched_run(instance, launch)
                run_id = run.run_id if run else None
            records = instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=pending[0], after_timestamp=launch.since), limit=1
            ).records
            if run_id is not None and any(record.run_id == run_id for record in records):
                pending.pop(0)
                continue
            stopped.wait(POLL_SECONDS)

    follower = threading.Thread(target=follow, name=f"follow-{launch.first}", daemon=True)
    follower.start()
    try:
        yield
    finally:
        stopped.set()
        follower.join()


def published_months(instance: dg.DagsterInstance, run: dg.DagsterRun | None, since: float) -> list[str]:
    """The months whose release `run` materialised (a range records one event per month)."""
    return materialised_months(instance, run, since, "open_data_release")


def materialised_months(instance: dg.DagsterInstance, run: dg.DagsterRun | None, since: float, asset: str) -> list[str]:
    """The months of `asset` that `run` materialised (a range records one event per month)."""
    import dagster as dg

    if run is None:
        return []
    months: set[str] = set()
    cursor = None
    while True:
        page = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), after_timestamp=since),
            limit=500,
            cursor=cursor,
        )
        months.update(
            record.partition_key for record in page.records if record.run_id == run.run_id and record.partition_key
        )
        if not page.has_more:
            return sorted(months)
        cursor = page.cursor


def held_back_entirely(run: dg.DagsterRun | None, failure: str | None) -> set[str]:
    """The months `run` refused to publish because every return was held back, when that refusal
    is what failed it (its first failure is the release's): findings, not a failed run."""
    from pipelines.orchestration.jobs import HELD_BACK_TAG

    if run is None or not failure or not failure.startswith("open_data_release:") or not run.tags.get(HELD_BACK_TAG):
        return set()
    return set(run.tags[HELD_BACK_TAG].split(","))


def run_failure(run: dg.DagsterRun | None, launch: Launch) -> str | None:
    """None when `run` succeeded, else the first failed step and the first line of its error (the
    jobs' failure hook tags the run with it), or what ended the run's process, or why no run started."""
    import dagster as dg

    from pipelines.orchestration.jobs import FAILURE_TAG

    killed = f"its process was killed (signal {launch.killed_by})" if launch.killed_by else ""
    if run is None:
        return f"the run did not start: {killed or launch.said or 'see the Dagster UI'}"
    if run.status == dg.DagsterRunStatus.SUCCESS:
        return None
    if FAILURE_TAG in run.tags:
        return run.tags[FAILURE_TAG]
    return f"run {run.run_id[:8]} {killed or run.status.value.lower()}: see the Dagster UI"
