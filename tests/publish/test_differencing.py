"""Play the attacker against the published series: no combination of published numbers gives back
a count we withheld.

Every figure here is SYNTHETIC. Hypothesis draws authorities' monthly s47 enquiries (small counts
likely), months never submitted (the year before the series), returns held back or missing,
months published late and resubmissions; the real code builds each release (`release_rows`)
and writes the cumulative series and `revisions.csv` (`PublishedSeries`, as `publish_months`
does). The attacker holds every release's series, in order, and turns each published number
into a linear equation in the unknown monthly counts:

- a monthly count is its own variable; a twelve-month sum is the sum of its window's variables
  as the authority had them when it made that return (a resubmitted month is a new variable,
  so consecutive releases combine soundly);
- a rate times the published population gives back every sum whose rate it rounds to;
- a regional or England figure is the sum of its authorities' (taken as exact, though we
  round it: the attacker is given more than we publish).

Exact Gaussian elimination over the rationals then says which variables the equations
determine. Consecutive differences of sums, window sums minus published months, rates times
populations and differences across releases are all linear combinations of these equations,
so the solver tries them all at once. No determined variable may be a month we never
published as a number.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.publish import audit
from pipelines.publish.across_releases import protected_months
from pipelines.publish.assembly import Geographies, release_rows
from pipelines.publish.disclosure import EarlierFigures, format_number, geography_code
from pipelines.publish.ees import (
    ENGLAND_CODE,
    LOCAL_AUTHORITY,
    is_number,
    month_of,
    published_indicators,
    read_csv,
)
from pipelines.publish.files import REVISIONS_FILE, SERIES_FILE
from pipelines.publish.formats import Publication, ees_data, revisions
from pipelines.publish.screener import screen_revisions
from pipelines.publish.series import PublishedSeries
from pipelines.store.disclosed import DISCLOSED_COLUMNS

FLOW, SUM, RATE, POPULATION = "s47_enquiries", "s47_enquiries_12m", "s47_rate_per_10k", "population_0_17"
COUNTS = [i.column for i in published_indicators() if i.is_count]
INDICATORS = [i.column for i in published_indicators()]
FIRST_YEAR = 2024
WINDOW = 12
# Each authority draws how often its monthly count is small (1 to 5) and how often its return is
# held back or missing: never, now and then, often. Sums are published only over a clean year,
# so some authorities must have clean years for the attack to have sums to work on.
LARGE, SMALL = [0, 6, 7, 9, 12, 20, 41], [1, 2, 3, 4, 5]
COUNT_PALETTES = [LARGE, LARGE * 3 + [2], LARGE + SMALL]
STATUS_PALETTES = [
    ["accepted"],
    ["accepted"] * 20 + ["held_back", "missing"],
    ["accepted"] * 4 + ["held_back", "missing"],
]
MONTHLY = st.sampled_from(LARGE + SMALL)

Equation = tuple[dict[int, int], Fraction]


def month_text(t: int) -> str:
    """Month t of the synthetic calendar (t = 0 is January 2024; t < 0 is before the series)."""
    year, month = divmod(t, 12)
    return f"{FIRST_YEAR + year}-{month + 1:02d}"


def ordinal(month: str) -> int:
    return (int(month[:4]) - FIRST_YEAR) * 12 + int(month[5:]) - 1


# --- the solver -----------------------------------------------------------------------------


class Solver:
    """Exact reduced row echelon form over the rationals, built one equation at a time."""

    def __init__(self) -> None:
        self.rows: dict[int, tuple[dict[int, Fraction], Fraction]] = {}  # pivot -> (row with row[pivot] = 1, rhs)

    def add(self, coefficients: dict[int, int], value: Fraction) -> None:
        row = {v: Fraction(c) for v, c in coefficients.items() if c}
        rhs = Fraction(value)
        for pivot in [v for v in row if v in self.rows]:
            factor = row.pop(pivot)
            pivot_row, pivot_rhs = self.rows[pivot]
            for v, c in pivot_row.items():
                if v != pivot:
                    row[v] = row.get(v, 0) - factor * c
                    if row[v] == 0:
                        del row[v]
            rhs -= factor * pivot_rhs
        if not row:
            assert rhs == 0, "the published numbers contradict each other: the attacker's model is wrong"
            return
        pivot = min(row)
        scale = row[pivot]
        row = {v: c / scale for v, c in row.items()}
        rhs /= scale
        for other, (other_row, other_rhs) in list(self.rows.items()):
            factor = other_row.get(pivot)
            if factor:
                updated = {v: other_row.get(v, 0) - factor * row.get(v, 0) for v in other_row.keys() | row.keys()}
                self.rows[other] = ({v: c for v, c in updated.items() if c}, other_rhs - factor * rhs)
        self.rows[pivot] = (row, rhs)

    def determined(self) -> dict[int, Fraction]:
        """Variables the equations fix to one value: a pivot whose reduced row has nothing else."""
        return {pivot: rhs for pivot, (row, rhs) in self.rows.items() if len(row) == 1}


def test_the_solver_finds_the_classic_differencing_attack():
    """x(m-12) = x(m) - (x_12m(m) - x_12m(m-1)): two sums and a month determine the month a year earlier."""
    solver = Solver()
    solver.add({v: 1 for v in range(0, 12)}, Fraction(40))  # x_12m(m-1) over months 0..11
    solver.add({v: 1 for v in range(1, 13)}, Fraction(37))  # x_12m(m) over months 1..12
    assert solver.determined() == {}
    solver.add({12: 1}, Fraction(0))  # x(m) = 0 published
    assert solver.determined() == {0: Fraction(3), 12: Fraction(0)}


# --- the authorities and what they returned ---------------------------------------------------


@dataclass
class Authority:
    code: str
    region: str
    population: int


@dataclass(frozen=True)
class Return:
    status: str  # accepted, held_back
    flow: int  # the variable of the month's count as returned
    window: tuple[int, ...]  # the variables of its twelve-month sum, as the authority then had them


@dataclass
class World:
    """SYNTHETIC truth: every authority's monthly counts, as versioned variables."""

    authorities: list[Authority]
    values: list[int] = field(default_factory=list)  # variable -> its value
    origin: list[tuple[int, int]] = field(default_factory=list)  # variable -> (authority, month)
    current: dict[tuple[int, int], int] = field(default_factory=dict)  # (authority, month) -> variable now
    returns: dict[tuple[int, int], Return] = field(default_factory=dict)

    def new_value(self, authority: int, t: int, value: int) -> None:
        self.values.append(value)
        self.origin.append((authority, t))
        self.current[(authority, t)] = len(self.values) - 1

    def submit(self, authority: int, t: int, status: str) -> None:
        window = tuple(self.current[(authority, t - k)] for k in range(WINDOW))
        self.returns[(authority, t)] = Return(status, self.current[(authority, t)], window)

    def stale_totals(self) -> set[tuple[str, str, str]]:
        """The regional and England sums (code, month, column) that add up an authority's sum which
        differs from its twelve accepted months now: what the warehouse tells the release."""
        stale = set()
        for (n, t), made in self.returns.items():
            months = [self.returns.get((n, t - k)) for k in range(WINDOW)]
            if made.status != "accepted" or not all(m is not None and m.status == "accepted" for m in months):
                continue
            if sum(self.values[v] for v in made.window) != sum(self.values[m.flow] for m in months):
                stale |= {(self.authorities[n].region, month_text(t), SUM), (ENGLAND_CODE, month_text(t), SUM)}
        return stale

    def register(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "old_la_code": f"{800 + n}",
                    "new_la_code": a.code,
                    "la_name": f"Authority {n}",
                    "region_code": a.region,
                    "region_name": f"Region {a.region[-1]}",
                    "la_type": "",
                }
                for n, a in enumerate(self.authorities)
            ]
        )

    def accepted_values(self, t: int) -> pd.DataFrame:
        """What the warehouse's indicator_values would hold for month t: accepted returns only."""
        rows = []
        for n, authority in enumerate(self.authorities):
            made = self.returns.get((n, t))
            if made is None or made.status != "accepted":
                continue
            figures = dict.fromkeys(COUNTS)
            figures.update(
                {
                    FLOW: self.values[made.flow],
                    SUM: sum(self.values[v] for v in made.window),
                    POPULATION: authority.population,
                }
            )
            rows.append({"la_code": authority.code, **figures})
        return pd.DataFrame(rows, columns=["la_code", *COUNTS])


@dataclass(frozen=True)
class Plan:
    world: World
    months: int
    steps: list[tuple]  # ("publish", t) or ("resubmit", authority, t, new value or None, status)


@st.composite
def plans(draw, regions: int = 1, max_authorities: int = 3, months: int = 16, resubmissions: int = 4) -> Plan:
    authorities = []
    for r in range(regions):
        for a in range(draw(st.integers(1 if regions == 1 else 2, max_authorities))):
            authorities.append(Authority(f"E0{r + 6}0000{a:02d}", f"E1200000{r + 1}", draw(st.integers(1500, 60000))))
    world = World(authorities)
    for n in range(len(authorities)):
        counts = draw(
            st.lists(
                st.sampled_from(draw(st.sampled_from(COUNT_PALETTES))),
                min_size=months + WINDOW - 1,
                max_size=months + WINDOW - 1,
            )
        )
        statuses = draw(
            st.lists(st.sampled_from(draw(st.sampled_from(STATUS_PALETTES))), min_size=months, max_size=months)
        )
        for t, value in zip(range(-(WINDOW - 1), months), counts):
            world.new_value(n, t, value)
        for t, status in zip(range(months), statuses):
            if status != "missing":
                world.submit(n, t, status)
    late = draw(st.sets(st.integers(0, months - 1), max_size=3))
    order = [t for t in range(months) if t not in late] + draw(st.permutations(sorted(late)))
    steps: list[tuple] = [("publish", t) for t in order]
    for _ in range(draw(st.integers(0, resubmissions))):
        position = draw(st.integers(1, len(steps)))
        steps.insert(
            position,
            (
                "resubmit",
                draw(st.integers(0, len(authorities) - 1)),
                draw(st.integers(0, months - 1)),
                draw(st.one_of(st.none(), MONTHLY)),
                draw(st.sampled_from(["accepted", "accepted", "held_back"])),
            ),
        )
    return Plan(world, months, steps)


# --- publishing through the real code ---------------------------------------------------------


@dataclass
class Release:
    series: list[dict[str, str]]
    returns: dict[tuple[int, int], Return]  # what each published authority-month's cells were made from


def publish_all(plan: Plan, folder: Path, across_months: bool = True) -> list[Release]:
    """Each step's release, built and written by the pipeline's own functions, in order.

    `across_months=False` keeps each month's rows as `release_rows` built them, with no
    suppression across months: what we published before this rule, for the control tests.
    """
    world, register = plan.world, plan.world.register()
    geographies = Geographies.of(register)
    made: list[audit.MonthRelease] = []  # every release so far, in the order made: the record the audit reads
    published: dict[int, list[dict[str, str]]] = {}
    disclosed: dict[int, pd.DataFrame] = {}  # the private record publish_month keeps in the warehouse
    releases = []

    def publish(t: int) -> None:
        month = month_text(t)
        record = disclosed.get(t, pd.DataFrame(columns=["release", *DISCLOSED_COLUMNS]))
        earlier = EarlierFigures.from_record(
            record["release"], zip(record["geography"], record["indicator"]), record["figure"], record["published"]
        )
        values = world.accepted_values(t)
        built = release_rows(month, geographies, values, earlier)
        if across_months:  # the attacker's audit over every release so far, as `publish_months` runs it
            decided = protected_months(
                geographies,
                made,
                {month: built},
                lambda month, withheld: release_rows(month, geographies, values, earlier, withheld=withheld),
            )[month]
            assert not isinstance(decided, str), decided
            built = decided.release
        rows = built.rows
        assert built.problems == []
        disclosed[t] = pd.concat([record, built.figures.assign(release=str(len(releases)))], ignore_index=True)
        made.append(audit.month_release(month, built.figures))
        published[t] = rows
        if across_months:
            folder_series = PublishedSeries.read(
                folder, world.stale_totals()
            )  # one release, as publish_months writes it
            folder_series.replace_month(month, rows, as_of=f"{month}-28")
            for written_format in (ees_data, revisions):
                written_format.write(folder, Publication(folder_series))
            series = read_csv(folder / SERIES_FILE)[1]
        else:
            series = [row for month_rows in published.values() for row in month_rows]
        releases.append(Release(series, dict(world.returns)))

    for step in plan.steps:
        if step[0] == "publish":
            publish(step[1])
            continue
        _, authority, t, value, status = step
        if value is not None:
            world.new_value(authority, t, value)
        world.submit(authority, t, status)
        if t in published:  # an accepted resubmission of a published month publishes it again
            publish(t)
    return releases


# --- the attack -------------------------------------------------------------------------------


def sums_a_rate_allows(rate: str, population: int, multiplier: int, dp: int) -> list[int]:
    """Every whole sum that rounds to the published rate with the published population."""
    value = Fraction(Decimal(rate))
    low = int((value - 1) * population / multiplier) - 1
    high = int((value + 1) * population / multiplier) + 2
    return [s for s in range(max(low, 0), high) if format_number(Fraction(s * multiplier, population), dp) == rate]


def _equation(variables: Iterable[int], value: int | Fraction) -> Equation:
    coefficients: dict[int, int] = {}
    for v in variables:
        coefficients[v] = coefficients.get(v, 0) + 1
    return coefficients, Fraction(value)


def equations(plan: Plan, releases: list[Release], with_totals: bool) -> Iterable[Equation]:
    """Every published number of every release as an equation in the monthly variables."""
    world = plan.world
    index = {a.code: n for n, a in enumerate(world.authorities)}
    rate = next(i for i in published_indicators() if i.column == RATE)
    for release in releases:
        for row in release.series:
            t = ordinal(month_of(row["time_period"], row["time_identifier"]))
            code = geography_code(row)
            if row["geographic_level"] == LOCAL_AUTHORITY:
                made = release.returns.get((index[code], t))
                if made is None or made.status != "accepted":
                    assert {row[FLOW], row[SUM], row[RATE]} == {"x"}, (code, t, row[FLOW])
                    continue
                if is_number(row[FLOW]):
                    assert int(row[FLOW]) == world.values[made.flow]
                    yield _equation([made.flow], int(row[FLOW]))
                if is_number(row[SUM]):
                    yield _equation(made.window, int(row[SUM]))
                if is_number(row[RATE]):
                    candidates = sums_a_rate_allows(row[RATE], int(row[POPULATION]), rate.multiplier, rate.publish_dp)
                    assert sum(world.values[v] for v in made.window) in candidates
                    if len(candidates) == 1:  # the rate times the population gives the sum back
                        yield _equation(made.window, candidates[0])
            elif with_totals:
                # A total is rounded to 10, but the attacker is handed its exact value: the safe side.
                members = [
                    release.returns.get((index[a.code], t))
                    for a in world.authorities
                    if code in (a.region, ENGLAND_CODE)
                ]
                if not any(is_number(row[c]) for c in (FLOW, SUM, RATE)):
                    continue
                assert all(m is not None and m.status == "accepted" for m in members), (code, t)
                flows, windows = [m.flow for m in members], [v for m in members for v in m.window]
                if is_number(row[FLOW]):
                    yield _equation(flows, sum(world.values[v] for v in flows))
                if is_number(row[SUM]) or is_number(row[RATE]):
                    yield _equation(windows, sum(world.values[v] for v in windows))


def recovered(plan: Plan, releases: list[Release], with_totals: bool) -> list[str]:
    """Each withheld monthly count the published numbers determine, described for the failure message.

    A resubmission is a new variable even when its figure is unchanged; the old one, determined,
    tells the public nothing when that authority-month has been published with the same figure."""
    solver, seen = Solver(), set()
    for coefficients, value in equations(plan, releases, with_totals):
        key = (tuple(sorted(coefficients.items())), value)
        if key not in seen:
            seen.add(key)
            solver.add(coefficients, value)
    index = {a.code: n for n, a in enumerate(plan.world.authorities)}
    published_as_number = {
        release.returns[(index[row["new_la_code"]], ordinal(month_of(row["time_period"], row["time_identifier"])))].flow
        for release in releases
        for row in release.series
        if row["geographic_level"] == LOCAL_AUTHORITY and is_number(row[FLOW])
    }
    world = plan.world
    public = {(world.origin[v], world.values[v]) for v in published_as_number}
    return [
        f"authority {world.origin[v][0]}, {month_text(world.origin[v][1])}: {value} recovered "
        f"(variable {v}), never published as a number"
        for v, value in sorted(solver.determined().items())
        if (world.origin[v], value) not in public
    ]


def assert_revisions_hold_only_published_figures(folder: Path, releases: list[Release]) -> None:
    """revisions.csv passes its screen, and each figure in it was once published in that very cell."""
    assert screen_revisions(folder) == []
    shown: dict[tuple[str, str, str], set[str]] = {}
    for release in releases:
        for row in release.series:
            key = (month_of(row["time_period"], row["time_identifier"]), geography_code(row))
            for column in INDICATORS:
                shown.setdefault((*key, column), set()).add(row[column])
    for record in read_csv(folder / REVISIONS_FILE)[1]:
        for side in ("old", "new"):
            if is_number(record[side]):
                assert record[side] in shown[(record["month"], record["geography"], record["indicator"])], record


# --- the properties ---------------------------------------------------------------------------

# CSC_ATTACK_EXAMPLES=300 for a long local run (40 keeps CI's time; the attacks below run the audit).
ATTACKS = settings(
    max_examples=int(os.environ.get("CSC_ATTACK_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@ATTACKS
@given(plans())
def test_no_combination_of_published_authority_figures_recovers_a_withheld_month(plan):
    """Up to three authorities, sixteen months after a year never submitted, held-back and missing
    returns, months published late, resubmissions (new counts, late acceptances, new hold-backs)."""
    with tempfile.TemporaryDirectory() as folder:
        releases = publish_all(plan, Path(folder))
        assert recovered(plan, releases, with_totals=False) == []
        assert_revisions_hold_only_published_figures(Path(folder), releases)


@ATTACKS
@given(plans(regions=2, max_authorities=3, months=15))
def test_regional_and_england_totals_give_no_withheld_month_back_either(plan):
    """Two regions of two or three authorities, resubmissions among them: the attacker adds every
    regional and England figure of every release, as if unrounded, to the authorities' figures."""
    with tempfile.TemporaryDirectory() as folder:
        releases = publish_all(plan, Path(folder))
        assert recovered(plan, releases, with_totals=True) == []


def _one_authority_every_month_accepted(months: int) -> Plan:
    world = World([Authority("E06000006", "E12000002", 30000)])
    for t in range(-(WINDOW - 1), months):
        world.new_value(0, t, 3 if t == -11 else 12)  # February 2023, never published: 3
    for t in range(months):
        world.submit(0, t, "accepted")
    return Plan(world, months, [("publish", t) for t in range(months)])


def test_without_suppression_across_months_the_attacker_recovers_a_month_never_published(tmp_path):
    """The control: what we published before this rule gives back February 2023's 3 from the first
    two months of the series (x(m-12) = x(m) - (x_12m(m) - x_12m(m-1)))."""
    plan = _one_authority_every_month_accepted(14)
    releases = publish_all(plan, tmp_path, across_months=False)
    leaks = recovered(plan, releases, with_totals=False)
    assert any("2023-02: 3 recovered" in leak for leak in leaks), leaks
    assert len(leaks) == WINDOW - 1  # every month of the year before the series


def test_with_the_rule_the_same_months_give_nothing_back(tmp_path):
    plan = _one_authority_every_month_accepted(14)
    releases = publish_all(plan, tmp_path)
    assert recovered(plan, releases, with_totals=False) == []
    series = [r for r in releases[-1].series if r["geographic_level"] == LOCAL_AUTHORITY]
    assert [r[SUM] for r in series] == ["c"] * (WINDOW - 1) + ["144", "144", "144"]


def test_the_worked_example_of_the_docs(tmp_path):
    """docs/publishing.md's table, row by row (SYNTHETIC): the series starts in January 2025."""
    world = World([Authority("E06000006", "E12000002", 30000)])
    start = ordinal("2025-01")
    year_before = [16, 12, 12, 12, 12, 12, 12, 12, 12, 13, 13]  # February to December 2024, never published
    series = [12, 14, *[12] * 10, 12, 3, 12]  # January 2025 to March 2026
    for k, value in enumerate(year_before + series):
        world.new_value(0, start - len(year_before) + k, value)
    months = range(start, start + len(series))
    for t in months:
        world.submit(0, t, "accepted")
    plan = Plan(world, len(series), [("publish", t) for t in months])

    releases = publish_all(plan, tmp_path)

    rows = {
        month_of(r["time_period"], r["time_identifier"]): r
        for r in releases[-1].series
        if r["geographic_level"] == LOCAL_AUTHORITY
    }
    returned = {month_text(t): sum(world.values[v] for v in world.returns[(0, t)].window) for t in months}
    assert [returned[m] for m in ("2025-01", "2025-02", "2025-10", "2025-11", "2025-12", "2026-01", "2026-02")] == [
        150,
        148,
        148,
        147,
        146,
        146,
        135,
    ]
    published = [(m, r[FLOW], r[SUM], r[RATE]) for m, r in rows.items() if r[SUM] != "c" or r[RATE] != "c"]
    assert published == [("2025-12", "12", "146", "48.7"), ("2026-01", "12", "146", "48.7")]
    assert (rows["2026-02"][FLOW], rows["2026-03"][SUM]) == ("c", "c")
    # What the rule prevents: both attacks of the table work on the sums as returned.
    assert 14 - (returned["2025-02"] - returned["2025-01"]) == 16
    assert returned["2026-02"] - returned["2026-01"] + 14 == 3
    assert sums_a_rate_allows("49.3", 30000, 10000, 1) == [148]
    assert recovered(plan, releases, with_totals=False) == []


def test_a_sum_returned_before_its_month_was_resubmitted_is_not_published(tmp_path):
    """SYNTHETIC: authority 0 returns 3 for January 2025 (published c), then resubmits 8. Its February
    return still holds the sum made with the 3; when February is published again (authority 1
    resubmits it), all twelve months of that window are published numbers, but the sum is not
    their total, and the difference is the withdrawn 3. A third authority never returns, so the
    region's and England's totals are `x` and draw no complement beside the 3 (a complement would
    stay withheld after the resubmission, and the 8 with it)."""
    world = World(
        [
            Authority("E06000006", "E12000002", 30000),
            Authority("E06000007", "E12000002", 41000),
            Authority("E06000008", "E12000002", 25000),
        ]
    )
    january, february = ordinal("2025-01"), ordinal("2025-02")
    for n in range(2):
        for t in range(january - 23, february + 1):
            world.new_value(n, t, 3 if (n, t) == (0, january) else 12)
        for t in range(january - 12, february + 1):
            world.submit(n, t, "accepted")
    steps = [("publish", t) for t in range(january - 12, february + 1)]
    steps += [("resubmit", 0, january, 8, "accepted"), ("resubmit", 1, february, None, "accepted")]
    plan = Plan(world, 14, steps)

    releases = publish_all(plan, tmp_path)

    last = {(r["new_la_code"], month_of(r["time_period"], r["time_identifier"])): r for r in releases[-1].series}
    assert last[("E06000006", "2025-01")][FLOW] == "8" and last[("E06000006", "2025-01")][SUM] == "140"
    stale = last[("E06000006", "2025-02")]
    assert (stale[FLOW], stale[SUM], stale[RATE]) == ("12", "c", "c")  # returned 135, its months add to 140
    assert last[("E06000007", "2025-02")][SUM] == "144"
    assert recovered(plan, releases, with_totals=False) == []


def _one_region_january_resubmitted(values: tuple[int, ...], resubmitted: int) -> Plan:
    """SYNTHETIC: authorities of one region return `values` every month to January 2024, which is
    published; then the first resubmits January as `resubmitted`, and it is published again."""
    world = World([Authority(f"E0600000{n}", "E12000002", 30000) for n in range(len(values))])
    for n, value in enumerate(values):
        for t in range(-(WINDOW - 1), 1):
            world.new_value(n, t, value)
        world.submit(n, 0, "accepted")
    return Plan(world, 1, [("publish", 0), ("resubmit", 0, 0, resubmitted, "accepted")])


def test_a_resubmission_does_not_lean_on_a_complement_published_before(tmp_path):
    """SYNTHETIC: three authorities publish 8, 20 and 30 in January 2024; the first resubmits 3.
    Rule 3 hides the 20 beside the 3, but the previous release published that 20, so the region's
    total (exact, on the attacker's safe side) less 20 and 30 gives the 3 back."""
    plan = _one_region_january_resubmitted((8, 20, 30), 3)

    releases = publish_all(plan, tmp_path)

    assert recovered(plan, releases, with_totals=True) == []
    again = {r["new_la_code"]: r[FLOW] for r in releases[-1].series if r["geographic_level"] == LOCAL_AUTHORITY}
    assert again == {"E06000000": "c", "E06000001": "20", "E06000002": "30"}  # 20 is public: the total goes
    assert {r[FLOW] for r in releases[-1].series if r["geographic_level"] != LOCAL_AUTHORITY} == {"c"}


def test_a_complement_withheld_before_stays_withheld_while_unchanged(tmp_path):
    """SYNTHETIC, the other way round: January's 3 is hidden with the 20 beside it as complement;
    the first authority resubmits 8. Printing the 20 now would give the 3 back from the first
    release's total (3 + 20 + 30), so the 20 stays `c`, and the 8 becomes its complement."""
    plan = _one_region_january_resubmitted((3, 20, 30), 8)

    releases = publish_all(plan, tmp_path)

    first, again = (
        {r["new_la_code"]: r[FLOW] for r in release.series if r["geographic_level"] == LOCAL_AUTHORITY}
        for release in releases
    )
    assert first == {"E06000000": "c", "E06000001": "c", "E06000002": "30"}
    assert again == {"E06000000": "c", "E06000001": "c", "E06000002": "30"}
    assert recovered(plan, releases, with_totals=True) == []


def test_a_regional_sum_does_not_carry_an_authority_sum_made_before_a_resubmission(tmp_path):
    """SYNTHETIC: authority 0's January 2025 return is held back (its count, 3, never published) but
    its February return, accepted, sums a year that holds that 3. When January is resubmitted (8,
    accepted) and February published again, the authority's February sum disagrees with its months
    and is `c`; the region's February sum, were it the authorities' sums as returned, would less the
    other two give that stale sum back, and less the published months, the 3."""
    world = World([Authority(f"E0600000{n}", "E12000002", 30000 + 1000 * n) for n in range(3)])
    january, february = ordinal("2025-01"), ordinal("2025-02")
    for n in range(3):
        for t in range(january - 23, february + 1):
            world.new_value(n, t, 3 if (n, t) == (0, january) else 20 + 10 * n)
        for t in range(january - 12, february + 1):
            world.submit(n, t, "held_back" if (n, t) == (0, january) else "accepted")
    steps = [("publish", t) for t in range(january - 12, february + 1)]
    steps += [("resubmit", 0, january, 8, "accepted"), ("resubmit", 1, february, None, "accepted")]
    plan = Plan(world, 14, steps)

    releases = publish_all(plan, tmp_path)

    last = {(geography_code(r), month_of(r["time_period"], r["time_identifier"])): r for r in releases[-1].series}
    assert last[("E06000000", "2025-02")][SUM] == "c"  # returned with the 3: its months now add to 8 more
    assert last[("E12000002", "2025-02")][SUM] == "c"
    assert last[("E06000001", "2025-02")][SUM] == "360"
    assert recovered(plan, releases, with_totals=True) == []


def test_two_releases_totals_do_not_give_back_the_one_figure_that_changed(tmp_path):
    """SYNTHETIC: 0, 3 and 20 publish 0, `c`, `c` with the region's total; the first authority
    resubmits 1. Every part is now `c`, but the two totals differ by exactly the change of the one
    part whose old figure (0) was published, so the new total is withheld (and England's with it)."""
    plan = _one_region_january_resubmitted((0, 3, 20), 1)

    releases = publish_all(plan, tmp_path)

    first, again = ({geography_code(r): r[FLOW] for r in release.series} for release in releases)
    assert first == {"E92000001": "20", "E12000002": "20", "E06000000": "0", "E06000001": "c", "E06000002": "c"}
    assert again == {"E92000001": "c", "E12000002": "c", "E06000000": "c", "E06000001": "c", "E06000002": "c"}
    assert recovered(plan, releases, with_totals=True) == []


def test_englands_totals_do_not_give_back_one_authoritys_change_across_regions(tmp_path):
    """SYNTHETIC, found by the attacker above: two regions of three; January 2024 is 2, 0, 0 and 0, 0, 6.
    England publishes its total (10: 8 rounded), both regions `c`. The second authority, whose 0 was
    published, resubmits 6: England's total (now 14) less the first differs by exactly that 6, though
    each region's total was `c` both times. England's total goes."""
    world = World([Authority(f"E0{6 + r}00000{n}", f"E1200000{r + 1}", 30000) for r in range(2) for n in range(3)])
    for n, value in enumerate((2, 0, 0, 0, 0, 6)):
        for t in range(-(WINDOW - 1), 1):
            world.new_value(n, t, value)
        world.submit(n, 0, "accepted")
    plan = Plan(world, 1, [("publish", 0), ("resubmit", 1, 0, 6, "accepted")])

    releases = publish_all(plan, tmp_path)

    first, again = ({geography_code(r): r[FLOW] for r in release.series} for release in releases)
    assert (first["E92000001"], first["E06000001"], again["E06000001"]) == ("10", "0", "c")
    assert again["E92000001"] == "c"
    assert recovered(plan, releases, with_totals=True) == []
