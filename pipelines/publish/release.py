"""Publishing months: the release of a range of months, in order, from the warehouse to the publish
folder and its destination.

The steps, each in its module: the publication guard (`guard.py`); what the release reads
(`inputs.py`); each month's rows with disclosure control (`assembly.py`); disclosure across releases
and the attacker's audit over every release (`across_releases.py`, `audit.py`); the series and its
revisions (`series.py`); the files of every
format (`formats/`); the screen (`screener.py`); the staging folder and the swap (`folder.py`);
the destination (`destinations.py`). The publish folder is the record of what has been
published, and a release rewrites only the files whose bytes change: a month published again
with the same figures rewrites nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from pipelines.home import DataHome
from pipelines.home.durable import crash_point
from pipelines.publish import audit, folder
from pipelines.publish.across_releases import (
    protected_months,
    read_record_for_audit,
    record_releases,
    stale_totals,
)
from pipelines.publish.assembly import Geographies, MonthRelease, release_rows
from pipelines.publish.dataset import PublishSettings
from pipelines.publish.destinations import Destination, DestinationError, FolderDestination
from pipelines.publish.ees import LOCAL_AUTHORITY, MONTH_PATTERN, SUPPRESSED, month_words
from pipelines.publish.files import REVISIONS_FILE, SERIES_FILE, release_file, release_metadata
from pipelines.publish.formats import FORMATS, Publication, ReleasedMonth
from pipelines.publish.guard import guard_blockers_by_month, refusal
from pipelines.publish.inputs import ReleaseInputs, read_inputs
from pipelines.publish.screener import screen_release, screen_releases
from pipelines.publish.series import PublishedSeries, rolling_sums
from pipelines.reference import load_reference
from pipelines.store.disclosed import latest_audits
from pipelines.store.warehouse import connect
from schemas.month import span_text


class PublishingError(ValueError):
    """Publishing cannot start or finish; the message is one line for the user."""


@dataclass
class ReleaseSummary:
    month: str
    files: list[str]  # relative to home.publish; empty when the release was not published
    la_rows: int
    suppressed_cells: int
    revisions: int
    held_back: list[str]
    screen_passed: bool
    screen_findings: list[str] = field(default_factory=list)
    refusal: str = ""  # why the month was not published at all (the guard, nothing accepted, the audit)
    nothing_accepted: bool = False  # refused because every return of the month is held back: findings, not a failure
    audit: dict[str, object] = field(default_factory=dict)  # the attacker's audit (`audit.Audit.summary`): no figure


def publish_month(
    home: DataHome, month: str, destination: Destination | None = None, settings: PublishSettings | None = None
) -> ReleaseSummary:
    """Build, screen and publish the open-data release of `month`; a failed screen publishes nothing."""
    [summary] = publish_months(home, [month], destination, settings)
    if summary.refusal:
        raise PublishingError(summary.refusal)
    return summary


def publish_months(
    home: DataHome,
    months: list[str],
    destination: Destination | None = None,
    settings: PublishSettings | None = None,
) -> list[ReleaseSummary]:
    """Publish the releases of `months` in calendar order, as publishing them one by one would,
    byte for byte, but writing, screening and swapping the publish folder once.

    A month the guard refuses, or with nothing accepted, is skipped with its `refusal` (one line);
    the others are published. If the screen finds anything in the range, the months are then
    published one at a time, so that exactly the months that fail stay unpublished. The files go
    to `destination` (default: the publish folder itself) once they are in the folder.
    """
    send_to: Destination = destination or FolderDestination()
    settings = settings or PublishSettings()
    months = sorted(months)
    for month in months:
        if not MONTH_PATTERN.fullmatch(month or ""):
            raise PublishingError(f"month '{month}' is not YYYY-MM")
    summaries = {month: _summary(month) for month in months}
    for month, reason in _refusals_of_the_guard(home, months).items():
        summaries[month].refusal = reason
    wanted = [month for month in months if not summaries[month].refusal]
    if not wanted:
        return list(summaries.values())
    register = _register(home)
    geographies = Geographies.of(register)
    inputs, stale, record, reported = _read_months(home, wanted, geographies)
    for month in wanted:
        if isinstance(inputs[month], str):
            summaries[month].refusal = str(inputs[month])
            summaries[month].nothing_accepted = True
    wanted = [month for month in wanted if not summaries[month].refusal]
    if not wanted:
        return list(summaries.values())
    read = {month: month_inputs for month, month_inputs in inputs.items() if isinstance(month_inputs, ReleaseInputs)}
    built = {month: release_rows(month, geographies, read[month].values, read[month].earlier) for month in wanted}
    # The attacker's audit over every release on the record: the cells it withholds besides, before any file.
    audits: dict[str, dict[str, object]] = {}
    decided = protected_months(
        geographies,
        record,
        built,
        lambda month, withheld: release_rows(
            month, geographies, read[month].values, read[month].earlier, withheld=withheld
        ),
        reported,
    )
    for month, outcome in decided.items():
        if isinstance(outcome, str):
            summaries[month].refusal = outcome
            del built[month]
        else:
            built[month], audits[month] = outcome.release, outcome.audit
    wanted = [month for month in wanted if not summaries[month].refusal]
    if not wanted:
        return list(summaries.values())
    release = _Release(home, register, geographies, read, built, stale, settings, audits)

    if release.publish(wanted, summaries) or len(wanted) == 1:
        _send(send_to, home, wanted, summaries)
        return list(summaries.values())
    # Which month fails decides what is published: one at a time, as the months would be.
    for month in wanted:
        summaries[month] = _summary(month)
        if release.publish([month], summaries):
            _send(send_to, home, [month], summaries)
    return list(summaries.values())


def _summary(month: str) -> ReleaseSummary:
    return ReleaseSummary(
        month=month, files=[], la_rows=0, suppressed_cells=0, revisions=0, held_back=[], screen_passed=False
    )


def _send(destination: Destination, home: DataHome, months: list[str], summaries: dict[str, ReleaseSummary]) -> None:
    """Hand the published months' files to the destination (nothing for a month that failed)."""
    published = [month for month in months if summaries[month].screen_passed]
    if not published:
        return
    files = list(dict.fromkeys(f for month in published for f in summaries[month].files))
    try:
        destination.publish(home.publish, files)
    except DestinationError as exc:
        raise PublishingError(
            f"{span_text(published)} is published in {home.publish} but not on the portal: {exc}"
        ) from None


@dataclass(frozen=True)
class _Release:
    """What a publication of these months reads once, whether it then publishes them together or one
    by one."""

    home: DataHome
    register: pd.DataFrame
    geographies: Geographies
    inputs: dict[str, ReleaseInputs]
    built: dict[str, MonthRelease]
    stale_totals: set[tuple[str, str, str]]
    settings: PublishSettings
    audits: dict[str, dict[str, object]] = field(default_factory=dict)  # each month's audit summary

    def publish(self, months: list[str], summaries: dict[str, ReleaseSummary]) -> bool:
        """Replace the months in the series in order, write every format into a staging copy of the
        publish folder, screen it and swap it into place; whether it passed (else the findings are
        the first month's, and nothing is published)."""
        problems = [problem for month in months for problem in self.built[month].problems]
        staging = folder.stage(self.home)
        try:
            series = PublishedSeries.read(staging, self.stale_totals)
            rows = {month: [dict(row) for row in self.built[month].rows] for month in months}  # each attempt anew
            revised = {month: series.replace_month(month, rows[month], self.inputs[month].as_of) for month in months}
            series.settle()
            released = [self._released(month, rows[month], revised[month], summaries[month]) for month in months]
            publication = Publication(series, tuple(released), self.settings)
            written = []
            for published_format in FORMATS:
                written += published_format.write(staging, publication)
                crash_point("publish-writing")  # test hook: killed with the staging folder half written
            findings = problems + screen_release(staging, [*map(release_file, months), SERIES_FILE], self.register)
            if findings:
                summaries[months[0]].screen_findings = findings
                return False
            # Recorded before the swap: a crash between the two records a release never served, which
            # only makes later releases of the month suppress more; the reverse could leak.
            self._record({month: self.built[month].figures for month in months})
            if written:
                folder.swap_into_place(staging, self.home, written)
        finally:
            folder.discard(staging)
        for month in months:
            summaries[month].screen_passed = True
            summaries[month].files = [f for published_format in FORMATS for f in published_format.files(month)]
        return True

    def _released(
        self, month: str, rows: list[dict[str, str]], revised: list[dict[str, str]], summary: ReleaseSummary
    ) -> ReleasedMonth:
        """The month as published, its rows in the series (revised: the records its replacement made)."""
        inputs, notes = self.inputs[month], list(self.built[month].notes)
        summary.held_back = inputs.held_back
        summary.la_rows = sum(r["geographic_level"] == LOCAL_AUTHORITY for r in rows)
        summary.revisions = len(revised)
        summary.suppressed_cells = sum(v == SUPPRESSED for r in rows for v in r.values())
        summary.audit = self.audits.get(month) or audit.Audit().summary()
        if summary.revisions:
            notes.append(
                f"{summary.revisions} published figure(s) for {month_words(month)} revised after "
                f"resubmission: see {REVISIONS_FILE}."
            )
        return ReleasedMonth(
            month=month,
            as_of=inputs.as_of,
            rows=rows,
            notes=notes,
            held_back=inputs.held_back,
            accepted=frozenset(inputs.values["la_code"]),
            la_rows=summary.la_rows,
            suppressed_cells=summary.suppressed_cells,
            revisions=summary.revisions,
            audit=summary.audit,
        )

    def _record(self, figures: dict[str, pd.DataFrame]) -> None:
        recorded = {month: self.inputs[month].recorded for month in figures}
        try:
            record_releases(self.home, figures, recorded, self.audits)
        except duckdb.Error as exc:
            raise PublishingError(f"warehouse cannot record the release: {str(exc).splitlines()[0]}") from None


def _register(home: DataHome) -> pd.DataFrame:
    register = load_reference(home).register
    if register is None or register.empty:
        raise PublishingError(
            "no register of authorities imported: run `csc-returns reference import <register.csv>` first"
        )
    return register


def _refusals_of_the_guard(home: DataHome, months: list[str]) -> dict[str, str]:
    """The publication guard, asked before anything else whatever run called: Dagster's blocking
    checks act only within one run. Without a warehouse nothing is stored that could be blocked.
    {month refused: why, in one line}."""
    if not home.warehouse.exists():
        return {}
    try:
        with connect(home, read_only=True) as connection:
            blockers = guard_blockers_by_month(home, connection, months)
    except duckdb.Error as exc:
        raise PublishingError(f"warehouse cannot be read: {str(exc).splitlines()[0]}") from None
    return {month: refusal(month, found) for month, found in blockers.items() if not found.empty}


def _read_months(
    home: DataHome, months: list[str], geographies: Geographies
) -> tuple[
    dict[str, ReleaseInputs | str],
    set[tuple[str, str, str]],
    list[audit.MonthRelease],
    dict[str, tuple[str, dict]],
]:
    """Each month's inputs to its release, in one connection (a month with nothing to publish: why),
    the regional and England sums over an authority's stale sum, every release on the record the
    attacker's audit of the months holds, and each month's served release with the audit it reported."""
    if not home.warehouse.exists():
        raise PublishingError(f"no warehouse at {home.warehouse}: nothing has been accepted yet")
    try:
        with connect(home, read_only=True) as connection:
            inputs = read_inputs(connection, months, set(geographies.authorities))
            record = read_record_for_audit(connection, months)
            reported = latest_audits(connection, months)
            return inputs, stale_totals(connection, geographies, rolling_sums()), record, reported
    except duckdb.Error as exc:
        raise PublishingError(f"warehouse cannot be read: {str(exc).splitlines()[0]}") from None


def screen_published(home: DataHome, months: list[str]) -> dict[str, list[str]]:
    """Screen what is being served for each of `months` now: its snapshot and the cumulative series
    (read and screened once for all of them; files the release screened in this process, unchanged
    since, are read and hashed, not screened again)."""
    return screen_releases(
        home.publish, {month: [release_file(month), SERIES_FILE] for month in months}, _register(home)
    )


def published_audits(home: DataHome, months: list[str]) -> dict[str, dict]:
    """The attacker's audit each month's release reported (`disclosure_audit` in its release.json;
    empty when the month is not published, or was published before the release audited)."""
    found: dict[str, dict] = {}
    for month in months:
        try:
            reported = json.loads((home.publish / release_metadata(month)).read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            reported = {}
        summary = reported.get("disclosure_audit") if isinstance(reported, dict) else None
        found[month] = summary if isinstance(summary, dict) else {}
    return found
