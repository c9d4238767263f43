"""Disclosure across releases: the public keeps every release, so a month published again is held to
what its earlier releases disclosed (`disclosure.EarlierFigures`, read from the warehouse's private
record, `store/disclosed.py`), and each release adds what it disclosed to that record before it is
served. The attacker's audit (`audit.py`) then holds each month to everything every release
disclosed, over every identity the figures obey, and withholds further cells until no withheld small
count can be pinned (`protected_months`). Also the regional and England sums that add up an authority's stale sum (one returned
before a month of its window was resubmitted), which only the warehouse's exact figures show.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

import duckdb
import pandas as pd

from pipelines.home import DataHome
from pipelines.publish import audit
from pipelines.publish.assembly import Geographies, MonthRelease
from pipelines.publish.disclosure import Cell, EarlierFigures
from pipelines.publish.ees import ENGLAND_CODE
from pipelines.store.disclosed import disclosed_releases, record_disclosed, release_name
from pipelines.store.month import sums_disagreeing_with_their_months
from pipelines.store.warehouse import connect
from schemas.month import Month


def earlier_figures(record: Sequence[tuple[str, str, str, int, bool]]) -> EarlierFigures:
    """What the record says earlier releases of a month disclosed (`store.disclosed.disclosed_by_month`)."""
    return EarlierFigures.from_record(
        (release for release, *_ in record),
        ((geography, indicator) for _, geography, indicator, _, _ in record),
        (int(figure) for *_, figure, _ in record),
        (bool(published) for *_, published in record),
    )


def record_releases(home: DataHome, releases: Mapping[str, pd.DataFrame], recorded: Mapping[str, set[str]]) -> None:
    """Add each month's release (the figures it disclosed) to the record, unless the record holds it
    already (`recorded`: the names of each month's releases on it): a release published again adds
    nothing, and then the warehouse is not opened for writing at all."""
    names = {month: release_name(figures) for month, figures in releases.items()}
    new = {month: figures for month, figures in releases.items() if names[month] not in recorded.get(month, set())}
    if new:
        with connect(home) as connection:
            record_disclosed(connection, new, names)


def stale_totals(
    connection: duckdb.DuckDBPyConnection, geographies: Geographies, rolling: dict[str, str]
) -> set[tuple[str, str, str]]:
    """The regional and England sums (code, month, column) that add up an authority's stale sum."""
    stale = sums_disagreeing_with_their_months(connection, rolling)
    region_of = {code: region.code for region in geographies.regions for code in region.authorities}
    keys = zip(stale["la_code"], stale["period"], stale["column"])
    return {
        (geography, month, column)
        for code, month, column in keys
        for geography in (region_of.get(code), ENGLAND_CODE)
        if geography
    }


@dataclass(frozen=True)
class Protected:
    """A month as it will be published, after the attacker's audit, and that audit."""

    release: MonthRelease
    audit: audit.Audit


def layout_of(geographies: Geographies) -> audit.Layout:
    return audit.Layout({region.code: region.authorities for region in geographies.regions}, ENGLAND_CODE)


def months_audited_with(months: Collection[str]) -> list[str]:
    """The months whose releases the audit of any of `months` holds (`audit.within_reach`)."""
    if not months:
        return []
    first, last = min(map(Month.parse, months)), max(map(Month.parse, months))
    span = last.months_since(first)
    return [str(first + k) for k in range(-2 * audit.REACH, span + audit.REACH + 1)]


def read_record_for_audit(connection: duckdb.DuckDBPyConnection, months: Collection[str]) -> list[audit.MonthRelease]:
    """Every release on the private record that the audit of `months` holds, in the order made."""
    return [
        audit.month_release(month, figures)
        for month, figures in disclosed_releases(connection, months_audited_with(months))
    ]


def protected_months(
    geographies: Geographies,
    record: Sequence[audit.MonthRelease],
    built: Mapping[str, MonthRelease],
    rebuild: Callable[[str, Collection[Cell]], MonthRelease],
) -> dict[str, Protected | str]:
    """Each month of `built`, in calendar order, held by the attacker's audit to every release on the
    record (`record`, in the order made) and to the months before it here (published before it, as if
    each were): the cells the audit withholds besides are withheld by rebuilding the month with them
    (`rebuild`: the release code, whose rules then protect them in turn). A month the audit cannot
    protect: why (one line), and it is not published. A month whose build has problems is left as
    built (it is blocked anyway)."""
    layout = layout_of(geographies)
    months = sorted(built)
    protection = audit.Protection(layout, [r for r in record if any(audit.within_reach(r.month, m) for m in months)])
    decided: dict[str, Protected | str] = {}
    for month in months:
        release = built[month]
        if release.problems:
            decided[month] = Protected(release, audit.Audit())
            continue
        candidate = audit.month_release(month, release.figures)
        try:
            chosen, _ = protection.protect(candidate, report=False)  # `published` reports it
        except audit.Unprotectable as exc:
            decided[month] = f"{month}: not published: {exc}"
            continue
        if chosen.published != candidate.published:
            release = rebuild(month, set(chosen.figures) - chosen.published)
            if release.problems:
                decided[month] = f"{month}: not published: {release.problems[0]}"
                continue
        final = audit.month_release(month, release.figures)
        if not final.published <= chosen.published:  # the rules never publish what the audit withheld
            raise ValueError(f"{month}: the rebuilt release publishes a cell the attacker's audit withheld")
        found = protection.published(final)
        decided[month] = Protected(release, _reported(layout, protection.releases, month, found))
    return decided


def _reported(
    layout: audit.Layout, releases: Sequence[audit.MonthRelease], month: str, found: audit.Audit
) -> audit.Audit:
    """The audit a month's release reports: over the releases of it and of the months before it, so
    that the same month published again, or in a range rather than alone, reports the same (the
    protection itself holds every release, later months' too: `found`, passed)."""
    if all(Month.parse(r.month) <= Month.parse(month) for r in releases):
        return found
    # Within reach, as a month published alone is audited (not every release since the series began).
    earlier = [r for r in releases if Month.parse(r.month) <= Month.parse(month) and audit.within_reach(r.month, month)]
    return audit.audit_releases(layout, earlier, month, mode="report")  # as `found` was solved
