"""The landing sensor: a run of the monthly job for each month a new or changed file touches.

Each tick lists `<home>/landing/` (skipping names of partial copies, as intake does), and for
each file:

* unchanged size and mtime since the cursor last saw it: nothing to do (no hashing);
* modified less than `settle_seconds` ago and not yet seen at the same size and mtime on an
  earlier tick: still being written, looked at again next tick;
* otherwise hashed (sha256) and judged by `pipelines.ingest.arrivals`, the rule intake uses: the
  same content under the same name (a touched file) is nothing new; new content under a name,
  or a new name, is an arrival (the latest arrival supersedes, so an authority re-sending its
  first file after a second one is heard). Content not seen before is read through the
  pipeline's reader (without archiving: the run archives it); one run
  is requested per month it carries, with run_key `<sha256>:<month>:<name>:<n>` (n counts the
  contents the name has held), so no arrival starts the same month twice, even after a
  restart or a cursor reset;
* a file that is not a return (wrong extension, unreadable, no month we can release) is
  reported in the tick's log and skip reason once, and remembered by its hash so it is not
  read again until it changes;
* a symbolic link out of the folder, or a name that is not UTF-8, is never opened
  (`ingest.arrivals.scan_landing`): reported once (remembered under "refused") until it changes;
* a name that leaves the folder is remembered (what it held, how many contents) under "left",
  as intake remembers it: sent again with other content, it is an arrival with a new run key.

The sensor never opens the warehouse: DuckDB has one writer, and that is the run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

import dagster as dg

from pipelines.home import DataHome
from pipelines.ingest.arrivals import (
    LandingChanged,
    LandingMemory,
    descriptor_path,
    open_landed,
    read_contents,
    scan_landing,
    sha256_of_handle,
    version_of,
)
from pipelines.orchestration.jobs import monthly_release_job
from pipelines.orchestration.partitions import MONTHS, releasable
from pipelines.orchestration.resources import DataHomeResource
from schemas.month import span_text

SENSOR_NAME = "landing_sensor"
MINIMUM_INTERVAL_SECONDS = 30
# A file modified more recently than this is only read once it has kept its size and mtime
# across two ticks; an older file is taken as complete on first sight.
SETTLE_SECONDS = 60
CURSOR_VERSION = 1
RETURN = "return"
NOT_A_RETURN = "not_a_return"


def load_cursor(text: str | None) -> dict:
    empty = {"version": CURSOR_VERSION, "files": {}, "pending": {}, "left": {}}
    if not text:
        return empty
    try:
        cursor = json.loads(text)
    except json.JSONDecodeError:
        return empty
    if not isinstance(cursor, dict) or cursor.get("version") != CURSOR_VERSION:
        return empty
    cursor.setdefault("files", {})
    cursor.setdefault("pending", {})
    cursor.setdefault("left", {})
    return cursor


def dump_cursor(cursor: dict) -> str:
    return json.dumps(cursor, sort_keys=True, separators=(",", ":"))


def evaluate_landing(
    home: DataHome,
    cursor_text: str | None,
    valid_months: set[str],
    now: float | None = None,
    settle_seconds: float = SETTLE_SECONDS,
) -> tuple[list[dg.RunRequest], list[str], str]:
    """One tick, as plain Python: (run requests, lines to report, new cursor)."""
    now = time.time() if now is None else now
    cursor = load_cursor(cursor_text)
    known: dict[str, dict] = cursor["files"]
    pending: dict[str, dict] = cursor["pending"]
    # Names that left the folder: what they held and how many contents, as intake remembers them too,
    # so that a file taken away and sent again is an arrival with a run key of its own.
    left: dict[str, dict] = cursor["left"]
    # The cursor is the sensor's memory of the landing folder; arrivals are decided as intake decides them.
    remembered = {**left, **known}
    memory = LandingMemory(
        held={name: entry["sha256"] for name, entry in remembered.items()},
        versions={version_of(entry["sha256"], name): entry for name, entry in remembered.items()},
    )
    requests: list[dg.RunRequest] = []
    report: list[str] = []
    still_pending: dict[str, dict] = {}
    present: set[str] = set()

    files, refused = scan_landing(home)
    # A link out of the folder, a name that is not UTF-8: never opened, reported once until it changes.
    told = cursor.get("refused", {})
    report += [refusal.line for refusal in refused if told.get(refusal.name) != refusal.reason]
    cursor["refused"] = {refusal.name: refusal.reason for refusal in refused}
    for path in files:
        try:
            stat = path.stat()
        except FileNotFoundError:  # moved away between listing and stat
            continue
        name, signature = path.name, {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
        present.add(name)
        entry = known.get(name)
        if entry and entry["size"] == signature["size"] and entry["mtime_ns"] == signature["mtime_ns"]:
            continue  # cheap pre-filter: unchanged since it was hashed
        entry = entry or left.get(name)
        settled = now - stat.st_mtime_ns / 1e9 >= settle_seconds or pending.get(name) == signature
        if not settled:
            still_pending[name] = signature
            continue
        try:  # opened once, never through a link swapped since the scan: that descriptor is hashed and read
            with open_landed(home, name) as landed:
                sha256, _ = sha256_of_handle(landed)
                sighting = memory.observe(name, sha256)
                unread = sighting.arrived and sighting.known is None  # new content: read it, from this descriptor
                contents = read_contents(descriptor_path(landed), home, name) if unread else None
        except (FileNotFoundError, LandingChanged):
            continue
        if not sighting.arrived:  # touched: same content under the same name
            known[name] = {**(entry or {}), **signature}
            continue
        arrival = (entry or {}).get("arrival", 0) + 1
        other: list[str] = []
        if contents is None:  # content already read under another name: no need to read it again
            months, problem = sighting.known["periods"] if sighting.known else [], None
        else:
            (months, other), problem = releasable(contents.periods, valid_months), contents.problem
        status = RETURN if months else NOT_A_RETURN
        known[name] = memory.versions[sighting.version] = {
            **signature,
            "sha256": sighting.sha256,
            "status": status,
            "periods": months,
            "arrival": arrival,
        }
        if not months:
            reason = problem or (
                f"no month that can be released (periods: {', '.join(other)})" if other else "no rows with a period"
            )
            report.append(f"{name}: not a return, not retried until it changes: {reason}")
            continue
        if other:
            report.append(
                f"{name}: rows for {', '.join(other)} are not a month that can be released yet; "
                "they are reported by the run"
            )
        for month in months:
            requests.append(
                dg.RunRequest(
                    run_key=f"{sighting.sha256}:{month}:{name}:{arrival}",
                    partition_key=month,
                    tags={"csc/trigger": "landing", "csc/file": name[:200], "csc/sha256": sighting.sha256},
                )
            )
        report.append(f"{name}: new version {sighting.sha256[:12]}, run(s) requested for {', '.join(months)}")

    for name, entry in known.items():
        if name not in present:
            left[name] = {key: value for key, value in entry.items() if key not in ("size", "mtime_ns")}
    cursor["files"] = {name: entry for name, entry in known.items() if name in present}
    cursor["left"] = {name: entry for name, entry in left.items() if name not in present}
    cursor["pending"] = still_pending
    for name in still_pending:
        report.append(f"{name}: still being written (modified under {settle_seconds:.0f}s ago); looked at next tick")
    return requests, report, dump_cursor(cursor)


def build_landing_sensor(
    job: dg.UnresolvedAssetJobDefinition = monthly_release_job,
    minimum_interval_seconds: int = MINIMUM_INTERVAL_SECONDS,
    settle_seconds: float = SETTLE_SECONDS,
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED,
) -> dg.SensorDefinition:
    @dg.sensor(
        name=SENSOR_NAME,
        job=job,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=default_status,
        description=(
            "Watches the landing folder (<home>/landing/) and starts the monthly release for each month "
            "a new or changed file carries, once the file has stopped changing. Files that are not "
            "returns are reported here once."
        ),
    )
    def landing_sensor(context: dg.SensorEvaluationContext, data_home: DataHomeResource) -> dg.SensorResult:
        home = data_home.location()
        valid = set(MONTHS.get_partition_keys())
        requests, report, cursor = evaluate_landing(home, context.cursor, valid, settle_seconds=settle_seconds)
        for line in report:
            context.log.info(line)
        skip = None if requests else ("; ".join(report) or f"nothing new in {home.landing}")
        return dg.SensorResult(run_requests=requests, cursor=cursor, skip_reason=skip)

    return landing_sensor


HISTORY_SENSOR = "history_readers_sensor"


def build_history_readers_sensor(
    job: dg.UnresolvedAssetJobDefinition = monthly_release_job,
    monitored: Sequence[dg.UnresolvedAssetJobDefinition] = (),
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED,
) -> dg.SensorDefinition:
    """After a run of the monthly jobs succeeds: the stored months whose history rules read the months
    whose figures it stored, each run again if that changes its validation, as `csc-returns run` does
    after a resubmission (`steps.monthly.months_validated_differently`); their runs, when they succeed,
    are looked at in turn."""

    @dg.run_status_sensor(
        name=HISTORY_SENSOR,
        run_status=dg.DagsterRunStatus.SUCCESS,
        monitored_jobs=[job, *monitored],
        request_job=job,
        default_status=default_status,
        description=(
            "After a monthly run succeeds, checks the later months whose history rules (rolling sums, "
            "stock jumps, flow outliers) read its months, and starts the monthly release of each month "
            "whose validation that changes (a resubmission landed while automation runs)."
        ),
    )
    def history_readers_sensor(context: dg.RunStatusSensorContext, data_home: DataHomeResource):
        from pipelines.orchestration.notifications import home_of_run
        from pipelines.orchestration.runner import materialised_months
        from pipelines.steps.monthly import history_readers, months_validated_differently

        run = context.dagster_run
        home = home_of_run(run, data_home)
        record = context.instance.get_run_record_by_id(run.run_id)
        since = record.create_timestamp.timestamp() - 1 if record else 0.0
        stored = materialised_months(context.instance, run, since, "indicator_values")
        readers = history_readers(home, stored) if stored else []
        changed = months_validated_differently(home, readers)
        context.log.info(
            f"{len(readers)} later month(s) read {span_text(stored) or 'none'}; to run again: {span_text(changed) or 'none'}"
        )
        # Each month its own run, queued in calendar order behind the writer's pool; run keys never repeat.
        return [dg.RunRequest(run_key=f"history:{run.run_id}:{month}", partition_key=month) for month in changed]

    return history_readers_sensor
