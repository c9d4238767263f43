"""The cross-column rules as Great Expectations 1.x suites, built from the catalogue and the bands.

Two suites over two batches of the month's returns:

- `derived_figures`, over a long table (one row per return and rate or percentage reported):
  our `ExpectDerivedFigureToMatchComponents` (`custom_expectations.py`) checks each reported
  figure against numerator / denominator x multiplier at the precision reported, calling the
  arithmetic of `cross_column` that the pandas engine calls. A failing row shows the authority,
  the month, the indicator, the figure reported and the figure recomputed.
- `return_figures`, over the returns as submitted: GX's own expectations for parts within wholes
  (`ExpectColumnPairValuesAToBeGreaterThanB`), referrals within contacts, the unit ranges, and
  the calibrated plausibility bands (`schemas/plausibility_bands.csv`).

A third, `target_bands`, runs over a batch built from each authority's targets in force when
they are given: warnings only (no findings), so the Data Docs ask the board's red/amber/green
question in the same report as the rules.

GX's own validation results become findings here (`_findings_from_results`), from the rows GX
reports unexpected; the pandas engine decides in `cross_column` and `context`. Tests compare the
two. GX costs seconds to import, so it is imported inside the functions here and this module is
never imported on the command line's fast path (`validate_rows`, engine "pandas").
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.validate.cross_column import (
    cross_column_findings,
    derivation_detail,
    expected_derived,
    reported_decimals,
)
from schemas.bands import plausibility_bands
from schemas.catalogue import derived_indicators, indicators_by_column, strict_parts
from schemas.findings import Finding
from schemas.rules import RULES, make_findings

DERIVED_SUITE = "derived_figures"
RETURN_SUITE = "return_figures"
TARGET_SUITE = "target_bands"
ROLLING_SUITE = "rolling_sums"
_MONTHS = [f"month_{k}" for k in range(12)]
# Columns carried into each batch so that Data Docs name the authority and month of a failing row.
_INDEX_COLUMNS = {
    DERIVED_SUITE: ["position", "la_code", "period", "indicator", "reported", "recomputed"],
    RETURN_SUITE: ["position", "la_code", "period"],
    TARGET_SUITE: ["la_code", "period", "indicator", "figure", "target", "amber_edge"],
    ROLLING_SUITE: ["row_id", "la_code", "period", "indicator", "reported", "recomputed"],
}
_DERIVED_COLUMNS = ["reported", "numerator", "denominator", "multiplier", "decimals"]
# Rules the pandas engine still decides in the GX path: completeness, and a warning over three columns.
PANDAS_RULES_IN_GX_PATH = {
    "mandatory_missing",
    "mandatory_not_available",
    "derived_without_components",
    "derived_undefined",
    "plans_and_looked_after_exceed_cin",
}


@dataclass(frozen=True)
class SuiteEntry:
    """One expectation as data: its suite, GX class, arguments, and the rule it stands for.

    `findings` False: the expectation is shown in the Data Docs but another part of the rule book
    reports it (pandera for the unit ranges), or nobody does (target bands are the board's question).
    """

    suite: str
    expectation: str
    kwargs: dict = field(hash=False)
    rule: str | None
    column: str | None
    description: str
    findings: bool = True


def suite_entries() -> list[SuiteEntry]:
    """The suites as data: built from the indicator catalogue and the plausibility bands."""
    entries = [
        SuiteEntry(
            DERIVED_SUITE,
            "ExpectDerivedFigureToMatchComponents",
            {"column_list": _DERIVED_COLUMNS},
            "derived_inconsistent",
            None,
            "each rate or percentage equals numerator / denominator x multiplier at the precision reported",
        )
    ]
    entries.append(
        SuiteEntry(
            ROLLING_SUITE,
            "ExpectRollingSumToAgreeWithMonths",
            {"column_list": ["reported", *_MONTHS]},
            "rolling_sum_mismatch",
            None,
            "each rolling twelve-month figure equals the twelve monthly figures held",
        )
    )
    entries.append(
        SuiteEntry(
            ROLLING_SUITE,
            "ExpectRollingSumToMoveWithLastMonth",
            {"column_list": ["reported", "previous", "current", "dropped"]},
            "rolling_sum_mismatch",
            None,
            "without every month held: last month's rolling figure + this month's - twelve months ago's",
        )
    )
    for part, whole in strict_parts():
        entries.append(
            SuiteEntry(
                RETURN_SUITE,
                "ExpectColumnPairValuesAToBeGreaterThanB",
                {"column_A": whole, "column_B": part, "or_equal": True, "ignore_row_if": "either_value_is_missing"},
                "part_exceeds_whole",
                part,
                f"{part} is at most {whole}",
            )
        )
    entries.append(
        SuiteEntry(
            RETURN_SUITE,
            "ExpectColumnPairValuesAToBeGreaterThanB",
            {
                "column_A": "contacts",
                "column_B": "referrals",
                "or_equal": True,
                "ignore_row_if": "either_value_is_missing",
            },
            "referrals_exceed_contacts",
            "referrals",
            "referrals is at most contacts",
        )
    )
    for indicator in indicators_by_column().values():
        limits = {"percent": (0, 100, "percent_out_of_range"), "rate_per_10k": (0, 10_000, "rate_impossible")}
        if indicator.unit in limits:
            low, high, rule = limits[indicator.unit]
            entries.append(
                SuiteEntry(
                    RETURN_SUITE,
                    "ExpectColumnValuesToBeBetween",
                    {"column": indicator.column, "min_value": low, "max_value": high},
                    rule,
                    indicator.column,
                    f"{indicator.column} between {low:,} and {high:,} (reported by the structure rules)",
                    findings=False,
                )
            )
    for column, (low, high) in plausibility_bands().items():
        entries.append(
            SuiteEntry(
                RETURN_SUITE,
                "ExpectColumnValuesToBeBetween",
                {"column": column, "min_value": low, "max_value": high},
                "implausible_value",
                column,
                f"{column} within the published range {low:g} to {high:g}",
            )
        )
    return entries


def _expectation(entry: SuiteEntry, **extra):
    import great_expectations.expectations as gxe

    from pipelines.validate import custom_expectations

    cls = getattr(custom_expectations, entry.expectation, None) or getattr(gxe, entry.expectation)
    meta = {"rule": entry.rule, "column": entry.column, "findings": entry.findings}
    if entry.rule:
        meta["severity"] = RULES[entry.rule].severity
    return cls(**entry.kwargs, **extra, mostly=1.0, description=entry.description, meta=meta)


def build_suite(name: str):
    """The `ExpectationSuite` `name` (DERIVED_SUITE, RETURN_SUITE or ROLLING_SUITE): mostly=1, nulls ignored."""
    from great_expectations.core import ExpectationSuite

    suite = ExpectationSuite(name=name)
    for entry in suite_entries():
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
                    severity="warning",
                    mostly=1.0,
                    description=f"where {better} is better, each authority's figure {verdict}",
                    meta={"rule": None, "findings": False, "target": edge},
                )
            )
    return suite


def _new_context():
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def _result_format(suite: str) -> dict:
    return {"result_format": "COMPLETE", "unexpected_index_column_names": _INDEX_COLUMNS[suite]}


@dataclass
class _Runner:
    """A context with one validation definition per suite (and, writing docs, the site to build)."""

    context: object
    validations: dict
    docs_site: str | None = None


def _runner(context, suites: dict, docs_site: str | None = None) -> _Runner:
    import great_expectations as gx

    source = context.data_sources.add_pandas("returns")
    validations = {}
    for name, suite in suites.items():
        batch = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe(f"{name}_batch")
        validations[name] = context.validation_definitions.add(
            gx.ValidationDefinition(name=name, data=batch, suite=context.suites.add(suite))
        )
    return _Runner(context, validations, docs_site)


@lru_cache(maxsize=1)
def _shared_runner() -> _Runner:
    """One ephemeral context per process: building it costs more than running the suites."""
    context = _new_context()  # suites are built once a context exists
    return _runner(context, {name: build_suite(name) for name in (DERIVED_SUITE, RETURN_SUITE, ROLLING_SUITE)})


def _identity(values: pd.DataFrame) -> dict:
    return {
        "position": np.arange(len(values)),
        "la_code": values["la_code"].astype("object").where(values["la_code"].notna(), None).to_numpy(),
        "period": values["period"].astype("object").where(values["period"].notna(), None).to_numpy(),
    }


def derived_batch(values: pd.DataFrame, text: pd.DataFrame) -> pd.DataFrame:
    """One row per return and rate or percentage reported: what GX checks and what a steward reads.

    `recomputed` (shown in the Data Docs, one decimal place beyond the reported precision) comes
    from the shared arithmetic; the expectation recomputes from the components itself.
    """
    identity = pd.DataFrame(_identity(values))
    tables = []
    for indicator in derived_indicators():
        column = indicator.column
        decimals = reported_decimals(text[column]).to_numpy()
        exact = expected_derived(values[indicator.numerator], values[indicator.denominator], indicator.multiplier)
        table = identity.assign(
            indicator=column,
            reported=values[column].astype("float64").to_numpy(),
            numerator=values[indicator.numerator].astype("float64").to_numpy(),
            denominator=values[indicator.denominator].astype("float64").to_numpy(),
            multiplier=float(indicator.multiplier),
            decimals=decimals.astype("float64"),
            recomputed=(exact.to_numpy() * 10.0 ** (decimals + 1)).round() / 10.0 ** (decimals + 1),
        )
        tables.append(table[table["reported"].notna()])
    return pd.concat(tables, ignore_index=True)


def return_batch(values: pd.DataFrame) -> pd.DataFrame:
    figures = values[
        [c for c in values.columns if c in indicators_by_column() and indicators_by_column()[c].is_numeric]
    ]
    return pd.concat([pd.DataFrame(_identity(values)), figures.astype("float64").reset_index(drop=True)], axis=1)


def _unexpected_positions(outcome) -> list[int]:
    rows = outcome.result.get("unexpected_index_list") or []
    if not outcome.success and not rows:
        raise RuntimeError(
            f"GX reported {outcome.expectation_config.type} failing without the failing rows: {outcome.result}"
        )
    return [int(row["position"]) for row in rows]


def _findings_from_results(results: dict, values: pd.DataFrame, text: pd.DataFrame) -> list[Finding]:
    """GX's unexpected rows as findings: which rows failed is GX's verdict; the message is the rule's."""
    findings: list[Finding] = []
    derived = {i.column: i for i in derived_indicators()}
    for outcome in results[DERIVED_SUITE].results:
        rows = pd.DataFrame(outcome.result.get("unexpected_index_list") or [], columns=_INDEX_COLUMNS[DERIVED_SUITE])
        _unexpected_positions(outcome)
        for column, failing in rows.groupby("indicator", sort=False):
            indicator = derived[column]
            picked = values.iloc[failing["position"].astype(int).to_numpy()]
            exact = expected_derived(picked[indicator.numerator], picked[indicator.denominator], indicator.multiplier)
            decimals = reported_decimals(text.iloc[failing["position"].astype(int).to_numpy()][column])
            findings += make_findings(
                "derived_inconsistent",
                picked,
                column,
                list(text.iloc[failing["position"].astype(int).to_numpy()][column]),
                expected=[round(e, 4) for e in exact],
                detail=derivation_detail(
                    indicator, picked[indicator.numerator], picked[indicator.denominator], exact, decimals
                ),
            )
    for outcome in results[RETURN_SUITE].results:
        meta = outcome.expectation_config.meta
        if not meta.get("findings"):
            continue
        picked = values.iloc[_unexpected_positions(outcome)]
        rule, column = meta["rule"], meta["column"]
        if rule == "part_exceeds_whole":
            whole = outcome.expectation_config.kwargs["column_A"]
            findings += make_findings(
                rule,
                picked,
                column,
                picked[column],
                expected=picked[whole],
                detail=[f"{whole} is {w:,.0f}" for w in picked[whole]],
            )
        elif rule == "referrals_exceed_contacts":
            findings += make_findings(rule, picked, column, picked[column], expected=picked["contacts"])
        elif rule == "implausible_value":
            low, high = outcome.expectation_config.kwargs["min_value"], outcome.expectation_config.kwargs["max_value"]
            findings += make_findings(rule, picked, column, picked[column], expected=f"{low:g} to {high:g}")
        else:
            raise RuntimeError(f"no findings are defined for GX rule {rule}")
    return findings


class GxSession:
    """One GX evaluation of a month (or file): the suites run in one context, so that with
    `docs_folder` the Data Docs index lists every suite's page of the run.

    With `targets` and `month`, the target-band suite joins the Data Docs (warnings, no findings).
    """

    def __init__(self, docs_folder: Path | None = None, targets: pd.DataFrame | None = None, month: str | None = None):
        self.docs_folder = Path(docs_folder) if docs_folder is not None else None
        self.targets = targets if targets is not None and month is not None and not targets.empty else None
        self.month = month
        self._runner: _Runner | None = None

    def _suites(self) -> dict:
        suites = {name: build_suite(name) for name in (DERIVED_SUITE, RETURN_SUITE, ROLLING_SUITE)}
        if self.targets is not None:
            suites[TARGET_SUITE] = target_suite()
        return suites

    def run(self, name: str, batch: pd.DataFrame):
        """GX's validation result of suite `name` over `batch` (kept for the Data Docs when asked)."""
        if self.docs_folder is None:
            return (
                _shared_runner()
                .validations[name]
                .run(batch_parameters={"dataframe": batch}, result_format=_result_format(name))
            )
        if self._runner is None:
            self._runner = _docs_runner(self.docs_folder, self._suites)
        return self._runner.validations[name].run(
            batch_parameters={"dataframe": batch}, result_format=_result_format(name)
        )

    def write_docs(self) -> None:
        """Write the Data Docs of every suite run in this session, in one build (an index page and
        a page per suite and result): building after each suite would render the site each time."""
        if self._runner is None:
            return
        self._runner.context.build_data_docs(site_names=[self._runner.docs_site])
        if not data_docs_index(self.docs_folder).exists():
            raise RuntimeError(f"GX did not write {data_docs_index(self.docs_folder)}")

    def cross_column_findings(self, values: pd.DataFrame, text: pd.DataFrame) -> list[Finding]:
        """Cross-column and plausibility findings as GX evaluates them, completeness as pandas does."""
        if values.empty:
            return []
        values, text = values.reset_index(drop=True), text.reset_index(drop=True)
        results = {
            DERIVED_SUITE: self.run(DERIVED_SUITE, derived_batch(values, text)),
            RETURN_SUITE: self.run(RETURN_SUITE, return_batch(values)),
        }
        if self.targets is not None:
            targets = target_batch(values, self.targets, self.month)
            if not targets.empty:
                self.run(TARGET_SUITE, targets)  # the board's question, on the page only
        findings = cross_column_findings(values, text, only=PANDAS_RULES_IN_GX_PATH)
        return findings + _findings_from_results(results, values, text)

    def rolling_findings(self, values: pd.DataFrame, table: pd.DataFrame) -> list[Finding]:
        """Rolling-sum findings as GX evaluates them over `history.rolling_table` (rows of `values`)."""
        if table.empty:
            return []
        batch = table.drop(columns="label").astype(
            {c: "float64" for c in ["reported", *_MONTHS, "previous", "current", "dropped", "recomputed"]}
        )
        batch.insert(0, "row_id", np.arange(len(batch)))
        result = self.run(ROLLING_SUITE, batch)
        findings: list[tuple[object, int, Finding]] = []
        order = {i.column: n for n, i in enumerate(i for i in indicators_by_column().values() if i.kind == "rolling12")}
        for outcome in result.results:
            failing = table.iloc[[int(row["row_id"]) for row in outcome.result.get("unexpected_index_list") or []]]
            if not outcome.success and failing.empty:
                raise RuntimeError(f"GX reported {outcome.expectation_config.type} failing without the failing rows")
            full = outcome.expectation_config.type == "expect_rolling_sum_to_agree_with_months"
            sums = failing["indicator"].map({i.column: i.sums for i in indicators_by_column().values() if i.sums})
            detail = (
                failing["recomputed"].combine(sums, lambda t, s: f"the 12 monthly {s} figures held sum to {t:,.0f}")
                if full
                else [
                    f"last month's {p:,.0f} + {c:,.0f} this month - {d:,.0f} twelve months ago = {e:,.0f}"
                    for p, c, d, e in zip(
                        failing["previous"], failing["current"], failing["dropped"], failing["recomputed"]
                    )
                ]
            )
            rows = values.loc[failing["label"].to_numpy()]
            for column, group in failing.assign(detail=list(detail)).groupby("indicator", sort=False):
                made = make_findings(
                    "rolling_sum_mismatch",
                    rows.loc[group["label"].to_numpy()],
                    column,
                    list(group["reported"]),
                    list(group["recomputed"]),
                    list(group["detail"]),
                )
                findings += zip(group["label"], [order[column]] * len(made), made)
        return [finding for _, _, finding in sorted(findings, key=lambda item: (item[0], item[1]))]


def gx_cross_column_findings(
    values: pd.DataFrame,
    text: pd.DataFrame,
    docs_folder: Path | None = None,
    targets: pd.DataFrame | None = None,
    month: str | None = None,
) -> list[Finding]:
    """Cross-column and plausibility findings as GX evaluates them (one session; see `GxSession`)."""
    session = GxSession(docs_folder, targets, month)
    findings = session.cross_column_findings(values, text)
    session.write_docs()
    return findings


def data_docs_index(folder: Path) -> Path:
    return Path(folder).resolve() / "index.html"


def _docs_runner(folder: Path, suites) -> _Runner:
    """Checkpoints whose runs also write Data Docs into `folder` (a context of its own per folder)."""
    from pipelines.validate.gx_views import site_views

    folder = folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    context = _new_context()
    site = "site_" + hashlib.sha256(str(folder).encode()).hexdigest()[:12]
    for name in list(context.get_site_names()):
        context.delete_data_docs_site(name)  # never write into GX's default uncommitted/ folder
    views = site_views()
    context.add_data_docs_site(
        site_name=site,
        site_config={
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(folder)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder", **views["site_index_builder"]},
            "site_section_builders": views["site_section_builders"],  # templates compiled once (gx_views.py)
        },
    )
    return _runner(context, suites(), docs_site=site)  # suites are built once the context exists
