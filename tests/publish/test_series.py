"""The series after a release is the series the row-by-row writer made before issue 18, byte for byte.

Every figure is SYNTHETIC. A release now re-decides suppression across months only where it can
change (the whole series once, then the windows holding each month it replaces, for the
geographies whose flows in that month changed), over whole columns, and writes only files whose
bytes change. The public keeps every release, so publishing less must never publish anything
else: these properties hold the new writer to the old one (`legacy_series`, `legacy_rolling`) on
the attacker's worlds of test_differencing.py (held-back and missing returns, months published
late, resubmissions), release by release and for ranges of months published at once.
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.publish.assembly import derived_figures, release_rows
from pipelines.publish.disclosure import EarlierFigures, suppress_rolling_windows
from pipelines.publish.ees import MONTH_NAMES
from pipelines.publish.formats import Publication, ees_data, revisions
from pipelines.publish.series import PublishedSeries, rolling_sums
from pipelines.store.disclosed import DISCLOSED_COLUMNS

from .legacy_rolling import suppress_rolling_windows as row_by_row
from .legacy_series import LegacySeries
from .synthetic import folder_bytes
from .test_differencing import Plan, month_text, plans

SETTLE = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- suppression across months, over whole columns ------------------------------------------

FLOW_TEXTS = ["0", "3", "12", "12", "12", "40", "c", "x", "z", "", "012", "7.0", "-2"]
SUM_TEXTS = ["144", "144", "150", "c", "x", "0", "144.0", "0144"]
OTHER_TEXTS = ["30000", "c", "x", "12", "48.0", "0"]


@st.composite
def series_rows(draw) -> tuple[list[dict[str, str]], set[tuple[str, str, str]]]:
    """Rows of a few geographies over up to 30 months, with gaps, duplicates and odd cells."""
    rolling, derived = rolling_sums(), derived_figures()
    geographies = [("E06000001", ""), ("E06000002", ""), ("", "E12000002")][: draw(st.integers(1, 3))]
    rows = []
    for la_code, region in geographies:
        for t in sorted(draw(st.sets(st.integers(0, 29), min_size=1, max_size=30))):
            year, month = divmod(t, 12)
            row = {
                "time_period": str(2024 + year),
                "time_identifier": MONTH_NAMES[month],
                "new_la_code": la_code,
                "region_code": region,
                "country_code": "E92000001",
            }
            for column in {c for d in derived for c in (d.column, d.numerator, d.denominator)}:
                row[column] = draw(st.sampled_from(OTHER_TEXTS))
            row.update({flow: draw(st.sampled_from(FLOW_TEXTS)) for flow in rolling.values()})
            row.update({column: draw(st.sampled_from(SUM_TEXTS)) for column in rolling})
            rows.append(row)
            if draw(st.integers(0, 40)) == 0:
                rows.append(dict(row))  # the same geography and month twice: the last row counts
    rows = draw(st.permutations(rows))
    stale = {
        (code or region, f"{row['time_period']}-{MONTH_NAMES.index(row['time_identifier']) + 1:02d}", column)
        for row in rows
        for code, region in [(row["new_la_code"], row["region_code"])]
        for column in rolling
        if draw(st.integers(0, 15)) == 0
    }
    return list(rows), stale


@SETTLE
@given(series_rows())
def test_suppression_across_months_decides_every_cell_as_the_row_by_row_rule(drawn):
    rows, stale = drawn
    ours, theirs = copy.deepcopy(rows), copy.deepcopy(rows)
    changed = suppress_rolling_windows(ours, rolling_sums(), derived_figures(), stale)
    reference = row_by_row(theirs, rolling_sums(), derived_figures(), stale)
    where = {id(row): k for k, row in enumerate(ours)}
    where_reference = {id(row): k for k, row in enumerate(theirs)}
    assert [(where[id(r)], c, b) for r, c, b in changed] == [(where_reference[id(r)], c, b) for r, c, b in reference]
    assert ours == theirs


@SETTLE
@given(series_rows(), st.data())
def test_rows_that_may_not_change_are_windows_only(drawn, data):
    """Limited to some rows, the rule changes exactly what it changes in them when free to change any."""
    rows, stale = drawn
    chosen = data.draw(st.sets(st.sampled_from(range(len(rows)))))
    free, limited = copy.deepcopy(rows), copy.deepcopy(rows)
    everywhere = suppress_rolling_windows(free, rolling_sums(), derived_figures(), stale)
    only = suppress_rolling_windows(
        limited, rolling_sums(), derived_figures(), stale, changeable={id(limited[k]) for k in chosen}
    )
    position = {id(row): k for k, row in enumerate(free)}
    limited_position = {id(row): k for k, row in enumerate(limited)}
    expected = [(position[id(r)], c, b) for r, c, b in everywhere if position[id(r)] in chosen]
    assert [(limited_position[id(r)], c, b) for r, c, b in only] == expected
    assert all(limited[k] == (free[k] if k in chosen else rows[k]) for k in range(len(rows)))


# --- the series, release after release ----------------------------------------------------------


def _releases(plan: Plan, grouping: list[bool]):
    """Each release of the plan as (months, their rows, stale totals): a month published, or, after a
    resubmission, the month and the twelve after it that are published, again (as a run validates
    and publishes them). Where `grouping` says so, the next step joins the range (months published,
    several resubmissions before one run), in calendar order, as publish_months takes them."""
    world, register = plan.world, plan.world.register()
    disclosed: dict[int, pd.DataFrame] = {}
    published: set[int] = set()
    pending: list[int] = []
    joins = iter(grouping)

    def build(t: int) -> list[dict[str, str]]:
        record = disclosed.get(t, pd.DataFrame(columns=["release", *DISCLOSED_COLUMNS]))
        earlier = EarlierFigures.from_record(
            record["release"], zip(record["geography"], record["indicator"]), record["figure"], record["published"]
        )
        built = release_rows(month_text(t), register, world.accepted_values(t), earlier)
        disclosed[t] = pd.concat([record, built.figures.assign(release=str(len(disclosed)))], ignore_index=True)
        return built.rows

    def flush():
        if pending:
            months = sorted(set(pending))
            yield [month_text(t) for t in months], [build(t) for t in months], world.stale_totals()
            pending.clear()

    for step in plan.steps:
        if not next(joins, False):
            yield from flush()
        if step[0] == "publish":
            if step[1] in pending:
                yield from flush()
            pending.append(step[1])
            published.add(step[1])
            continue
        _, authority, t, value, status = step
        if value is not None:
            world.new_value(authority, t, value)
        world.submit(authority, t, status)
        if t in published:
            pending.extend(later for later in range(t, t + 13) if later in published and later not in pending)
    yield from flush()


@st.composite
def resubmitted_together(draw) -> tuple[Plan, list[bool]]:
    """Every month published, then several resubmissions (new counts, new hold-backs) before one run
    republishes each resubmitted month and the twelve after it, as one range."""
    plan = draw(plans(regions=2, max_authorities=2, months=15, resubmissions=0))
    authorities = len(plan.world.authorities)
    resubmissions = draw(
        st.lists(
            st.tuples(
                st.integers(0, authorities - 1),
                st.integers(0, plan.months - 1),
                st.sampled_from([0, 2, 7, 12, 20, 41]),
                st.sampled_from(["accepted", "accepted", "held_back"]),
            ),
            min_size=2,
            max_size=4,
        )
    )
    steps = [*plan.steps, *(("resubmit", *resubmission) for resubmission in resubmissions)]
    return Plan(plan.world, plan.months, steps), [False] * len(plan.steps) + [True] * len(resubmissions)


def _assert_as_the_row_by_row_writer(plan: Plan, grouping: list[bool]) -> None:
    with tempfile.TemporaryDirectory() as ours, tempfile.TemporaryDirectory() as theirs:
        for months, rows, stale in _releases(plan, grouping):
            series = PublishedSeries.read(Path(ours), stale)
            for month, month_rows in zip(months, rows):
                series.replace_month(month, [dict(row) for row in month_rows], as_of=f"{month}-28")
            for written in (ees_data, revisions):
                written.write(Path(ours), Publication(series))
            for month, month_rows in zip(months, rows):
                reference = LegacySeries.read(Path(theirs), stale)
                reference.replace_month(month, [dict(row) for row in month_rows], as_of=f"{month}-28")
                reference.write(Path(theirs))
            assert folder_bytes(Path(ours)) == folder_bytes(Path(theirs)), months


@SETTLE
@given(plans(regions=2, max_authorities=2, months=15), st.lists(st.booleans(), max_size=40))
def test_the_series_is_what_the_row_by_row_writer_made_release_after_release(plan, grouping):
    """Ranges of months published in one go by the new series give, after each release, the bytes the
    old writer gave publishing the same months one at a time (series, snapshots, revisions)."""
    _assert_as_the_row_by_row_writer(plan, grouping)


@SETTLE
@given(resubmitted_together())
def test_several_resubmissions_republished_in_one_range_give_the_row_by_row_bytes(drawn):
    """A month after the first in a range whose flows changed re-decides the later months' windows of
    those geographies only; the bytes are still the old writer's."""
    _assert_as_the_row_by_row_writer(*drawn)
