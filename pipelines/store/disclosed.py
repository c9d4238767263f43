"""The private record of what each release disclosed: every count cell's exact figure, and whether
it went out as a number or was withheld.

Never served. Disclosure control of a month published again reads it (`publish/disclosure.py`,
`EarlierFigures`): the public keeps every release, so what an earlier release of the month printed,
or hid, bounds what this one may. Rows are only ever added, and adding the same release again adds
nothing.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Mapping, Sequence

import duckdb
import pandas as pd

from pipelines.store.warehouse import has_table, transaction

DISCLOSED_COLUMNS = ("geography", "indicator", "figure", "published")  # the table: store/warehouse.py


def read_disclosed(connection: duckdb.DuckDBPyConnection, month: str) -> pd.DataFrame:
    """Every figure each earlier release of `month` disclosed or withheld, with the release it
    belongs to (`release`; empty for a first release)."""
    return read_disclosed_by_month(connection, [month])[month]


def read_disclosed_by_month(connection: duckdb.DuckDBPyConnection, months: Sequence[str]) -> dict[str, pd.DataFrame]:
    """`read_disclosed` of each of `months`, in one query."""
    columns = ["release", *DISCLOSED_COLUMNS]
    return {
        month: pd.DataFrame(rows, columns=columns).astype({"figure": "int64", "published": "bool"})
        for month, rows in disclosed_by_month(connection, months).items()
    }


def disclosed_by_month(
    connection: duckdb.DuckDBPyConnection, months: Sequence[str]
) -> dict[str, list[tuple[str, str, str, int, bool]]]:
    """Each of `months`' record as rows (release, geography, indicator, figure, published), release by
    release in the order they were recorded."""
    record: dict[str, list[tuple[str, str, str, int, bool]]] = {month: [] for month in months}
    if not has_table(connection, "disclosed_figures"):  # a snapshot of a warehouse made before the record existed
        return record
    for period, *row in connection.execute(
        f"SELECT period, release, {', '.join(DISCLOSED_COLUMNS)} FROM disclosed_figures "
        "WHERE list_contains(?, period) ORDER BY period, recorded_at, release, geography, indicator",
        [list(months)],
    ).fetchall():
        record[period].append(tuple(row))
    return record


def release_name(figures: pd.DataFrame) -> str:
    """A release's name on the record: the sha256 of what it disclosed (as CSV, by geography and
    indicator), so the same release twice is one."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(DISCLOSED_COLUMNS)
    writer.writerows(sorted(zip(*(figures[column].tolist() for column in DISCLOSED_COLUMNS))))
    return hashlib.sha256(text.getvalue().encode()).hexdigest()


def latest_audits(connection: duckdb.DuckDBPyConnection, months: Sequence[str]) -> dict[str, tuple[str, dict]]:
    """Each of `months`' latest release on the record (the one served) and the audit summary it reported,
    where the record holds one (a release recorded before summaries were kept has none)."""
    if not months or not has_table(connection, "disclosed_audits"):
        return {}
    rows = connection.execute(
        "WITH latest AS (SELECT period, arg_max(release, recorded_at) AS release FROM disclosed_figures "
        "WHERE list_contains(?, period) GROUP BY period) "
        "SELECT latest.period, latest.release, disclosed_audits.summary FROM latest "
        "JOIN disclosed_audits USING (period, release)",
        [list(months)],
    ).fetchall()
    return {period: (release, json.loads(summary)) for period, release, summary in rows}


def record_disclosed(
    connection: duckdb.DuckDBPyConnection,
    releases: Mapping[str, pd.DataFrame],
    names: Mapping[str, str] | None = None,
    audits: Mapping[str, Mapping[str, object]] | None = None,
) -> None:
    """Add each month's release (its figures, columns `DISCLOSED_COLUMNS`; its name, if known; the
    audit summary it reports, if any) to the record, in one statement each; a release recorded before
    adds nothing."""
    if not releases:
        return
    names = {month: (names or {}).get(month) or release_name(figures) for month, figures in releases.items()}
    reported = [
        (month, names[month], json.dumps(dict(summary)))  # in its own order: printed as read
        for month, summary in (audits or {}).items()
        if month in releases
    ]
    named = pd.concat(
        [
            figures[list(DISCLOSED_COLUMNS)].assign(period=month, release=names[month])
            for month, figures in releases.items()
        ],
        ignore_index=True,
    )
    connection.register("release_figures", named)
    try:
        with transaction(connection):
            connection.execute(
                "INSERT OR IGNORE INTO disclosed_figures SELECT period, release, geography, indicator, "
                "CAST(figure AS BIGINT), published, now() FROM release_figures"
            )
            if reported:
                connection.executemany(
                    "INSERT OR IGNORE INTO disclosed_audits VALUES (?, ?, ?, now())", [list(row) for row in reported]
                )
    finally:
        connection.unregister("release_figures")


def disclosed_releases(connection: duckdb.DuckDBPyConnection, months: Sequence[str]) -> list[tuple[str, pd.DataFrame]]:
    """Every release of any of `months` on the record, in the order they were recorded (then by
    month): (month, its figures as columns `DISCLOSED_COLUMNS`). What the attacker's audit holds."""
    if not months or not has_table(connection, "disclosed_figures"):
        return []
    frame = connection.execute(
        f"SELECT period, release, {', '.join(DISCLOSED_COLUMNS)}, "
        "min(recorded_at) OVER (PARTITION BY period, release) AS first_recorded FROM disclosed_figures "
        "WHERE list_contains(?, period) ORDER BY first_recorded, period, release, geography, indicator",
        [list(months)],
    ).df()
    releases = []
    for (month, _), figures in frame.groupby(["period", "release"], sort=False):
        releases.append(
            (
                str(month),
                figures[list(DISCLOSED_COLUMNS)]
                .astype({"figure": "int64", "published": "bool"})
                .reset_index(drop=True),
            )
        )
    return releases
