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


def record_releases(
    home: DataHome,
    releases: Mapping[str, pd.DataFrame],
    recorded: Mapping[str, set[str]],
    audits: Mapping[str, Mapping[str, object]],
) -> None:
    """Add each month's release (the figures it disclosed, and the audit summary it reports) to the
    record, unless the record holds it already (`recorded`: the names of each month's releases on it):
    a release published again adds nothing, and then the warehouse is not opened for writing at all."""
    names = {month: release_name(figures) for month, figures in releases.items()}
    new = {month: figures for month, figures in releases.items() if names[month] not in recorded.get(month, set())}
    if new:
        with connect(home) as connection:
            record_disclosed(connection, new, names, {month: audits[month] for month in new if month in audits})


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
    """A month as it will be published, after the attacker's audit, and the audit's summary it reports
    (`audit.Audit.summary`)."""

    release: MonthRelease
    audit: dict[str, object]


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
    reported: Mapping[str, tuple[str, dict]] | None = None,
) -> dict[str, Protected | str]:
    """Each month of `built`, in calendar order, held by the attacker's audit to every release on the
    record (`record`, in the order made) and to the months before it here (published before it, as if
    each were): the cells the audit withholds besides are withheld by rebuilding the month with them
    (`rebuild`: the release code, whose rules then protect them in turn). A month the audit cannot
    protect: why (one line), and it is not published. A month whose build has problems is left as
    built (it is blocked anyway).

    Each month reports its audit as the attacker stands at its publication (every release within
    reach, later months' too), except a month published again unchanged: it reports what its release
    reported when first made (`reported`: each month's latest release on the record and its summary,
    `store.disclosed.latest_audits`), so that publishing it again changes no byte."""
    layout = layout_of(geographies)
    months = sorted(built)
    protection = audit.Protection(layout, [r for r in record if any(audit.within_reach(r.month, m) for m in months)])
    decided: dict[str, Protected | str] = {}
    for month in months:
        release = built[month]
        if release.problems:
            decided[month] = Protected(release, audit.Audit().summary())
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
        served = (reported or {}).get(month)
        if served is not None and served[0] == release_name(release.figures):
            protection.published(final, report=False)
            decided[month] = Protected(release, served[1])
        else:
            decided[month] = Protected(release, protection.published(final).summary())
    return decided
