"""The Great Expectations engine: the cross-column kinds as GX 1.x suites, generated from their declarations.

Each kind GX decides registers here the expectations a rule of that kind becomes (in which
suite) and how GX's unexpected rows become its failing rows:

- `derived_figures`, over a long table (one row per return and rate or percentage reported):
  our `ExpectDerivedFigureToMatchComponents` (`custom_expectations.py`) checks each reported
  figure against numerator / denominator x multiplier at the precision reported, with the
  rule book's arithmetic (`schemas/rules/arithmetic.py`);
- `rolling_sums`, over the rolling figures and the months they read (`history.rolling_table`);
- `return_figures`, over the returns: GX's own expectations for parts within wholes, the unit
  ranges (shown in the Data Docs, reported by the cell rules) and the plausibility bands.

A fourth, `target_bands`, runs over each authority's targets in force when they are given:
warnings only (no findings), so the Data Docs ask the board's red/amber/green question beside
the rules. Each suite runs once over all the rows given (a range of months in one run); the
Data Docs are written per month from the results (`gx_docs.py`). GX costs seconds to import,
so this module imports it only inside the functions that run it: `csc-returns validate` never does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipelines.ingest.cells import arrow_text
from pipelines.validate.engines.base import Checked, Engine, Failing, listed, rules_decided_by, single_month
from pipelines.validate.engines.pandas_engine import PANDAS_ENGINE
from pipelines.validate.history import ROLLING_COLUMNS, history_of, rolling_table
from schemas.catalogue import Indicator, indicators_by_column
from schemas.findings import Finding
from schemas.rules import RULE_LIST, RULES, Rule
from schemas.rules.arithmetic import expected_derived, reported_decimals
from schemas.rules.kinds import GX, DerivedFromParts, Limits, PartWithinWhole, Reads, RollingSumAgrees, WithinBand
from schemas.rules.kinds.rows import multiplier_of

DERIVED_SUITE = "derived_figures"
RETURN_SUITE = "return_figures"
ROLLING_SUITE = "rolling_sums"
TARGET_SUITE = "target_bands"
SUITES = (DERIVED_SUITE, ROLLING_SUITE, RETURN_SUITE)  # the rule book's suites, in the order they are listed
# Columns carried into each batch so that Data Docs name the authority and month of a failing row.
INDEX_COLUMNS = {
    DERIVED_SUITE: ["position", "la_code", "period", "indicator", "reported", "recomputed"],
    RETURN_SUITE: ["position", "la_code", "period"],
    TARGET_SUITE: ["la_code", "period", "indicator", "figure", "target", "amber_edge"],
    ROLLING_SUITE: ["row_id", "la_code", "period", "indicator", "reported", "recomputed"],
}
# What names a row of each batch within its month (with its month, `period`).
ROW_KEYS = {
    DERIVED_SUITE: ["period", "indicator", "position"],
    RETURN_SUITE: ["period", "position"],
    TARGET_SUITE: ["period", "la_code", "indicator"],
    ROLLING_SUITE: ["period", "row_id"],
}
_DERIVED_COLUMNS = ["reported", "numerator", "denominator", "multiplier", "decimals"]


@dataclass(frozen=True)
class SuiteEntry:
    """One expectation as data: its suite, GX class, arguments, and the rule (and item) it stands for.

    `findings` False: the expectation is shown in the Data Docs but another engine reports it
    (pandera for the unit ranges).
    """

    suite: str
    expectation: str
    kwargs: dict = field(hash=False)
    rule: str | None
    column: str | None
    description: str
    findings: bool = True
    item: int | None = None  # the rule's item (column, pair, band), when the expectation covers one


Outcome = Any  # GX's ExpectationValidationResult
Batch = pd.DataFrame


@dataclass(frozen=True)
class GxKind:
    """How GX decides (or shows) one kind: the expectations a rule becomes, and its failing rows
    from an outcome (`failing(rule, entry, outcome, run)`), None for a kind GX only shows."""

    suite: str
    entries: Callable[[Rule], list[SuiteEntry]]
    failing: Callable[[Rule, SuiteEntry, Outcome, GxRun], Iterable[Failing]] | None = None


GX_ENGINE: Engine[GxKind] = Engine(GX)
_register = GX_ENGINE.register


def _unexpected(outcome: Outcome, suite: str) -> pd.DataFrame:
    """GX's unexpected rows as a table of the suite's index columns."""
    rows = outcome.result.get("unexpected_index_list") or []
    if not outcome.success and not rows:
        raise RuntimeError(
            f"GX reported {outcome.expectation_config.type} failing without the failing rows: {outcome.result}"
        )
    return pd.DataFrame(rows, columns=INDEX_COLUMNS[suite])


# ---- derived figures ------------------------------------------------------------------------------


def _derived_entries(rule: Rule) -> list[SuiteEntry]:
    return [
        SuiteEntry(
            DERIVED_SUITE,
            "ExpectDerivedFigureToMatchComponents",
            {"column_list": _DERIVED_COLUMNS},
            rule.id,
            None,
            "each rate or percentage equals numerator / denominator x multiplier at the precision reported",
        )
    ]


def _derived_failing(rule: Rule, entry: SuiteEntry, outcome: Outcome, run: GxRun) -> Iterator[Failing]:
    rows = _unexpected(outcome, DERIVED_SUITE)
    figures = [figure.column for figure in rule.kind.items()]
    for column, failing in rows.groupby("indicator", sort=False):
        yield Failing(rule, figures.index(column), run.positions(failing))


_register(DerivedFromParts, GxKind(DERIVED_SUITE, _derived_entries, _derived_failing))


# ---- rolling sums ---------------------------------------------------------------------------------


def _rolling_entries(rule: Rule) -> list[SuiteEntry]:
    months = [f"month_{k}" for k in range(rule.kind.months)]  # type: ignore[attr-defined]
    return [
        SuiteEntry(
            ROLLING_SUITE,
            "ExpectRollingSumToAgreeWithMonths",
            {"column_list": ["reported", *months]},
            rule.id,
            None,
            "each rolling twelve-month figure equals the twelve monthly figures held",
        ),
        SuiteEntry(
            ROLLING_SUITE,
            "ExpectRollingSumToMoveWithLastMonth",
            {"column_list": ["reported", *ROLLING_COLUMNS]},
            rule.id,
            None,
            "without every month held: last month's rolling figure + this month's - twelve months ago's",
        ),
    ]


def _rolling_failing(rule: Rule, entry: SuiteEntry, outcome: Outcome, run: GxRun) -> Iterator[Failing]:
    rows = _unexpected(outcome, ROLLING_SUITE)
    at = run.batch_rows(ROLLING_SUITE, rows)
    failing = run.batches[ROLLING_SUITE].iloc[at].assign(position=run.rolling_positions[at])
    full = entry.expectation == "ExpectRollingSumToAgreeWithMonths"
    columns = [column for column, _ in rule.kind.items()]
    for column, group in failing.groupby("indicator", sort=False):
        evidence = pd.DataFrame(
            {
                "reported": group["reported"].to_numpy(),
                "full": full,
                "total": group["recomputed"].to_numpy(),
                "expected": group["recomputed"].to_numpy(),
                **{name: group[name].to_numpy() for name in ROLLING_COLUMNS},
            }
        )
        yield Failing(rule, columns.index(column), group["position"].to_numpy(), evidence)


_register(RollingSumAgrees, GxKind(ROLLING_SUITE, _rolling_entries, _rolling_failing))


# ---- the returns' figures: parts, unit ranges (shown), bands ----------------------------------------


def _part_entries(rule: Rule) -> list[SuiteEntry]:
    return [
        SuiteEntry(
            RETURN_SUITE,
            "ExpectColumnPairValuesAToBeGreaterThanB",
            {"column_A": whole, "column_B": part, "or_equal": True, "ignore_row_if": "either_value_is_missing"},
            rule.id,
            part,
            f"{part} is at most {whole}",
            item=item,
        )
        for item, (part, whole) in enumerate(rule.kind.items())
    ]


def _one_column_failing(rule: Rule, entry: SuiteEntry, outcome: Outcome, run: GxRun) -> Iterator[Failing]:
    assert entry.item is not None
    yield Failing(rule, entry.item, run.positions(_unexpected(outcome, RETURN_SUITE)))


_register(PartWithinWhole, GxKind(RETURN_SUITE, _part_entries, _one_column_failing))


def _limit_entries(rule: Rule) -> list[SuiteEntry]:
    kind = rule.kind
    assert isinstance(kind, Limits)
    return [
        SuiteEntry(
            RETURN_SUITE,
            "ExpectColumnValuesToBeBetween",
            {"column": column, "min_value": kind.low, "max_value": kind.high},
            rule.id,
            column,
            f"{column} between {kind.low:,} and {kind.high:,} (reported by the structure rules)",
            findings=False,
            item=item,
        )
        for item, column in enumerate(kind.items())
    ]


_register(Limits, GxKind(RETURN_SUITE, _limit_entries))


def _band_entries(rule: Rule) -> list[SuiteEntry]:
    return [
        SuiteEntry(
            RETURN_SUITE,
            "ExpectColumnValuesToBeBetween",
            {"column": column, "min_value": low, "max_value": high},
            rule.id,
            column,
            f"{column} within the published range {low:g} to {high:g}",
            item=item,
        )
        for item, (column, low, high) in enumerate(rule.kind.items())
    ]


_register(WithinBand, GxKind(RETURN_SUITE, _band_entries, _one_column_failing))


# ---- suites ---------------------------------------------------------------------------------------


def gx_rules(rules: Iterable[Rule] = RULE_LIST) -> list[Rule]:
    """The rules GX decides or shows, in the order of the suites and of the kinds' registration."""
    registered = list(GX_ENGINE.kinds)
    mine = [rule for rule in rules if GX in rule.kind.engines or GX in rule.kind.shown_by]
    return sorted(
        mine,
        key=lambda rule: (SUITES.index(GX_ENGINE.registered(type(rule.kind)).suite), registered.index(type(rule.kind))),
    )


def suite_entries(rules: Iterable[Rule] = RULE_LIST) -> list[SuiteEntry]:
    """The suites as data: the expectations of every rule GX decides or shows, built from the declarations."""
    return [entry for rule in gx_rules(rules) for entry in GX_ENGINE.registered(type(rule.kind)).entries(rule)]


def _expectation(entry: SuiteEntry):
    import great_expectations.expectations as gxe

    from pipelines.validate import custom_expectations

    cls = getattr(custom_expectations, entry.expectation, None) or getattr(gxe, entry.expectation)
    meta: dict[str, Any] = {"rule": entry.rule, "column": entry.column, "findings": entry.findings}
    if entry.rule:
        meta["severity"] = RULES[entry.rule].severity
    return cls(**entry.kwargs, mostly=1.0, description=entry.description, meta=meta)


def build_suite(name: str, entries: Sequence[SuiteEntry] | None = None):
    """The `ExpectationSuite` `name` of the rule book: mostly=1, nulls ignored."""
    from great_expectations.core import ExpectationSuite

    suite = ExpectationSuite(name=name)
    for entry in suite_entries() if entries is None else entries:
        if entry.suite == name:
            suite.add_expectation(_expectation(entry))
    return suite


def targets_in_force(targets: pd.DataFrame, month: str) -> pd.DataFrame:
    """Each authority's target for each indicator in `month`: the latest `from_month` not after it."""
    in_force = targets[targets["from_month"] <= month].sort_values("from_month")
    return in_force.drop_duplicates(["la_code", "indicator"], keep="last")


def target_batch(values: pd.DataFrame, targets: pd.DataFrame, month: str) -> pd.DataFrame:
    """One row per return and target in force: the figure, the target and the edge of amber.

    `targets` is the board's table (la_code, indicator, target, polarity, amber_tolerance, from_month).
    """
    known = indicators_by_column()
    plans = targets_in_force(targets, month)
    plans = plans[plans["indicator"].isin(list(known))]
    figures = values.assign(la_code=values["la_code"].astype("object"), period=values["period"].astype("object"))
    figures = figures.melt(
        id_vars=["la_code", "period"],
        value_vars=sorted(set(plans["indicator"])),
        var_name="indicator",
        value_name="figure",
    )
    table = figures.merge(
        plans[["la_code", "indicator", "target", "polarity", "amber_tolerance"]],
        on=["la_code", "indicator"],
        how="inner",
    )
    table["figure"] = table["figure"].astype("float64")
    high = table["polarity"] == "high"
    table["amber_edge"] = np.where(
        high, table["target"] - table["amber_tolerance"], table["target"] + table["amber_tolerance"]
    )
    return table[table["figure"].notna()].reset_index(drop=True)


def target_suite():
    """The board's red/amber/green question over `target_batch`, as warnings (never findings).

    Green: the target met (at or above it when higher is better, at or below when lower is);
    not red: no further on the wrong side than the amber tolerance. Four expectations whatever
    the number of authorities: the targets are rows of the batch.
    """
    import great_expectations.expectations as gxe
    from great_expectations.core import ExpectationSuite
    from great_expectations.expectations.metadata_types import FailureSeverity
    from great_expectations.expectations.row_conditions import Column

    suite = ExpectationSuite(name=TARGET_SUITE)
    for polarity, better in (("high", "higher"), ("low", "lower")):
        for edge, verdict in (("target", "meets its target (green)"), ("amber_edge", "is not red (within amber)")):
            pair = ("figure", edge) if polarity == "high" else (edge, "figure")
            suite.add_expectation(
                gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                    column_A=pair[0],
                    column_B=pair[1],
                    or_equal=True,
                    ignore_row_if="either_value_is_missing",
                    row_condition=Column("polarity") == polarity,
                    severity=FailureSeverity.WARNING,
                    mostly=1.0,
                    description=f"where {better} is better, each authority's figure {verdict}",
                    meta={"rule": None, "findings": False, "target": edge},
                )
            )
    return suite


def new_context():
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    for name in list(context.get_site_names()):
        context.delete_data_docs_site(name)  # never write into GX's default uncommitted/ folder
    return context


def result_format(suite: str) -> dict:
    return {"result_format": "COMPLETE", "unexpected_index_column_names": INDEX_COLUMNS[suite]}


@lru_cache(maxsize=1)
def validations() -> dict:
    """One ephemeral context per process, a validation definition per suite: building it costs
    more than running the suites. The suites are those of the whole rule book and the targets."""
    import great_expectations as gx

    context = new_context()
    source = context.data_sources.add_pandas("returns")
    validations = {}
    for name in (*SUITES, TARGET_SUITE):
        suite = build_suite(name) if name != TARGET_SUITE else target_suite()
        batch = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe(f"{name}_batch")
        validations[name] = context.validation_definitions.add(
            gx.ValidationDefinition(name=name, data=batch, suite=context.suites.add(suite))
        )
    return validations


# ---- batches --------------------------------------------------------------------------------------


def _identity(values: pd.DataFrame, position: np.ndarray) -> dict:
    return {
        "position": position,
        "la_code": values["la_code"].astype("object").where(values["la_code"].notna(), None).to_numpy(),
        "period": values["period"].astype("object").where(values["period"].notna(), None).to_numpy(),
    }


def derived_batch(
    values: pd.DataFrame, text: pd.DataFrame, figures: Sequence[Indicator], position: np.ndarray | None = None
) -> pd.DataFrame:
    """One row per return and rate or percentage reported: what GX checks and what a steward reads.

    `recomputed` (shown in the Data Docs, one decimal place beyond the reported precision) comes
    from the rule book's arithmetic; the expectation recomputes from the components itself.
    """
    identity = pd.DataFrame(_identity(values, np.arange(len(values)) if position is None else position))
    tables = []
    for figure in figures:
        column = figure.column
        decimals = reported_decimals(arrow_text(text[column])).to_numpy()
        exact = expected_derived(values[figure.numerator], values[figure.denominator], multiplier_of(figure))
        table = identity.assign(
            indicator=column,
            reported=values[column].astype("float64").to_numpy(),
            numerator=values[figure.numerator].astype("float64").to_numpy(),
            denominator=values[figure.denominator].astype("float64").to_numpy(),
            multiplier=float(multiplier_of(figure)),
            decimals=decimals.astype("float64"),
            recomputed=(exact.to_numpy() * 10.0 ** (decimals + 1)).round() / 10.0 ** (decimals + 1),
        )
        tables.append(table[table["reported"].notna()])
    return pd.concat(tables, ignore_index=True)


def return_batch(values: pd.DataFrame, position: np.ndarray | None = None) -> pd.DataFrame:
    catalogue = indicators_by_column()
    figures = values[[c for c in values.columns if c in catalogue and catalogue[c].is_numeric]]
    identity = pd.DataFrame(_identity(values, np.arange(len(values)) if position is None else position))
    return pd.concat([identity, figures.astype("float64").reset_index(drop=True)], axis=1)


def _by_month(batch: pd.DataFrame) -> pd.DataFrame:
    """`batch` with each month's rows together, in the order a run of that month alone has them."""
    return batch.sort_values("period", kind="stable").reset_index(drop=True)


class GxRun:
    """One Great Expectations evaluation of the rows checked: each suite run once over all of them.

    With `by_month`, the rows are several months' (a range the pipeline validates in one go):
    each batch holds each month's rows together, numbered (`position`, `row_id`) from 0 within
    their month as a run of that month alone numbers them, so that every month's Data Docs can
    be cut from the one run with the pages that month's own run would give (`gx_docs.py`).
    `targets` (the board's table) adds the target-band suite: warnings on the page, no findings.
    """

    def __init__(self, checked: Checked, by_month: bool = False, targets: pd.DataFrame | None = None):
        self.checked = checked
        self.by_month = by_month
        self.targets = targets if targets is not None and not targets.empty else None
        self.batches: dict[str, pd.DataFrame] = {}  # each suite's batch, as GX was given it
        self.results: dict[str, Any] = {}
        self.rolling_positions = np.zeros(0, dtype="int64")  # the checked row of each rolling batch row
        values = checked.values
        if by_month:
            period = values["period"].astype("object").to_numpy()
            self._within = pd.Series(period).groupby(period, sort=False).cumcount().to_numpy()
            self._lookup = pd.MultiIndex.from_arrays([period, self._within])
        else:
            self._within = np.arange(len(values))

    # -- positions: batch rows, months and the checked rows ------------------------------------

    def _global(self, period: Iterable, within: Iterable) -> np.ndarray:
        within = np.asarray(list(within), dtype="int64")
        if not self.by_month:
            return within
        found = self._lookup.get_indexer(pd.MultiIndex.from_arrays([list(period), within]))
        assert (found >= 0).all(), "GX named a row the run did not give it"
        return found

    def positions(self, unexpected: pd.DataFrame) -> np.ndarray:
        """The checked rows GX reported unexpected (by their `position`, within their month)."""
        return self._global(unexpected["period"], unexpected["position"])

    def batch_rows(self, suite: str, unexpected: pd.DataFrame) -> np.ndarray:
        """The rows of the suite's batch GX reported unexpected (by `row_id`, within their month)."""
        batch = self.batches[suite]
        if not self.by_month:
            return unexpected["row_id"].astype("int64").to_numpy()
        index = pd.MultiIndex.from_arrays([batch["period"].to_numpy(), batch["row_id"].to_numpy()])
        return index.get_indexer(pd.MultiIndex.from_arrays([list(unexpected["period"]), list(unexpected["row_id"])]))

    # -- runs ------------------------------------------------------------------------------------

    def run(self, suite: str, batch: pd.DataFrame):
        """GX's validation result of `suite` over `batch`, kept (with the batch) for the Data Docs."""
        self.batches[suite] = batch
        self.results[suite] = validations()[suite].run(
            batch_parameters={"dataframe": batch}, result_format=result_format(suite)
        )
        return self.results[suite]

    def _outcomes(self, suite: str, rules: Sequence[Rule]) -> Iterator[Failing]:
        """The failing rows of `rules` in the suite's results (expectations shown only are skipped)."""
        wanted = {rule.id: rule for rule in rules}
        entries = {(_expectation_type(e.expectation), e.rule, e.column): e for e in suite_entries() if e.suite == suite}
        for outcome in self.results[suite].results:
            config = outcome.expectation_config
            entry = entries[(config.type, config.meta.get("rule"), config.meta.get("column"))]
            how = GX_ENGINE.registered(type(RULES[entry.rule].kind)) if entry.rule else None
            if entry.rule in wanted and entry.findings and how is not None and how.failing is not None:
                yield from how.failing(wanted[entry.rule], entry, outcome, self)

    def failing(self, rules: Sequence[Rule]) -> list[Failing]:
        """The failing rows of `rules` (kinds GX decides, reading the rows themselves) over the checked rows."""
        values, text = self.checked.values, self.checked.text
        if values.empty:
            return []
        suites = {GX_ENGINE.registered(type(rule.kind)).suite for rule in rules}
        found: list[Failing] = []
        if DERIVED_SUITE in suites:
            figures = next(rule.kind.items() for rule in RULE_LIST if isinstance(rule.kind, DerivedFromParts))
            batch = derived_batch(values, text, figures, self._within)
            self.run(DERIVED_SUITE, _by_month(batch) if self.by_month else batch)
            found += self._outcomes(DERIVED_SUITE, rules)
        if RETURN_SUITE in suites:
            batch = return_batch(values, self._within)
            self.run(RETURN_SUITE, _by_month(batch) if self.by_month else batch)
            found += self._outcomes(RETURN_SUITE, rules)
        if self.targets is not None:
            self._run_targets()
        return found

    def history_failing(self, rules: Sequence[Rule]) -> list[Failing]:
        """The failing rows of the history kinds GX decides (rolling sums) over the checked rows'
        accepted history (`checked.history`, `checked.accepted`)."""
        if not rules:
            return []
        kind = rules[0].kind
        assert isinstance(kind, RollingSumAgrees)
        table = rolling_table(
            self.checked.values,
            history_of(self.checked.values, self.checked.history, self.checked.accepted),
            kind.items(),
            kind.months,
        )
        if table.empty:
            return []
        if self.by_month:
            table = _by_month(table)
            row_id = table.groupby("period", sort=False).cumcount().to_numpy()
        else:
            row_id = np.arange(len(table))
        self.rolling_positions = table["position"].astype("int64").to_numpy()
        batch = table.drop(columns=["position"])
        batch = batch.astype({c: "float64" for c in batch.columns if c not in ("la_code", "period", "indicator")})
        batch.insert(0, "row_id", row_id)
        self.run(ROLLING_SUITE, batch)
        return list(self._outcomes(ROLLING_SUITE, rules))

    def _run_targets(self) -> None:
        assert self.targets is not None
        values = self.checked.values
        months = sorted(values["period"].dropna().unique()) if self.by_month else [single_month(values)]
        parts = []
        for month in months:
            if month is None:
                continue
            rows = values[values["period"] == month] if self.by_month else values
            parts.append(target_batch(rows, self.targets, month))
        batch = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
        if not batch.empty:
            self.run(TARGET_SUITE, batch)


def _expectation_type(name: str) -> str:
    """GX's snake_case type of an expectation class: ExpectColumnValuesToBeBetween -> expect_column_values_to_be_between."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def gx_cross_column_findings(
    values: pd.DataFrame,
    text: pd.DataFrame,
    docs_folder: Path | None = None,
    targets: pd.DataFrame | None = None,
    month: str | None = None,
) -> list[Finding]:
    """The findings of the rules over a row's figures and the bands, GX deciding the kinds it
    decides (pandas the others, as in the pipeline); with `docs_folder`, GX's Data Docs of the
    run written there (with `targets` and `month`, the board's target bands on them too)."""
    from pipelines.validate.gx_docs import write_data_docs

    checked = Checked(values.reset_index(drop=True), text.reset_index(drop=True))
    run = GxRun(checked, targets=targets if month is not None else None)
    by_pandas, by_gx = rules_decided_by(GX, (Reads.ROW, Reads.BANDS))
    findings = listed(PANDAS_ENGINE.failing(by_pandas, checked) + run.failing(by_gx), checked)
    if docs_folder is not None:
        write_data_docs(run, {None: Path(docs_folder)})
    return findings


def data_docs_index(folder: Path) -> Path:
    return Path(folder).resolve() / "index.html"
