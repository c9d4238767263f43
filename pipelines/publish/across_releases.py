"""Disclosure across releases: the public keeps every release, so a month published again is held to
what its earlier releases disclosed (`disclosure.EarlierFigures`, read from the warehouse's private
record, `store/disclosed.py`), and each release adds what it disclosed to that record before it is
served. Also the regional and England sums that add up an authority's stale sum (one returned
before a month of its window was resubmitted), which only the warehouse's exact figures show.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import duckdb
import pandas as pd

from pipelines.home import DataHome
from pipelines.publish.assembly import Geographies
from pipelines.publish.disclosure import EarlierFigures
from pipelines.publish.ees import ENGLAND_CODE
from pipelines.store.disclosed import record_disclosed, release_name
from pipelines.store.month import sums_disagreeing_with_their_months
from pipelines.store.warehouse import connect


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
