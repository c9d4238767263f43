"""The pandas engine: every kind of the rule book evaluated over whole columns.

The cell kinds become one pandera schema generated from their declarations (a failing check's
`error` is its rule's id, so a failure case maps straight onto its rule); every other kind is a
mask over whole columns, a map onto the register, an as-of join onto the official estimates or
a lookup of earlier months. Only the failing rows come out. `csc-returns validate` runs on this
engine alone; the pipeline runs on it every kind Great Expectations does not decide.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import lru_cache

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from pipelines.ingest.cells import arrow_text
from pipelines.validate.engines.base import Checked, ColumnEngine, Failing
from pipelines.validate.history import History, held_median, history_of, rolling_window
from schemas.catalogue import LA_CODE_PATTERN, NUMERIC_UNITS, PERIOD_PATTERN, indicators_by_column
from schemas.lean_pandera import pa
from schemas.rules import RULES, Rule
from schemas.rules.arithmetic import derived_excess, expected_derived, precision_tolerance, reported_decimals
from schemas.rules.kinds import (
    PANDAS,
    CellGiven,
    ColumnTypes,
    ComponentsGiven,
    DenominatorNonZero,
    DerivedFromParts,
    FlowOutlier,
    Limits,
    Mandatory,
    Minimum,
    MonthEnded,
    PartWithinWhole,
    Pattern,
    PopulationNearEstimate,
    Registered,
    RollingSumAgrees,
    StockJump,
    SumWithinWhole,
    UniqueAuthorityMonth,
    WholeNumber,
    WithinBand,
    WithinCeiling,
)

PANDAS_ENGINE = ColumnEngine(PANDAS)
_UNIQUE_CHECK = "multiple_fields_uniqueness"  # pandera's name for a unique-columns failure


def _where(mask: pd.Series | np.ndarray) -> np.ndarray:
    """Positions where `mask` holds (NA as False)."""
    if isinstance(mask, pd.Series):
        mask = mask.fillna(False).to_numpy(dtype=bool)
    return np.flatnonzero(mask)


# ---- cells: one pandera schema --------------------------------------------------------------------


def _is_whole(series: pd.Series) -> pd.Series:
    return (series % 1 == 0) | series.isna()


def _checks(rule: Rule) -> dict[str, list[pa.Check]]:
    """The pandera checks of a cell rule, by column; each check's `error` is the rule's id."""
    kind = rule.kind
    if isinstance(kind, Pattern):
        return {kind.column: [pa.Check.str_matches(f"^{kind.pattern}$", error=rule.id)]}
    if isinstance(kind, Minimum):
        check = pa.Check.ge if kind.inclusive else pa.Check.gt
        return {column: [check(kind.minimum, error=rule.id)] for column in kind.items()}
    if isinstance(kind, WholeNumber):
        return {column: [pa.Check(_is_whole, error=rule.id)] for column in kind.items()}
    if isinstance(kind, Limits):
        return {column: [pa.Check.in_range(kind.low, kind.high, error=rule.id)] for column in kind.items()}
    return {}


@lru_cache(maxsize=8)
def cell_schema(rule_ids: tuple[str, ...]) -> pa.DataFrameSchema:
    """The pandera schema of the cell rules `rule_ids`: their checks, column by column in the
    catalogue's order (each column's checks in the registry's order), each column typed as the
    standard says (every typed column of the catalogue when the column types are among the rules)."""
    checks: dict[str, list[pa.Check]] = {}
    for rule_id in rule_ids:
        for column, own in _checks(RULES[rule_id]).items():
            checks.setdefault(column, []).extend(own)
    kinds = {type(RULES[rule_id].kind) for rule_id in rule_ids}
    columns = {}
    for indicator in indicators_by_column().values():
        typed = indicator.unit in (*NUMERIC_UNITS, "code", "month")
        if indicator.column in checks or (ColumnTypes in kinds and typed):
            dtype = "Float64" if indicator.unit in NUMERIC_UNITS else "string"
            columns[indicator.column] = pa.Column(dtype, checks.get(indicator.column, []), nullable=True)
    unique = UniqueAuthorityMonth in kinds
    return pa.DataFrameSchema(
        columns, unique=["la_code", "period"] if unique else None, report_duplicates="all", strict=False
    )


@PANDAS_ENGINE.evaluates(CellGiven, Pattern, Minimum, WholeNumber, Limits, UniqueAuthorityMonth, ColumnTypes)
def _cells(rules: Sequence[Rule], checked: Checked) -> Iterator[Failing]:
    """Blank identity cells, then pandera's failure cases: duplicates, column types, cells in pandera's order."""
    frame = checked.values
    if frame.empty:
        return
    sequence = 0
    for rule in rules:
        if isinstance(rule.kind, CellGiven):
            blank = _where(frame[rule.kind.column].isna())
            yield Failing(rule, 0, blank, order=np.arange(sequence, sequence + len(blank)))
            sequence += len(blank)
    schema_rules = tuple(rule.id for rule in rules if not isinstance(rule.kind, CellGiven))
    try:
        cell_schema(schema_rules).validate(frame, lazy=True, inplace=True)  # nothing coerced: no copy of the rows
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases.reset_index(drop=True)
        by_kind = {type(rule.kind): rule for rule in rules}
        duplicates = cases[cases["check"] == _UNIQUE_CHECK]
        if UniqueAuthorityMonth in by_kind and not duplicates.empty:
            rows = np.array(sorted(set(duplicates["index"].dropna().astype(int))))
            yield Failing(by_kind[UniqueAuthorityMonth], 0, rows, order=np.arange(sequence, sequence + len(rows)))
            sequence += len(rows)
        cases = cases[cases["check"] != _UNIQUE_CHECK]
        known = cases["index"].notna() & cases["check"].isin(list(schema_rules))
        if ColumnTypes in by_kind and (~known).any():  # about a column, not a cell: pandera's own words
            about = cases[~known]
            evidence = pd.DataFrame(
                {"file": str(frame["file"].iloc[0]), "column": list(about["column"]), "check": list(about["check"])}
            )
            yield Failing(
                by_kind[ColumnTypes],
                0,
                np.zeros(0, dtype="int64"),
                evidence,
                np.arange(sequence, sequence + len(about)),
            )
            sequence += len(about)
        for (check, column), group in cases[known].groupby(["check", "column"], sort=False):
            rule = RULES[check]
            yield Failing(
                rule,
                rule.kind.items().index(column),
                group["index"].astype(int).to_numpy(),
                order=sequence + group.index.to_numpy(),  # pandera's order
            )


# ---- a row's figures -----------------------------------------------------------------------------


def _unreadable(checked: Checked, column: str, positions: np.ndarray) -> np.ndarray:
    """Which of `positions` hold text in `column` that did not parse: the reader already said so (invalid_value)."""
    values, text = checked.values, checked.text
    if column not in text.columns:
        return np.zeros(len(positions), dtype=bool)
    stripped = text[column].iloc[positions].astype("string").str.strip()
    given = (stripped.notna() & (stripped != "") & (stripped.str.lower() != "x")).fillna(False).to_numpy(dtype=bool)
    return given & values[column].iloc[positions].isna().to_numpy(dtype=bool)


@PANDAS_ENGINE.evaluates(Mandatory)
def _mandatory(rules: Sequence[Rule], checked: Checked) -> Iterator[Failing]:
    values, text = checked.values, checked.text
    for rule in rules:
        assert isinstance(rule.kind, Mandatory)
        for item, column in enumerate(rule.kind.items()):
            blank = values[column].isna().to_numpy(dtype=bool)
            marked_x = pc.equal(pc.utf8_lower(arrow_text(text[column])), "x").fill_null(False)
            marked = marked_x.to_numpy(zero_copy_only=False).astype(bool)
            if rule.kind.marked == "x":
                yield Failing(rule, item, np.flatnonzero(blank & marked))
                continue
            candidates = np.flatnonzero(blank & ~marked)
            # `N/A` is an invalid value (the reader said so), not a missing one.
            yield Failing(rule, item, candidates[~_unreadable(checked, column, candidates)])


@PANDAS_ENGINE.evaluates(ComponentsGiven)
def _components(rules: Sequence[Rule], checked: Checked) -> Iterator[Failing]:
    values = checked.values
    for rule in rules:
        for item, figure in enumerate(rule.kind.items()):
            numerator, denominator = values[figure.numerator], values[figure.denominator]
            candidates = _where(values[figure.column].notna() & (numerator.isna() | denominator.isna()))
            skip = _unreadable(checked, figure.numerator, candidates) | _unreadable(
                checked, figure.denominator, candidates
            )
            yield Failing(rule, item, candidates[~skip])


@PANDAS_ENGINE.evaluates(DenominatorNonZero)
def _denominators(rules: Sequence[Rule], checked: Checked) -> Iterator[Failing]:
    values = checked.values
    for rule in rules:
        for item, figure in enumerate(rule.kind.items()):
            reported, numerator = values[figure.column], values[figure.numerator]
            yield Failing(rule, item, _where(reported.notna() & numerator.notna() & (values[figure.denominator] == 0)))


@PANDAS_ENGINE.evaluates(DerivedFromParts)
def _derived(rules: Sequence[Rule], checked: Checked) -> Iterator[Failing]:
    values, text = checked.values, checked.text
    for rule in rules:
        # One figure at a time: a million rows never hold every rate's intermediate columns at once.
        for item, figure in enumerate(rule.kind.items()):
            exact = expected_derived(values[figure.numerator], values[figure.denominator], figure.multiplier)
            decimals = reported_decimals(arrow_text(text[figure.column]), values.index)
            excess = derived_excess(values[figure.column], exact, precision_tolerance(decimals))
            yield Failing(rule, item, _where(excess > 0))


@PANDAS_ENGINE.evaluates(PartWithinWhole)
def _parts(rules: Sequence[Rule], checked: Checked) -> Iterator[Failing]:
    values = checked.values
    for rule in rules:
        for item, (part, whole) in enumerate(rule.kind.items()):
            slack = values[whole].astype("float64") - values[part].astype("float64")
            yield Failing(rule, item, _where(slack < 0))


@PANDAS_ENGINE.evaluates(WithinCeiling)
def _ceilings(rules: Sequence[Rule], checked: Checked) -> Iterator[Failing]:
    """Each count above its ceiling: a number, or the row's count it stays within (that count's own
    ceiling where it is not given or is above it). An overlong numeral is read as infinite: above."""
    values = checked.values
    for rule in rules:
        assert isinstance(rule.kind, WithinCeiling)
        for item, (column, ceiling) in enumerate(rule.kind.items()):
            yield Failing(rule, item, _where(values[column].astype("float64") > rule.kind.limit(values, ceiling)))


@PANDAS_ENGINE.evaluates(SumWithinWhole)
def _sums(rules: Sequence[Rule], checked: Checked) -> Iterator[Failing]:
    values = checked.values
    for rule in rules:
        assert isinstance(rule.kind, SumWithinWhole)
        total = values[rule.kind.parts[0]]
        for part in rule.kind.parts[1:]:
            total = total + values[part]
        yield Failing(rule, 0, _where(total > values[rule.kind.whole]))


@PANDAS_ENGINE.evaluates(WithinBand)
def _bands(rules: Sequence[Rule], checked: Checked) -> Iterator[Failing]:
    values = checked.values
    for rule in rules:
        for item, (column, low, high) in enumerate(rule.kind.items()):
            figure = values[column]
            yield Failing(rule, item, _where(figure.notna() & ((figure < low) | (figure > high)).fillna(False)))


# ---- the reference data ------------------------------------------------------------------------


def _well_formed(values: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    codes = values["la_code"].str.fullmatch(LA_CODE_PATTERN).fillna(False).astype(bool)
    periods = values["period"].str.fullmatch(PERIOD_PATTERN).fillna(False).astype(bool)
    return codes, periods


@PANDAS_ENGINE.evaluates(MonthEnded)
def _month_ended(rules: Sequence[Rule], checked: Checked) -> Iterator[Failing]:
    values = checked.values
    _, valid_period = _well_formed(values)
    for rule in rules:
        yield Failing(rule, 0, _where(valid_period & (values["period"] > checked.last_complete_month).fillna(False)))


def _name_key(names: pd.Series) -> pd.Series:
    """Names compared without case, '&' for 'and', commas or runs of spaces."""
    text = names.astype("string").str.lower().str.replace("&", "and", regex=False).str.replace(",", " ", regex=False)
    return text.str.split().str.join(" ")


@PANDAS_ENGINE.evaluates(Registered)
def _registered(rules: Sequence[Rule], checked: Checked) -> Iterator[Failing]:
    register = checked.reference.register
    if register is None or register.empty:
        return
    values = checked.values
    well_formed, _ = _well_formed(values)
    names = pd.Series(register["la_name"].to_numpy(), index=register["new_la_code"].to_numpy())
    names = names[~names.index.duplicated(keep="last")]  # the last row of a code twice, as dict(zip(...)) did
    registered = values["la_code"].map(names).where(well_formed)
    for rule in rules:
        assert isinstance(rule.kind, Registered)
        if rule.kind.check == "code":
            yield Failing(rule, 0, _where(well_formed & registered.isna()))
            continue
        named = well_formed & registered.notna() & values["la_name"].notna()
        differs = _where(named & (_name_key(values["la_name"]) != _name_key(registered)).fillna(False))
        yield Failing(rule, 0, differs, pd.DataFrame({"registered": registered.iloc[differs].to_numpy()}))


@PANDAS_ENGINE.evaluates(PopulationNearEstimate)
def _populations(rules: Sequence[Rule], checked: Checked) -> Iterator[Failing]:
    """Each row's population against the mid-year estimate in force for its month: mid-(Y-1) for a
    month in the financial year ending March Y (as DfE computes rates), falling back to the latest
    earlier estimate when ONS has not published one yet (an as-of join on authority and year)."""
    populations = checked.reference.populations
    if populations is None or populations.empty:
        return
    values = checked.values
    well_formed, valid_period = _well_formed(values)
    positions = _where(well_formed & valid_period & values["population_0_17"].notna())
    if not len(positions):
        return
    rows = values.iloc[positions]
    year, month = rows["period"].str[:4].astype("int64"), rows["period"].str[5:7].astype("int64")
    wanted = pd.DataFrame(
        {
            "position": positions,
            "la_code": rows["la_code"].astype(str).to_numpy(),
            "wanted": np.where(month >= 4, year, year - 1).astype("int64"),
        }
    )
    official = pd.DataFrame(
        {
            "la_code": populations["new_la_code"].astype(str).to_numpy(),
            "estimate_year": populations["year"].astype("int64").to_numpy(),
            "official": populations["population"].astype("float64").to_numpy(),
        }
    )
    matched = pd.merge_asof(
        wanted.sort_values("wanted"),
        official.sort_values("estimate_year"),
        left_on="wanted",
        right_on="estimate_year",
        by="la_code",
        direction="backward",
    )
    matched = matched.dropna(subset=["official"]).sort_values("position", kind="stable")
    matched["reported"] = values["population_0_17"].astype("float64").to_numpy()[matched["position"].to_numpy()]
    matched["share"] = (matched["reported"] - matched["official"]).abs() / matched["official"]
    for rule in rules:
        assert isinstance(rule.kind, PopulationNearEstimate)
        beyond = matched["share"] > rule.kind.beyond
        if rule.kind.up_to is not None:
            beyond &= matched["share"] <= rule.kind.up_to
        flagged = matched[beyond.to_numpy()]
        evidence = flagged[["reported", "official", "estimate_year", "share"]].reset_index(drop=True)
        yield Failing(rule, 0, flagged["position"].to_numpy(), evidence)


# ---- the authority's history ------------------------------------------------------------------


def _rolling_sums(rule: Rule, found: History, start: int, stop: int) -> Iterator[Failing]:
    kind = rule.kind
    assert isinstance(kind, RollingSumAgrees)
    at = found.positions[start:stop]
    for item, (column, flow) in enumerate(kind.items()):
        window = rolling_window(found, column, flow, kind.months, start, stop)
        reported, full, total, from_last_month = window.reported, window.full, window.total, window.from_last_month
        previous, current, dropped = window.previous, window.current, window.dropped
        del window  # its twelve months of the block: not kept while the next item's are gathered
        partial = ~full & ~np.isnan(previous) & ~np.isnan(dropped) & ~np.isnan(current)
        expected = np.where(full, total, from_last_month)
        wrong = ~np.isnan(reported) & (full | partial) & (expected != reported)
        evidence = pd.DataFrame(
            {
                "reported": reported,
                "full": full,
                "total": total,
                "previous": previous,
                "current": current,
                "dropped": dropped,
                "expected": expected,
            }
        )[wrong].reset_index(drop=True)
        yield Failing(rule, item, at[wrong], evidence)


def _stock_jumps(rule: Rule, found: History, start: int, stop: int) -> Iterator[Failing]:
    kind = rule.kind
    assert isinstance(kind, StockJump) and found.earlier is not None
    at = found.positions[start:stop]
    for item, column in enumerate(kind.items()):
        previous, current = found.earlier.block(1, column, start, stop), found.own(column, start, stop)
        with np.errstate(invalid="ignore"):
            jump = np.abs(current - previous) > np.maximum(kind.share * previous, kind.minimum)
        wrong = ~np.isnan(previous) & ~np.isnan(current) & jump
        yield Failing(rule, item, at[wrong], pd.DataFrame({"current": current[wrong], "previous": previous[wrong]}))


def _flow_outliers(rule: Rule, found: History, start: int, stop: int) -> Iterator[Failing]:
    kind = rule.kind
    assert isinstance(kind, FlowOutlier) and found.earlier is not None
    earlier, at = found.earlier, found.positions[start:stop]
    for item, column in enumerate(kind.items()):
        current = found.own(column, start, stop)

        def months_before(first: int, last: int, column: str = column) -> list[np.ndarray]:
            """The `kind.months` months before rows first..last of this block."""
            return [earlier.block(k, column, start + first, min(start + last, stop)) for k in range(1, kind.months + 1)]

        held, usual = held_median(len(current), months_before)
        with np.errstate(invalid="ignore"):
            far = (current > usual * kind.factor) | (current < usual / kind.factor)
            wrong = (
                ~np.isnan(current) & (held >= kind.min_months) & far & (np.abs(current - usual) >= kind.min_difference)
            )
        evidence = pd.DataFrame({"current": current[wrong], "usual": usual[wrong], "held": held[wrong]})
        yield Failing(rule, item, at[wrong], evidence)


_HISTORY = {RollingSumAgrees: _rolling_sums, StockJump: _stock_jumps, FlowOutlier: _flow_outliers}


@PANDAS_ENGINE.evaluates(*_HISTORY)
def _history_rules(rules: Sequence[Rule], checked: Checked) -> Iterator[Failing]:
    """The checked rows' earlier months are found once for every history rule; the rules run over
    blocks of rows (memory, not results: a million rows never hold every intermediate column)."""
    found = history_of(checked.values, checked.history, checked.accepted)
    if found.earlier is None:
        return
    for start, stop in found.blocks():
        for rule in rules:
            yield from _HISTORY[type(rule.kind)](rule, found, start, stop)
