"""The attacker's audit: how narrowly can someone who holds every release, and who assumes every
identity the figures obey, pin a figure we withheld?

The attacker knows every identity the rule book declares (`schemas/rules/identities.py`): regional
and England totals are sums, twelve-month sums sum their months, rates are their numerator over
their denominator, children looked after move by those who started and ceased, plans rise by no
more than the plans started, parts lie within their wholes, counts are never negative. They hold
everything every release printed: an authority's count exactly, a regional or England count as
the interval it was rounded from (`round_to_ten`), a rate at a rounded geography as the interval of
numerators it rounds from (over the exact denominator: the safe side). A figure withheld is a
variable from 0 to its ceiling; each revision of a figure is its own variable (two releases that
printed or withheld the same figure for a cell share one: the safe side, the public sees no
revision). Linear programming (HiGHS through `highspy`, each group's model kept between objectives) then gives each withheld figure's
interval [least, most] over the real numbers, rounded inward to whole numbers.

**Protected** means: the interval of every withheld count from 1 to 5 holds both 0 and 6.

An identity instance that the real figures break (a late-recorded start, a month resubmitted
while the next still holds the old stock) is left out, and its cells are named in `Audit.broken`:
an attacker who assumes it is led to a wrong figure, not the true one. So the true figures always
satisfy every constraint used, every interval holds the true figure, and nothing here raises on
real data.

The audit is incremental: it builds the identities of the months within `REACH` months of the
month released only (a rolling sum reaches eleven months back, a stock one), and solves only the
connected groups of withheld figures that hold one of that month's.

No Dagster here; `release.py` calls `protect` on each month it builds.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import highspy
import numpy as np
import pandas as pd
from scipy.sparse import csc_matrix, csr_matrix, vstack

from pipelines.publish.disclosure import WINDOW_MONTHS, round_to_ten
from schemas.catalogue import indicators_by_column
from schemas.month import Month
from schemas.rules import identities

Cell = tuple[str, str]  # (geography, indicator)
Number = Fraction | int  # whole numbers where they suffice (they are much faster)
Variable = tuple[str, str, str, int]  # (month, geography, indicator, exact figure): one revision
PROTECTED_BELOW, PROTECTED_ABOVE = 0, 6  # the interval of a withheld 1..5 must hold both
SMALL = range(1, 6)
EVENT_CEILING = 10**7  # an event count, and a stock where no population is published
POPULATION_CEILING = 2 * 10**7
REACH = WINDOW_MONTHS  # months either side of the released month whose identities are audited
_TOLERANCE = 1e-6
# HiGHS's `simplex_strategy`. A model solved again with only its objective changed keeps its last basis
# primal feasible: the primal simplex starts from there. One solved again with changed bounds keeps it
# dual feasible: the dual simplex does (the search's trials).
DUAL_SIMPLEX, PRIMAL_SIMPLEX = 1, 4


@dataclass(frozen=True)
class Layout:
    """The geographies: each region's authorities, and England's code. Regional and England counts
    are rounded to ten when published; authority counts are exact."""

    regions: Mapping[str, tuple[str, ...]]
    england: str

    @functools.cached_property
    def rounded(self) -> frozenset[str]:
        return frozenset({self.england, *self.regions})


@dataclass(frozen=True)
class MonthRelease:
    """One release of one month as the private record holds it: every count cell's exact figure and
    whether it went out as a number."""

    month: str
    figures: Mapping[Cell, int]
    published: frozenset[Cell]

    @functools.cached_property
    def variables(self) -> dict[Cell, Variable]:
        """Each cell's variable in this release (made once: every identity instance reads them)."""
        month = self.month
        return {cell: (month, cell[0], cell[1], int(value)) for cell, value in self.figures.items()}


def month_release(month: str, figures: pd.DataFrame) -> MonthRelease:
    """A release as `assembly.release_rows` records it (`MonthRelease.figures`: geography, indicator,
    figure, published), or as the private record holds it (`store/disclosed.py`)."""
    cells = list(zip(figures["geography"].tolist(), figures["indicator"].tolist()))
    values = [int(v) for v in figures["figure"].tolist()]
    shown = [bool(v) for v in figures["published"].tolist()]
    return MonthRelease(
        month, dict(zip(cells, values)), frozenset(cell for cell, printed in zip(cells, shown) if printed)
    )


@dataclass(frozen=True)
class Interval:
    cell: Variable
    least: int
    most: int

    @property
    def protected(self) -> bool:
        return self.least <= PROTECTED_BELOW and self.most >= PROTECTED_ABOVE

    def __str__(self) -> str:
        month, geography, indicator, _ = self.cell
        return f"{month} {geography} {indicator} in [{self.least}, {self.most}]"


@dataclass(frozen=True)
class _Sides:
    """An interval's sides already known (None: to be solved)."""

    least: int | None
    most: int | None


@dataclass
class Audit:
    """What the audit found: each withheld small figure's interval, and the identity instances the
    real figures break (named by their cells)."""

    intervals: list[Interval] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)

    @property
    def failures(self) -> list[Interval]:
        return [interval for interval in self.intervals if not interval.protected]

    @property
    def narrowest(self) -> Interval | None:
        return min(self.intervals, key=lambda i: (i.most - i.least, i.cell), default=None)

    def summary(self) -> dict[str, object]:
        """For the manifest and the release check's metadata: no figure, only the interval's width."""
        narrowest = self.narrowest
        return {
            "cells_audited": len(self.intervals),
            "narrowest_interval_width": None if narrowest is None else narrowest.most - narrowest.least,
            "protected": not self.failures,
            "identities_broken_by_real_figures": len(self.broken),
        }


class Unprotectable(ValueError):
    """No further cell of the month can protect a withheld figure (one line)."""


@dataclass
class _Constraint:
    """lower <= sum(coefficient x variable) <= upper (None: unbounded on that side)."""

    terms: dict[Variable, Number]
    lower: Number | None
    upper: Number | None
    name: str
    month: str  # the month whose release made it
    first: int = 0  # the earliest and latest month of its figures (`_ordinal`)
    last: int = 0


@functools.lru_cache(maxsize=4096)
def _month_shift(month: str, by: int) -> str:
    """`month` moved by `by` months, as text (called for every identity instance: a lookup once known)."""
    return str(Month.parse(month) + by) if by else month


@functools.lru_cache(maxsize=4096)
def _ordinal(month: str) -> int:
    return Month.parse(month).months_since(Month.parse("2000-01"))


def _reach(month: str) -> tuple[int, int]:
    """The months whose releases the audit of `month` holds (`within_reach`), as ordinals."""
    at = _ordinal(month)
    return at - 2 * REACH, at + REACH


class _State:
    """Each month's latest release at one point of the record, and what the public holds of each
    revision (exact, an interval, or nothing) over every release so far."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.latest: dict[str, MonthRelease] = {}
        self.bounds: dict[Variable, tuple[int, int]] = {}  # the public's interval of a revision

    def figure(self, month: str, cell: Cell) -> Variable | None:
        release = self.latest.get(month)
        return None if release is None else release.variables.get(cell)

    def is_public_number(self, month: str, cell: Cell) -> bool:
        variable = self.figure(month, cell)
        return variable is not None and variable in self.bounds and cell[0] not in self.layout.rounded


Ceiling = Callable[[str, str, "int | None"], int]  # (geography, indicator, its population) -> the most it can be


def catalogue_ceiling(geography: str, indicator: str, population: int | None) -> int:
    """The most a withheld figure can be, before anything is printed: a stock no more than the
    children of the geography, an event count no more than 10^7, a population no more than 2 x 10^7."""
    if indicator == "population_0_17":
        return POPULATION_CEILING
    kind = indicators_by_column().get(indicator)
    if kind is not None and kind.kind == "stock" and population:
        return population
    return EVENT_CEILING


class Auditor:
    """Builds the attacker's constraints release by release (`add`), and solves them (`audit`)."""

    def __init__(self, layout: Layout, ceiling: Ceiling = catalogue_ceiling) -> None:
        self.layout = layout
        self.ceiling = ceiling
        self.state = _State(layout)
        self.constraints: dict[tuple, _Constraint] = {}
        self.by_variable: dict[Variable, list[tuple]] = {}  # the constraints each figure is in
        self.broken: dict[tuple, str] = {}
        self._rolling = {r.column: r.flow for r in identities.rolling_sums()}
        self._ratios = identities.ratios()
        self._authorities = [a for members in layout.regions.values() for a in members]
        self._priors: dict[Variable, tuple[int, int]] = {}
        self._small: dict[str, tuple[Mapping[Cell, int], list[Variable]]] = {}  # month: its figures of 1 to 5
        self._made: dict[tuple, int] = {}  # each constraint's place in the order made: a group's row order
        # Each constraint's figures the public holds, summed, and its unknown terms (`_split`): read for
        # every group the audit and the search build; forgotten where a figure's bounds change.
        self._splits: dict[tuple, tuple[Number, list[tuple[Variable, Number]]]] = {}
        # How far back an identity of a month reaches: adding a month's release rebuilds, in it and
        # the months after it, only the identities that reach back to it.
        self._reach_back = max([1, *(r.months - 1 for r in identities.rolling_sums())])

    # ---- what the public holds --------------------------------------------------------------------

    def add(self, release: MonthRelease) -> None:
        """A release the public now holds: its printed figures, and every identity instance its figures
        take part in with the other months as they stood then (a month's new release rebuilds only the
        instances of the geographies whose figures it changed: the others' are on record already)."""
        before = self.state.latest.get(release.month)
        changed = None if before is None else _geographies_changed(before, release)
        self.state.latest[release.month] = release
        self._priors.clear()  # a ceiling reads the population of its month's latest release
        self._splits.clear()  # and whether a withheld figure is unknown reads its ceiling
        published = self._published_now(release)
        for cell in published:
            self._learn(release.month, cell, release.figures[cell])
        self._learn_rates(release, published)
        if changed is not None and not changed:
            return
        for back in range(self._reach_back + 1):
            month = _month_shift(release.month, back)
            if month in self.state.latest:
                self._instances_of(month, back, changed)

    def _published_now(self, release: MonthRelease) -> set[Cell]:
        """The cells printed, less twelve-month sums whose window is not all printed (the series
        suppresses them: `disclosure.suppress_rolling_windows`)."""
        printed = set(release.published)
        for cell in list(printed):
            geography, indicator = cell
            flow = self._rolling.get(indicator)
            if flow is None:
                continue
            window = [_month_shift(release.month, -k) for k in range(WINDOW_MONTHS)]
            shown = [month == release.month and (geography, flow) in printed for month in window[:1]]
            shown += [self._printed(month, (geography, flow)) for month in window[1:]]
            if not all(shown):
                printed.discard(cell)
        return printed

    def _printed(self, month: str, cell: Cell) -> bool:
        release = self.state.latest.get(month)
        return release is not None and cell in release.published

    def _learn(self, month: str, cell: Cell, value: int) -> None:
        variable = (month, cell[0], cell[1], int(value))
        if cell[0] in self.layout.rounded:
            shown = round_to_ten(int(value))
            low, high = max(shown - 5, 0), shown + 4
        else:
            low = high = int(value)
        old = self.state.bounds.get(variable)
        if old is not None:
            low, high = max(low, old[0]), min(high, old[1])
        self.state.bounds[variable] = (low, high)
        self._forget([variable])

    def _learn_rates(self, release: MonthRelease, published: set[Cell]) -> None:
        """A rate printed at a rounded geography narrows its numerator (over the exact denominator)."""
        for ratio in self._ratios:
            dp = indicators_by_column()[ratio.column].publish_dp or 0
            for geography in sorted(self.layout.rounded):  # the same constraint order in every process
                numerator, denominator = (geography, ratio.numerator), (geography, ratio.denominator)
                if numerator not in published or denominator not in published:
                    continue
                top, bottom = release.figures[numerator], release.figures[denominator]
                if not bottom:
                    continue
                shown = Fraction(round(Fraction(top * ratio.multiplier, bottom) * 10**dp + Fraction(1, 10**9)))
                half = Fraction(1, 2 * 10**dp)
                low = (shown / 10**dp - half) * bottom / ratio.multiplier
                high = (shown / 10**dp + half) * bottom / ratio.multiplier
                variable = (release.month, geography, ratio.numerator, int(top))
                key = ("rate", variable, ratio.column)
                self._constrain(key, release.month, {variable: 1}, low, high, str(ratio))

    # ---- the identities ---------------------------------------------------------------------------

    def _instances_of(self, month: str, back: int = 0, changed: frozenset[str] | None = None) -> None:
        """Every declared identity instance whose latest month is `month` and which holds a figure of
        the month `back` months before it, as the months stand now (the others are unchanged); of the
        geographies `changed` only, when given."""
        latest = self.state.latest
        cells = latest[month].figures
        # Each month's figures as variables, looked up once here, not once a term (this runs for every
        # instance of every release added); a month without a release has none.
        here: Mapping[Cell, Variable] = latest[month].variables
        authorities = self._authorities if changed is None else [a for a in self._authorities if a in changed]
        if back == 0:
            regions = {
                region: members
                for region, members in self.layout.regions.items()
                if changed is None or region in changed or not changed.isdisjoint(members)
            }
            for column in identities.additive_columns():
                for region, members in regions.items():
                    self._sum(month, here, (region, column), [(a, column) for a in members])
                if changed is None or self.layout.england in changed or regions:
                    self._sum(month, here, (self.layout.england, column), [(r, column) for r in self.layout.regions])
            # Each identity's name is made once, not once an authority.
            for at_most in identities.parts_within_wholes():
                name = str(at_most)
                for geography in authorities:
                    terms = [(here, (geography, part), 1) for part in at_most.parts]
                    terms.append((here, (geography, at_most.whole), -1))
                    self._instance(("at_most", month, geography, name), month, terms, None, 0, name)
        before = self._variables_at(_month_shift(month, -1))
        for flow in identities.stock_and_flows() if back <= 1 else ():
            name = str(flow)
            for geography in authorities:
                terms = [
                    (here, (geography, flow.stock), 1),
                    (before, (geography, flow.stock), -1),
                    (here, (geography, flow.inflow), -1),
                    (here, (geography, flow.outflow), 1),
                ]
                self._instance(("flow", month, geography, name), month, terms, 0, 0, name)
        for within in identities.stocks_within_inflows() if back <= 1 else ():
            name = str(within)
            for geography in authorities:
                terms = [
                    (here, (geography, within.stock), 1),
                    (before, (geography, within.stock), -1),
                    (here, (geography, within.inflow), -1),
                ]
                self._instance(("within", month, geography, name), month, terms, None, 0, name)
        for rolling in identities.rolling_sums():
            if back >= rolling.months:
                continue
            name = str(rolling)
            window = [self._variables_at(_month_shift(month, -k)) for k in range(rolling.months)]
            for geography in authorities:
                if (geography, rolling.column) not in cells:
                    continue
                terms = [(here, (geography, rolling.column), 1)]
                terms += [(at, (geography, rolling.flow), -1) for at in window]
                self._instance(("rolling", month, geography, name), month, terms, 0, 0, name)

    def _variables_at(self, month: str) -> Mapping[Cell, Variable]:
        release = self.state.latest.get(month)
        return {} if release is None else release.variables

    def _sum(self, month: str, here: Mapping[Cell, Variable], whole: Cell, parts: list[Cell]) -> None:
        terms = [(here, whole, -1), *((here, part, 1) for part in parts)]
        self._instance(("sum", month, whole), month, terms, 0, 0, f"{whole[0]} total")

    def _instance(
        self,
        key: tuple,
        month: str,
        terms: Sequence[tuple[Mapping[Cell, Variable], Cell, int]],
        lower: int | None,
        upper: int | None,
        what: object,
    ) -> None:
        """One identity instance over the months' current revisions (each term: its month's variables,
        its cell, its coefficient); skipped where a figure of it is not held (never returned, not
        available), widened where the real figures break it."""
        linear: dict[Variable, Number] = {}
        for variables, cell, coefficient in terms:
            variable = variables.get(cell)
            if variable is None:
                return
            linear[variable] = linear.get(variable, 0) + coefficient
        key = (*key, tuple(sorted(linear)))
        if key in self.constraints:
            return
        value = sum((c * v[3] for v, c in linear.items()), 0)
        if (lower is not None and value < lower) or (upper is not None and value > upper):
            self.broken[key] = f"{what} broken by the real figures at {month} {key[2]}: " + ", ".join(
                f"{v[1]} {v[2]} {v[0]}" for v in sorted(linear)
            )
            return  # the attacker who assumes it is misled, not informed: it is left out
        self._constrain(key, month, linear, lower, upper, str(what))

    def _constrain(
        self,
        key: tuple,
        month: str,
        terms: dict[Variable, Number],
        lower: Number | None,
        upper: Number | None,
        name: str,
    ) -> None:
        months = [_ordinal(at) for at in {variable[0] for variable in terms}]
        self.constraints[key] = _Constraint(terms, lower, upper, name, month, min(months), max(months))
        self._made.setdefault(key, len(self._made))
        self._splits.pop(key, None)
        by_variable = self.by_variable
        for variable in terms:
            by_variable.setdefault(variable, []).append(key)

    def withhold(self, month: str, cell: Cell) -> Callable[[], None]:
        """Withhold a printed cell of the month's latest release (and its twelve-month sums, which
        the series then withholds): the public no longer holds its figure from this release. Returns
        what puts it back (a trial that did not help)."""
        release = self.state.latest[month]
        cells = self._cells_withheld_with(month, cell)
        bounds, constraints = {}, {}
        for variable in self._taken_by_withholding(month, cell):
            bounds[variable] = self.state.bounds.pop(variable)
            self._forget([variable])
            for key in self._rates_of(variable):
                constraints[key] = self.constraints.pop(key)
        self.state.latest[month] = MonthRelease(month, release.figures, release.published - cells)

        def undo() -> None:
            self.state.bounds.update(bounds)
            self._forget(bounds)
            self.constraints.update(constraints)
            self.state.latest[month] = release

        return undo

    def _cells_withheld_with(self, month: str, cell: Cell) -> set[Cell]:
        """The cell and its twelve-month sums (the series withholds them with it)."""
        figures = self.state.latest[month].figures
        return {cell} | {
            (cell[0], column)
            for column, flow in self._rolling.items()
            if flow == cell[1] and (cell[0], column) in figures
        }

    def _taken_by_withholding(self, month: str, cell: Cell) -> list[Variable]:
        """The figures the public would no longer hold if the cell were withheld now."""
        found = [self.state.figure(month, each) for each in sorted(self._cells_withheld_with(month, cell))]
        return [variable for variable in found if variable is not None and variable in self.state.bounds]

    def _rates_of(self, variable: Variable) -> list[tuple]:
        """The constraints a printed rate puts on the figure (its numerator at a rounded geography)."""
        return [key for key in self.by_variable.get(variable, ()) if key[0] == "rate" and key in self.constraints]

    def public_interval(self, variable: Variable) -> tuple[float, float]:
        """What the public holds of a figure: its bounds, narrowed by the rates printed over it."""
        low: Number
        high: Number
        low, high = self.bounds_of(variable)
        for key in self._rates_of(variable):
            constraint = self.constraints[key]
            low = low if constraint.lower is None else max(low, constraint.lower)
            high = high if constraint.upper is None else min(high, constraint.upper)
        return float(low), float(high)

    def interval(
        self, target: Variable, around: str, before: Interval | None = None, held: _Held | None = None
    ) -> Interval:
        """The target's interval now (its group alone, within the reach of the month `around`). Given its
        interval `before` cells were withheld, a side already far enough (0 reached, or 6) is kept, not
        solved: withholding only widens. `held`, when given, is filled with what holds each side solved."""
        [(members, keys)] = self._components([target], around)
        sides = None
        if before is not None:
            sides = _Sides(
                before.least if before.least <= PROTECTED_BELOW else None,
                before.most if before.most >= PROTECTED_ABOVE else None,
            )
        [found] = _solve(self, members, keys, [target], sides, held=held)
        return found

    # ---- the attack -------------------------------------------------------------------------------

    def bounds_of(self, variable: Variable) -> tuple[int, int]:
        known = self.state.bounds.get(variable)
        if known is not None:
            return known
        prior = self._priors.get(variable)
        if prior is None:  # a withheld figure's prior, asked for every constraint it is in: made once
            population = self.state.figure(variable[0], (variable[1], "population_0_17"))
            prior = self._priors[variable] = (
                0,
                self.ceiling(variable[1], variable[2], population[3] if population else None),
            )
        return prior

    def unknown(self, variable: Variable) -> bool:
        low, high = self.bounds_of(variable)
        return low != high

    def _split(self, key: tuple) -> tuple[Number, list[tuple[Variable, Number]]]:
        """The constraint's figures the public holds, summed with their coefficients, and its unknown
        terms: its row over a group's unknown figures is `unknown terms <= bound - known`."""
        found = self._splits.get(key)
        if found is None:
            known: Number = 0
            unknown = []
            for variable, coefficient in self.constraints[key].terms.items():
                if self.unknown(variable):
                    unknown.append((variable, coefficient))
                else:
                    known += coefficient * self.bounds_of(variable)[0]
            found = self._splits[key] = (known, unknown)
        return found

    def _forget(self, variables: Iterable[Variable]) -> None:
        """The splits of the constraints these figures are in, whose bounds have just changed."""
        for variable in variables:
            for key in self.by_variable.get(variable, ()):
                self._splits.pop(key, None)

    def targets(self, month: str) -> list[Variable]:
        """The month's withheld figures of 1 to 5 as it stands now."""
        release = self.state.latest.get(month)
        if release is None:
            return []
        small = self._small.get(month)
        if small is None or small[0] is not release.figures:  # a release's figures, once: every audit asks
            variables = release.variables
            small = self._small[month] = (
                release.figures,
                sorted(variables[cell] for cell, value in release.figures.items() if int(value) in SMALL),
            )
        bounds = self.state.bounds
        return [variable for variable in small[1] if variable not in bounds]

    def audit(self, month: str, mode: str = "exact") -> Audit:
        """The interval of each withheld small figure of `month` (and of the months linked to it by
        an identity), from everything the public holds now; `mode` as `_solve` reads it."""
        near = {_month_shift(month, k) for k in range(-REACH, REACH + 1)}
        targets = [t for m in sorted(near) for t in self.targets(m)]
        result = Audit(broken=sorted({line for key, line in self.broken.items() if key[1] in near}))
        for members, constraint_keys in self._components(targets, month):
            # A figure of this month's in the group, unknown or folded into a constraint's bound (a figure
            # printed now that an earlier release withheld can pin a later month's), or a constraint its
            # release made: else its protection is unchanged.
            touched = any(v[0] == month for v in members) or any(
                self.constraints[key].month == month or any(v[0] == month for v in self.constraints[key].terms)
                for key in constraint_keys
            )
            if not touched:
                continue
            wanted = [t for t in targets if t in members]
            result.intervals += _solve(self, members, constraint_keys, wanted, mode=mode)
        result.intervals.sort(key=lambda interval: interval.cell)
        return result

    def _components(self, targets: Sequence[Variable], around: str) -> list[tuple[set[Variable], list[tuple]]]:
        """The connected groups of unknown figures (through constraints) that hold a target, over the
        constraints within the reach of the month `around` only: what an auditor of the releases within
        its reach holds (`within_reach`), so that a month audited in a range of months, whose auditor
        holds them all, is audited as it is alone."""
        first, last = _reach(around)
        seen: set[Variable] = set()
        groups = []
        constraints, by_variable, split = self.constraints, self.by_variable, self._split
        for start in targets:
            if start in seen:
                continue
            members, keys, queue = {start}, set(), [start]
            seen.add(start)
            while queue:
                variable = queue.pop()
                for key in by_variable.get(variable, ()):
                    constraint = constraints.get(key)
                    if key in keys or constraint is None:
                        continue
                    if variable not in constraint.terms or constraint.first < first or constraint.last > last:
                        continue
                    keys.add(key)
                    for other, _ in split(key)[1]:
                        if other not in members:
                            members.add(other)
                            seen.add(other)
                            queue.append(other)
            groups.append((members, sorted(keys, key=self._made.__getitem__)))
        return groups


class _Program:
    """A group's constraints (A x <= b, each x within its bounds) as one HiGHS model, kept between
    objectives: every minimum after the first starts from the last one's basis (the same constraints,
    another objective), a few simplex steps instead of a solve from scratch."""

    def __init__(
        self,
        matrix: csr_matrix | None,
        upper: np.ndarray | None,
        bounds: list[tuple[float, float]],
        simplex: int = PRIMAL_SIMPLEX,
    ) -> None:
        width = len(bounds)
        columns = csc_matrix(matrix) if matrix is not None else csc_matrix((0, width))
        model = highspy.HighsLp()
        model.num_col_, model.num_row_ = width, columns.shape[0]
        model.col_cost_ = np.zeros(width)
        model.col_lower_ = np.array([low for low, _ in bounds], dtype=float)
        model.col_upper_ = np.array([high for _, high in bounds], dtype=float)
        model.row_lower_ = np.full(columns.shape[0], -highspy.kHighsInf)
        model.row_upper_ = upper if upper is not None else np.zeros(0)
        model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        model.a_matrix_.start_ = columns.indptr
        model.a_matrix_.index_ = columns.indices
        model.a_matrix_.value_ = columns.data
        self.highs = _quiet_highs(simplex)
        self.highs.passModel(model)
        self.every_column = np.arange(width, dtype=np.int32)

    def minimum(self, objective: np.ndarray) -> tuple[float, np.ndarray] | None:
        """The least of `objective` . x and a point reaching it (None: not solved, which the true
        figures, a feasible point, rule out but for the solver's own failure)."""
        self.highs.changeColsCost(len(self.every_column), self.every_column, objective)
        self.highs.run()
        if self.highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        return self.highs.getInfo().objective_function_value, np.asarray(self.highs.getSolution().col_value)

    def duals(self) -> tuple[np.ndarray, np.ndarray]:
        """The last minimum's row and column duals: nonzero where a constraint, or a figure's bound, holds it."""
        solution = self.highs.getSolution()
        return np.asarray(solution.row_dual), np.asarray(solution.col_dual)

    def bound(self, columns: Sequence[int], bounds: Sequence[tuple[float, float]]) -> None:
        """New bounds for these columns (the next minimum starts from the last basis all the same)."""
        if columns:
            self.highs.changeColsBounds(
                len(columns),
                np.array(columns, dtype=np.int32),
                np.array([low for low, _ in bounds], dtype=float),
                np.array([high for _, high in bounds], dtype=float),
            )


@functools.cache
def _banner_said() -> bool:
    """HiGHS prints its banner to the process's standard output (the C stream, whatever its options)
    when its first model is made: made here once with that stream sent to /dev/null."""
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    return True


def _quiet_highs(simplex: int) -> highspy.Highs:
    _banner_said()
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("simplex_strategy", simplex)
    return highs


def _geographies_changed(before: MonthRelease, after: MonthRelease) -> frozenset[str]:
    """The geographies with a cell whose figure differs between two releases of a month (or that only
    one of them holds)."""
    cells = before.figures.keys() | after.figures.keys()
    return frozenset(cell[0] for cell in cells if before.figures.get(cell) != after.figures.get(cell))


class _Group:
    """A group's constraints as rows A x <= b over its unknown figures (`order`), the figures the public
    holds folded into b, each row's constraint kept (`row_keys`)."""

    def __init__(self, auditor: Auditor, members: set[Variable], keys: Sequence[tuple]) -> None:
        self.order = sorted(members)
        self.index = {variable: k for k, variable in enumerate(self.order)}
        rows: list[int] = []
        columns: list[int] = []
        values: list[float] = []
        upper: list[float] = []
        self.row_keys: list[tuple] = []
        index = self.index
        for key in keys:
            constraint = auditor.constraints[key]
            known, unknown = auditor._split(key)  # the figures the public holds, folded into the bound
            terms = [(index[variable], float(coefficient)) for variable, coefficient in unknown if coefficient]
            if not terms:
                continue
            for sign, bound in ((1, constraint.upper), (-1, constraint.lower)):
                if bound is None:
                    continue
                row = len(upper)
                for column, coefficient in terms:
                    rows.append(row)
                    columns.append(column)
                    values.append(sign * coefficient)
                upper.append(float(sign * (bound - known)))
                self.row_keys.append(key)
        self.bounds = [(float(auditor.bounds_of(v)[0]), float(auditor.bounds_of(v)[1])) for v in self.order]
        self.matrix = csr_matrix((values, (rows, columns)), shape=(len(upper), len(self.order))) if upper else None
        self.upper = np.array(upper) if upper else None


@dataclass
class _Held:
    """What holds a single target's sides where the LP left them: the group, and each side's row and
    column duals (nonzero where a constraint, or a figure's bound, holds it), by side ("least", "most")."""

    group: _Group | None = None
    duals: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


def _solve(
    auditor: Auditor,
    members: set[Variable],
    keys: list[tuple],
    wanted: list[Variable],
    sides: _Sides | None = None,
    mode: str = "exact",
    held: _Held | None = None,
) -> list[Interval]:
    """Least and most of each wanted variable over the group's constraints (one side only, for a single
    target, when `sides` gives a side that needs no solving: withholding more only widens). `mode`:
    "exact", every interval exact; "check", a most side that one point takes to 6 or more given as 6
    (enough to tell protected from not: the search); "report", exact where the interval could be the
    narrowest, elsewhere a most side no narrower than it and at least 6 (the release's summary: the
    cells audited, the narrowest width and whether protected are those of "exact"). `held`, for a single
    target: filled with the group and the duals of each side solved (`_Held`)."""
    group = _Group(auditor, members, keys)
    order, index, bounds = group.order, group.index, group.bounds
    matrix, b_ub = group.matrix, group.upper
    program = _Program(matrix, b_ub, bounds)
    if held is not None:
        held.group = group

    least: dict[Variable, float] = {}
    if sides is not None and sides.least is not None:
        least = {target: float(sides.least) for target in wanted}
    most: dict[Variable, float] = {}
    if sides is not None and sides.most is not None:
        most = {target: float(sides.most) for target in wanted}
    wanted_columns = np.array([index[t] for t in wanted], dtype=np.int64)

    def learn(point: np.ndarray) -> None:
        """Every point an LP finds satisfies the constraints: a target at 0 there has least exactly 0
        (every figure is at least 0); for a check, one at 6 or more there has its most given as 6."""
        values = point[wanted_columns]
        for k in np.flatnonzero(values <= _TOLERANCE):
            least.setdefault(wanted[k], 0.0)
        if mode == "check":
            for k in np.flatnonzero(values >= PROTECTED_ABOVE - _TOLERANCE):
                most.setdefault(wanted[k], float(PROTECTED_ABOVE))

    def extreme(objective: np.ndarray, fallback: float, side: str) -> float:
        found = program.minimum(objective)
        if found is None:
            return fallback  # infeasible cannot happen: the truth fits
        if held is not None:
            held.duals[side] = program.duals()
        learn(found[1])
        return float(found[0])

    # The least sides first, many at once: the point with the sum of the open ones least puts some at
    # 0; again for the rest while that finds more; an LP of its own for each figure still open.
    open_ = [t for t in wanted if t not in least and bounds[index[t]][0] == 0]
    while len(open_) > 1:
        objective = np.zeros(len(order))
        objective[[index[t] for t in open_]] = 1.0
        found = program.minimum(objective)
        if found is None:
            break
        learn(found[1])
        still = [t for t in open_ if t not in least]
        if len(still) == len(open_):
            break
        open_ = still
    for target in wanted:
        if target not in least:
            objective = np.zeros(len(order))
            objective[index[target]] = 1.0
            least[target] = extreme(objective, bounds[index[target]][0], "least")
    # The most sides: exact, each its own LP; or, for a check, 6 where a point reaches it (`_reaching`,
    # and the points found so far); or, for a report, exact only where it could be the narrowest interval.
    open_ = [t for t in wanted if t not in most]

    def exact_most(target: Variable) -> None:
        objective = np.zeros(len(order))
        objective[index[target]] = -1.0
        most[target] = -extreme(objective, -bounds[index[target]][1], "most")

    if mode == "check":
        while len(open_) > 1:
            reached = _reaching(matrix, b_ub, bounds, {index[t]: float(PROTECTED_ABOVE) for t in open_})
            if not reached:
                break
            most.update({t: float(PROTECTED_ABOVE) for t in open_ if index[t] in reached})
            open_ = [t for t in open_ if t not in most]
    elif mode == "report":
        narrowest = math.inf
        while len(open_) > 1:
            exact_most(open_[0])  # one exact: no interval given a capped side is narrower than it
            narrowest = min(narrowest, most[open_[0]] - least[open_[0]])
            open_ = open_[1:]
            caps = {t: max(least[t] + narrowest, float(PROTECTED_ABOVE)) for t in open_}
            reached = _reaching(matrix, b_ub, bounds, {index[t]: cap for t, cap in caps.items()})
            most.update({t: caps[t] for t in open_ if index[t] in reached})  # a point reaches its cap
            open_ = [t for t in open_ if t not in most]
    for target in open_:
        if target not in most:  # a check may have learnt it from an earlier target's point
            exact_most(target)
    return [Interval(t, math.ceil(least[t] - _TOLERANCE), math.floor(most[t] + _TOLERANCE)) for t in wanted]


def _reaching(
    matrix: csr_matrix | None, b_ub: np.ndarray | None, bounds: list[tuple[float, float]], caps: dict[int, float]
) -> set[int]:
    """The targets (columns) that one point of the constraints takes to their cap or beyond: an LP over
    the figures and a capped copy of each target (y <= target, 0 <= y <= cap) with the copies' sum most."""
    width, targets = len(bounds), list(caps)
    extra = len(targets)
    rows = list(range(extra))
    link = csr_matrix(
        ([1.0] * extra + [-1.0] * extra, (rows + rows, [width + k for k in range(extra)] + targets)),
        shape=(extra, width + extra),
    )
    if matrix is not None:
        padded = csr_matrix((matrix.data, matrix.indices, matrix.indptr), shape=(matrix.shape[0], width + extra))
        a_ub = vstack([padded, link]).tocsr()
        b = np.concatenate([b_ub if b_ub is not None else np.zeros(0), np.zeros(extra)])
    else:
        a_ub, b = link, np.zeros(extra)
    objective = np.zeros(width + extra)
    objective[width:] = -1.0
    found = _Program(a_ub, b, bounds + [(0.0, caps[t]) for t in targets]).minimum(objective)
    if found is None:
        return set()
    return {column for k, column in enumerate(targets) if found[1][width + k] >= caps[column] - _TOLERANCE}


def protect(
    layout: Layout, earlier: Iterable[MonthRelease], release: MonthRelease, ceiling: Ceiling = catalogue_ceiling
) -> tuple[MonthRelease, Audit]:
    """`release` with further cells withheld (complementary suppression) until the audit, over every
    earlier release within reach of it and this one, passes; and that audit. `Unprotectable` (one
    line) when no cell of this release is left that could protect a withheld figure
    (`Protection.protect`)."""
    near = [before for before in earlier if within_reach(before.month, release.month)]
    return Protection(layout, near, ceiling).protect(release)


class Protection:
    """Complementary suppression release after release, over one attacker who holds `earlier` (every
    earlier release, in the order they were made) and each release protected and published since: the
    attacker's constraints are built once for a range of months, not once a month."""

    def __init__(self, layout: Layout, earlier: Iterable[MonthRelease], ceiling: Ceiling = catalogue_ceiling) -> None:
        self.layout, self.ceiling = layout, ceiling
        self.releases = list(earlier)
        self._auditor: Auditor | None = None

    def _attacker(self) -> Auditor:
        if self._auditor is None:
            self._auditor = Auditor(self.layout, self.ceiling)
            for before in self.releases:
                self._auditor.add(before)
        return self._auditor

    def protect(self, release: MonthRelease, report: bool = True) -> tuple[MonthRelease, Audit]:
        """`release` with further cells withheld until the audit passes, and that audit; the attacker
        then holds it. First the cheap pass (`_withhold_partners`: a partner through each identity that
        alone pins a figure), then, for the figures still pinned, the search (`_protect_one`)."""
        auditor = self._attacker()
        self._auditor = None  # rebuilt from `releases` if this month is refused
        public_before = set(auditor.state.bounds)
        auditor.add(release)
        partners_tried = False
        while True:
            result = auditor.audit(release.month, mode="check")
            if not result.failures:
                break
            if not partners_tried:
                partners_tried = True
                if _withhold_partners(auditor, result.failures, release.month, public_before):
                    continue
            for failure in result.failures:
                _protect_one(auditor, failure, release.month, public_before)
        if report:  # the summary a release reports (else `published` gives it, after the rebuild)
            result = auditor.audit(release.month, mode="report")
        protected = auditor.state.latest[release.month]
        self._auditor = auditor
        self.releases.append(protected)
        return protected, result

    def published(self, release: MonthRelease, report: bool = True) -> Audit:
        """The month as it is published after all (the release code may withhold more than `protect`
        chose: the rules protect its complements in turn; never less): the attacker holds that, and its
        audit (withholding more only widens every interval, so it passes too; not solved unless
        `report`)."""
        auditor = self._attacker()
        holds = auditor.state.latest[release.month]
        for cell in sorted(holds.published - release.published):
            auditor.withhold(release.month, cell)
        self.releases[-1] = auditor.state.latest[release.month]
        return auditor.audit(release.month, mode="report") if report else Audit()

    def audit(self, month: str) -> Audit:
        """The audit of `month` as the attacker stands now (after later months of a range, say)."""
        return self._attacker().audit(month)


def _withhold_partners(
    auditor: Auditor, failures: Sequence[Interval], month: str, public_before: set[Variable]
) -> bool:
    """The cheap pass before any search, secondary suppression over every declared identity: from each
    pinned figure, every identity instance that holds a withheld figure and no other (an equality), or
    that alone keeps 0 or 6 out of it (an inequality), loses one partner of this release (an
    authority's before a total, the smallest non-zero first), which is then followed in turn. Whether
    anything was withheld."""
    targets = {failure.cell for failure in failures}
    queue = sorted(targets)
    seen = set(queue)
    withheld = False
    while queue:
        hidden = queue.pop()
        for key in list(auditor.by_variable.get(hidden, ())):
            constraint = auditor.constraints.get(key)
            if constraint is None or key[0] == "rate" or hidden not in constraint.terms:
                continue
            others = [v for v in constraint.terms if v != hidden and constraint.terms[v]]
            exact = constraint.lower is not None and constraint.lower == constraint.upper
            if hidden in targets or not exact:
                if not _pins(auditor, constraint, hidden):
                    continue
            elif any(v not in auditor.state.bounds for v in others):
                continue  # a complement with another unknown beside it
            partners = [
                v
                for *_, v in sorted(
                    (v[1] in auditor.layout.rounded, v[3] == 0, v[3], v)
                    for v in others
                    if v[0] == month and v in auditor.state.bounds and v not in public_before
                )
            ]
            if not partners:
                continue  # nothing of this release left in it: the search decides
            chosen = partners[0]
            for partner in partners:  # the first that frees it (a stock, where the stock moved against it)
                undo = auditor.withhold(month, (partner[1], partner[2]))
                frees = not _pins(auditor, constraint, hidden)
                undo()
                if frees:
                    chosen = partner
                    break
            auditor.withhold(month, (chosen[1], chosen[2]))
            withheld = True
            if chosen not in seen:
                seen.add(chosen)
                queue.append(chosen)
    return withheld


def _pins(auditor: Auditor, constraint: _Constraint, target: Variable) -> bool:
    """Whether this constraint alone, its other figures anywhere within their bounds, keeps 0 or 6
    out of the target's interval."""
    coefficient = constraint.terms[target]
    if not coefficient:
        return False
    least_of_others: Number = 0
    most_of_others: Number = 0
    for variable, c in constraint.terms.items():
        if variable == target:
            continue
        low, high = auditor.bounds_of(variable)
        least_of_others += min(c * low, c * high)
        most_of_others += max(c * low, c * high)
    low_side = None if constraint.lower is None else Fraction(constraint.lower - most_of_others)
    high_side = None if constraint.upper is None else Fraction(constraint.upper - least_of_others)
    if coefficient < 0:
        low_side, high_side = (None if high_side is None else -high_side), (None if low_side is None else -low_side)
    bound = Fraction(-coefficient if coefficient < 0 else coefficient)
    least = None if low_side is None else low_side / bound
    most = None if high_side is None else high_side / bound
    return (least is not None and least > PROTECTED_BELOW) or (most is not None and most < PROTECTED_ABOVE)


def within_reach(month: str, released: str) -> bool:
    """Whether the releases of `month` take part in the audit of `released`: the months from two
    reaches before it (a rolling sum's window, and the windows that hold its first month) to one
    after it (the releases of a later month, when an earlier one is published again)."""
    apart = Month.parse(month).months_since(Month.parse(released))
    return -2 * REACH <= apart <= REACH


def _protect_one(auditor: Auditor, failure: Interval, month: str, public_before: set[Variable]) -> None:
    target = failure.cell
    held = _Held()
    interval = auditor.interval(target, month, held=held)
    while not interval.protected:
        failing = "least" if interval.least > PROTECTED_BELOW else "most"
        holding = set(_holding(auditor, held, failing, target, month, public_before))
        ranked = _candidates(auditor, target, month, public_before)
        candidates = [c for c in ranked if c in holding] + [c for c in ranked if c not in holding]
        candidates = candidates[:CANDIDATES_TRIED]
        if not candidates:
            raise Unprotectable(
                f"{target[0]} {target[1]} {target[2]}: the attacker's audit narrows a withheld small figure "
                "to exclude 0 or 6, and no figure of the release could protect it"  # no figure in the line
            )
        trials = _Trials(auditor, target, month, candidates)
        for cell in candidates:  # the first that protects or widens it is withheld: trying them all costs an LP each
            trial, trial_held = trials.interval(cell, interval)
            if trial.protected or trial.most - trial.least > interval.most - interval.least:
                auditor.withhold(month, cell)
                interval, held = trial, trial_held  # solved as the attacker now stands
                break
        else:  # no one figure widens it: the nearest goes, and the next is tried with it
            auditor.withhold(month, candidates[0])
            held = _Held()
            interval = auditor.interval(target, month, interval, held=held)


class _Trials:
    """The search's trials for one target at one step, on one model: the target's group as it would be
    with every candidate withheld, each candidate held at what the public knows of it (`public_interval`)
    until its trial frees it. A trial is then a change of bounds solved from the last trial's basis, not a
    group found, built and solved anew. The constraints that only a held candidate joins to the group are
    satisfied by the true figures apart from it, so they leave the target's interval as it is."""

    def __init__(self, auditor: Auditor, target: Variable, month: str, candidates: Sequence[Cell]) -> None:
        self.target = target
        taken = {cell: auditor._taken_by_withholding(month, cell) for cell in candidates}
        held = {variable: auditor.public_interval(variable) for variables in taken.values() for variable in variables}
        undos = [auditor.withhold(month, cell) for cell in candidates]
        try:
            [(members, keys)] = auditor._components([target], month)
            self.group = _Group(auditor, members, keys)
        finally:
            for undo in reversed(undos):
                undo()
        index = self.group.index
        self.freed = {cell: [index[v] for v in variables if v in index] for cell, variables in taken.items()}
        self.held_at = {index[v]: bounds for v, bounds in held.items() if v in index}
        start = [self.held_at.get(column, bounds) for column, bounds in enumerate(self.group.bounds)]
        self.program = _Program(self.group.matrix, self.group.upper, start, simplex=DUAL_SIMPLEX)

    def interval(self, cell: Cell, before: Interval) -> tuple[Interval, _Held]:
        """The target's interval with `cell` withheld (a side of `before` already far enough kept), and
        what holds each side solved."""
        columns = self.freed[cell]
        self.program.bound(columns, [self.group.bounds[column] for column in columns])
        try:
            held = _Held(group=self.group)
            column = self.group.index[self.target]
            least, most = float(before.least), float(before.most)
            for side, sign in (("least", 1.0), ("most", -1.0)):
                if (side == "least" and before.least <= PROTECTED_BELOW) or (
                    side == "most" and before.most >= PROTECTED_ABOVE
                ):
                    continue  # withholding only widens
                objective = np.zeros(len(self.group.order))
                objective[column] = sign
                found = self.program.minimum(objective)
                if found is None:
                    continue  # the solver's own failure: the side stays as it was (never narrower)
                held.duals[side] = self.program.duals()
                if side == "least":
                    least = found[0]
                else:
                    most = -found[0]
        finally:
            self.program.bound(columns, [self.held_at[column] for column in columns])
        return Interval(self.target, math.ceil(least - _TOLERANCE), math.floor(most + _TOLERANCE)), held


CANDIDATES_TRIED = 24  # per step: the nearest figures of the group, in order


def _holding(
    auditor: Auditor, held: _Held, side: str, target: Variable, month: str, public_before: set[Variable]
) -> list[Cell]:
    """The figures of this release that hold the target's failing `side` where the LP left it (`held`,
    from the solve that found it): in a constraint, or a bound, that the optimum rests on (a nonzero
    dual), the strongest first. Withholding one of them is what can move that side; the search tries
    them first (nearest first among them)."""
    group = held.group
    if group is None or side not in held.duals:
        return []
    row_duals, column_duals = held.duals[side]
    strength: dict[Cell, float] = {}

    def ours(variable: Variable) -> bool:
        return (
            variable[0] == month
            and variable != target
            and variable not in public_before
            and variable in auditor.state.bounds
        )

    for row in np.flatnonzero(np.abs(row_duals) > _TOLERANCE):
        constraint = auditor.constraints[group.row_keys[row]]
        for variable, coefficient in constraint.terms.items():
            if ours(variable):
                weight = abs(float(row_duals[row]) * float(coefficient))
                strength[(variable[1], variable[2])] = max(strength.get((variable[1], variable[2]), 0.0), weight)
    for column in np.flatnonzero(np.abs(column_duals) > _TOLERANCE):  # a rounded total's interval
        variable = group.order[column]
        if ours(variable):
            cell = (variable[1], variable[2])
            strength[cell] = max(strength.get(cell, 0.0), abs(float(column_duals[column])))
    return sorted(strength, key=lambda cell: (-strength[cell], cell))


def _candidates(auditor: Auditor, target: Variable, month: str, public_before: set[Variable]) -> list[Cell]:
    """The figures of this release that could protect `target`: printed by it alone, in an identity of
    the target's group; the nearest to the target first (the identities between them, through figures
    the public lacks: a stock that pins an earlier month's flow is two steps away), then an
    authority's before a total, the smallest non-zero first."""
    distance = {target: 0}
    queue = [target]
    found = set()
    seen_keys: set[tuple] = set()
    for variable in queue:  # breadth first: `queue` grows as it is read
        for key in auditor.by_variable.get(variable, ()):
            constraint = auditor.constraints.get(key)
            if key in seen_keys or constraint is None or variable not in constraint.terms:
                continue
            seen_keys.add(key)
            for other in constraint.terms:
                if (
                    other[0] == month
                    and other != target
                    and other not in public_before
                    and other in auditor.state.bounds
                ):
                    found.add((distance[variable], other[1] in auditor.layout.rounded, other[3] == 0, other[3], other))
                if other not in distance and auditor.unknown(other):
                    distance[other] = distance[variable] + 1
                    queue.append(other)
    ranked = sorted(found)
    return list(dict.fromkeys((variable[1], variable[2]) for *_, variable in ranked))


def audit_releases(
    layout: Layout,
    releases: Iterable[MonthRelease],
    month: str,
    ceiling: Ceiling = catalogue_ceiling,
    mode: str = "exact",
) -> Audit:
    """The audit of `month` after every release in `releases` (in the order they were made); `mode`
    as `Auditor.audit` reads it ("report": what a release's summary needs)."""
    auditor = Auditor(layout, ceiling)
    for release in releases:
        auditor.add(release)
    return auditor.audit(month, mode=mode)
