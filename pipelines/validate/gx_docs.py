"""Great Expectations' Data Docs of a run: a site per month, cut from one run of each suite.

The pipeline validates a range of months in one run per suite (`engines/gx_engine.GxRun`, rows
numbered within their month). Each month still gets its own site, `<home>/reports/gx/<month>/`,
with the pages a run of that month alone gives: each suite's result is cut into the month's
(`by_month`: the month's unexpected rows, and the counts, percentages, success and statistics
GX's map expectations compute from them, and the batch fingerprint of the month's rows), read
back as GX reads a stored result (`as_stored`), and rendered by GX's own site builder, its
renderer and views. The expectation suites' pages are the same for every month: rendered for the
first month of a run and copied to the others. GX's static assets (4 MB) are kept once, in
`static/` beside the months' folders, which every page links to (`gx_views.py`).
"""

from __future__ import annotations

import copy
import hashlib
import shutil
from collections import Counter
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import great_expectations as gx
import numpy as np
import pandas as pd
from great_expectations.core import ExpectationSuiteValidationResult, ExpectationValidationResult
from great_expectations.core.expectation_validation_result import ExpectationSuiteValidationResultSchema
from great_expectations.data_context.types.resource_identifiers import (
    ExpectationSuiteIdentifier,
    SiteSectionIdentifier,
    ValidationResultIdentifier,
)
from great_expectations.execution_engine.pandas_execution_engine import hash_pandas_dataframe
from great_expectations.render.renderer.site_builder import SiteBuilder
from great_expectations.util import convert_to_json_serializable
from great_expectations.validator.validation_statistics import calc_validation_statistics

from pipelines.home.privacy import private_tree
from pipelines.shown import html_values
from pipelines.validate.engines.gx_engine import (
    DERIVED_SUITE,
    RETURN_SUITE,
    ROW_KEYS,
    SUITES,
    TARGET_SUITE,
    GxRun,
    build_suite,
    new_context,
    target_suite,
)
from pipelines.validate.gx_views import STATIC, site_views

PARTIAL_UNEXPECTED = 20  # GX's partial lists and counts (result format COMPLETE)
_STATIC_SOURCE = resources.files("great_expectations.render.view") / "static"


class MonthSite(SiteBuilder):
    """GX's site builder for one site of a run: its pages written from results given here (not
    read back from a store), its static assets kept once beside the sites (`shared_static`)."""

    def write_validation(self, key: ValidationResultIdentifier, result: ExpectationSuiteValidationResult) -> None:
        """The result's page, rendered by the site's own validations section (renderer and view)."""
        section = self.site_section_builders["validations"]
        page = section.view_class.render(
            section.renderer_class.render(result),
            data_context_id=section.data_context_id,
            show_how_to_buttons=section.show_how_to_buttons,
        )
        self.target_store.set(SiteSectionIdentifier(site_section_name="validations", resource_identifier=key), page)

    def write_suites(self, names: Sequence[str]) -> None:
        self.site_section_builders["expectations"].build(
            resource_identifiers=[ExpectationSuiteIdentifier(name=name) for name in names]
        )

    def write_index(self) -> None:
        """The index of the site's pages whose results the context's store holds (others are removed)."""
        self.site_index_builder.build()


def shared_static(sites: Path) -> Path:
    """GX's static assets in `sites/static/`, copied once per GX version."""
    folder = sites / STATIC
    marker = folder / f".great_expectations-{gx.__version__}"
    if not marker.exists():
        shutil.rmtree(folder, ignore_errors=True)
        with resources.as_file(_STATIC_SOURCE) as source:
            shutil.copytree(source, folder, copy_function=shutil.copyfile)
        private_tree(folder)  # the package's files are 0644: a copy in the home is private
        marker.touch()
    return folder


# ---- a month's result cut from a range's ------------------------------------------------------------


def _considered(batch: pd.DataFrame, kwargs: Mapping[str, Any]) -> np.ndarray:
    """The rows an expectation considers (its `nonnull_count`): a column's rows with a value; a
    pair's or a column list's rows its `ignore_row_if` keeps."""
    if "column" in kwargs:
        return batch[kwargs["column"]].notna().to_numpy()
    columns = kwargs.get("column_list") or [kwargs["column_A"], kwargs["column_B"]]
    present = batch[list(columns)].notna().to_numpy()
    ignore = kwargs.get("ignore_row_if") or "any_value_is_missing"
    if ignore in ("either_value_is_missing", "any_value_is_missing"):
        return present.all(axis=1)
    if ignore in ("both_values_are_missing", "all_values_are_missing"):
        return present.any(axis=1)
    return np.ones(len(batch), dtype=bool)


def _in_domain(batch: pd.DataFrame, config) -> np.ndarray:
    """The batch rows an expectation's row condition keeps: the target suite's `Column("polarity") == ...`,
    held in the result as {"type": "comparison", "column": {"name": ...}, "operator": "==", "parameter": ...}."""
    condition = config.kwargs.get("row_condition")
    if not condition:
        return np.ones(len(batch), dtype=bool)
    if not isinstance(condition, dict):
        condition = {"column": {"name": condition.column.name}, "operator": "==", "parameter": condition.parameter}
    if condition.get("operator") != "==":
        raise ValueError(f"a Data Docs page cannot be cut by month for the row condition {condition}")
    return (batch[condition["column"]["name"]] == condition["parameter"]).to_numpy()


def _partial_counts(values: list) -> list[dict] | None:
    """GX's `partial_unexpected_counts`: the most common unexpected values (dicts as tuples of
    their values), sorted by count then value; None where the values cannot be sorted (as GX)."""
    hashable = [tuple(v.values()) if isinstance(v, dict) else v for v in values]
    try:
        common = Counter(hashable).most_common(PARTIAL_UNEXPECTED)
        return [{"value": key, "count": count} for key, count in sorted(common, key=lambda x: (-x[1], x[0]))]
    except TypeError:
        return None


def _month_outcome(
    outcome: dict, element_count: int, nonnull_count: int, index_list: list, values: list, labels: list[int]
) -> dict:
    """`outcome` (a map expectation's result over a range, as GX stores it) as a run over one
    month's rows alone gives it: GX's counts, percentages, partial lists and success from the
    month's counts and unexpected rows."""
    unexpected_count = len(index_list)
    if element_count == 0 or nonnull_count == 0:
        success = True  # vacuously
    else:
        mostly = outcome["expectation_config"]["kwargs"].get("mostly", 1.0)
        success = (nonnull_count - unexpected_count) / nonnull_count >= mostly
    missing_count = element_count - nonnull_count
    percent_total = percent_nonmissing = missing_percent = None
    if element_count > 0:
        percent_total = unexpected_count / element_count * 100
        missing_percent = missing_count / element_count * 100
        percent_nonmissing = unexpected_count / nonnull_count * 100 if nonnull_count > 0 else None
    result: dict[str, Any] = {
        "element_count": element_count,
        "unexpected_count": unexpected_count,
        "unexpected_percent": percent_nonmissing,
        "partial_unexpected_list": values[:PARTIAL_UNEXPECTED],
        "unexpected_index_column_names": outcome["result"].get("unexpected_index_column_names"),
        "missing_count": missing_count,
        "missing_percent": missing_percent,
        "unexpected_percent_total": percent_total,
        "unexpected_percent_nonmissing": percent_nonmissing,
    }
    counts = _partial_counts(values)
    if counts is not None:
        result["partial_unexpected_counts"] = counts
    result["partial_unexpected_index_list"] = index_list[:PARTIAL_UNEXPECTED]
    result["unexpected_list"] = values
    result["unexpected_index_list"] = index_list
    if (
        "unexpected_index_query" in outcome["result"]
    ):  # the month's batch rows, numbered from 0 as its own run numbers them
        result["unexpected_index_query"] = f"df.filter(items={labels}, axis=0)"
    return {**outcome, "success": success, "result": convert_to_json_serializable(result)}


def by_month(result, batch: pd.DataFrame, months: Sequence[str], row_key: list[str]) -> dict[str, dict]:
    """A suite's validation result over a range's `batch`, cut into each month's, in the form GX
    stores it: what a run over the month's rows alone gives (GX's statistics computed again
    from the month's outcomes, and the fingerprint GX gives the month's rows as a batch of their own)."""
    stored = result.to_json_dict()  # the range's result as GX stores it, once; the months' cut from it
    period = batch["period"].astype(object).to_numpy()
    month_of_row = pd.Index(months).get_indexer(period)
    rows = pd.Series(np.arange(len(batch))).groupby(month_of_row).indices
    first_row = {month: int(rows[k][0]) for k, month in enumerate(months) if k in rows}
    row_of = pd.MultiIndex.from_frame(batch[row_key].astype(object))
    outcomes: dict[str, list[dict]] = {month: [] for month in months}
    for outcome, kept in zip(result.results, stored["results"]):
        domain = _in_domain(batch, outcome.expectation_config)
        considered = domain & _considered(batch, outcome.expectation_config.kwargs)
        elements = np.bincount(month_of_row[domain & (month_of_row >= 0)], minlength=len(months))
        nonnull = np.bincount(month_of_row[considered & (month_of_row >= 0)], minlength=len(months))
        index_list = outcome.result.get("unexpected_index_list") or []
        at = row_of.get_indexer([tuple(index[name] for name in row_key) for index in index_list]) if index_list else []
        unexpected: dict[str, tuple[list, list, list]] = {month: ([], [], []) for month in months}
        for index, value, row in zip(index_list, outcome.result.get("unexpected_list") or [], at):
            if index.get("period") in unexpected:
                month_rows = unexpected[index["period"]]
                month_rows[0].append(index)
                month_rows[1].append(value)
                month_rows[2].append(int(row) - first_row[index["period"]])
        for k, month in enumerate(months):
            outcomes[month].append(_month_outcome(kept, int(elements[k]), int(nonnull[k]), *unexpected[month]))
    cut = {}
    for k, month in enumerate(months):
        statistics = calc_validation_statistics(
            [ExpectationValidationResult(success=o["success"]) for o in outcomes[month]]
        )
        meta = copy.deepcopy(stored["meta"])
        own = batch.iloc[rows.get(k, np.zeros(0, dtype="int64"))].reset_index(drop=True)
        meta["batch_markers"]["pandas_data_fingerprint"] = hash_pandas_dataframe(own)
        cut[month] = {
            **stored,
            "success": statistics.success,
            "results": outcomes[month],
            "statistics": {name: getattr(statistics, name) for name in stored["statistics"]},
            "meta": meta,
        }
    return cut


# Suites run for every month that has returns, even when the month gives their batch no row.
_EVERY_MONTH = (DERIVED_SUITE, RETURN_SUITE)


def results_by_month(run: GxRun, months: Sequence[str | None]) -> dict[str | None, dict[str, dict]]:
    """The run's results for each of `months` (None: the run as it is), in the form GX stores
    them. A month has the derived figures' and the returns' results, and the rolling sums' and
    target bands' when their batch holds rows of it (as when each month was run on its own)."""
    found: dict[str | None, dict[str, dict]] = {month: {} for month in months}
    named = [month for month in months if month is not None]
    for suite, result in run.results.items():
        if None in found:
            found[None][suite] = result.to_json_dict()
        if not named:
            continue
        batch = run.batches[suite]
        held = set(batch["period"].astype(object))
        if len(named) == 1 and held <= set(named):  # a run of one month: GX's own result is the month's
            found[named[0]][suite] = result.to_json_dict()
            continue
        for month, cut in by_month(result, batch, named, ROW_KEYS[suite]).items():
            if suite in _EVERY_MONTH or month in held:
                found[month][suite] = cut
    return found


# ---- the sites ----------------------------------------------------------------------------------------


def _site_name(folder: Path) -> str:
    return "site_" + hashlib.sha256(str(folder).encode()).hexdigest()[:12]


_STORED = ExpectationSuiteValidationResultSchema()


def as_stored(result: dict) -> ExpectationSuiteValidationResult:
    """A result in the form GX stores it (JSON values) read back as GX reads a stored result."""
    return _STORED.load(result)


def for_the_page(stored: dict) -> dict:
    """A stored result whose outcomes (the unexpected values and the rows' authority codes, as
    submitted) are escaped for HTML: GX writes them into the page as they are, so a code such as
    `<script>` would run in the steward's browser (`pipelines.shown.html_values`)."""
    return {
        **stored,
        "results": [
            {**outcome, "result": html_values(outcome.get("result") or {})} for outcome in stored.get("results", [])
        ],
    }


def _summary(result: ExpectationSuiteValidationResult) -> ExpectationSuiteValidationResult:
    """What the index reads of a result (its success and where it came from), without its outcomes."""
    return ExpectationSuiteValidationResult(
        success=result.success,
        results=[],
        suite_name=result.suite_name,
        suite_parameters=result.suite_parameters,
        statistics=result.statistics,
        meta=result.meta,
        batch_id=result.batch_id,
    )


def write_data_docs(run: GxRun, folders: Mapping[str | None, Path]) -> dict[str | None, Path]:
    """Write the Data Docs of `run`: `{None: folder}` the whole run in one site, `{month: folder}` a
    site per month cut from it. Returns each site's index page."""
    context = new_context()
    suites = [*SUITES, *((TARGET_SUITE,) if run.targets is not None else ())]
    for name in suites:
        context.suites.add(build_suite(name) if name != TARGET_SUITE else target_suite())
    store = context.validation_results_store
    suite_pages: Path | None = None  # the suites' pages, the same for every month: rendered once
    results = results_by_month(run, list(folders))
    views = site_views()
    indexes = {}
    for month, folder in folders.items():
        folder = Path(folder).resolve()
        folder.mkdir(parents=True, exist_ok=True)
        shared_static(folder.parent)
        shutil.rmtree(folder / STATIC, ignore_errors=True)  # GX's own copy, from a site built before they were shared
        site = MonthSite(
            data_context=context,
            store_backend={"class_name": "TupleFilesystemStoreBackend", "base_directory": str(folder)},
            site_name=_site_name(folder),
            site_index_builder={"class_name": "DefaultSiteIndexBuilder", **views["site_index_builder"]},
            site_section_builders=views["site_section_builders"],  # templates compiled once (gx_views.py)
        )
        for key in store.list_keys():
            store.remove_key(key)
        for suite, stored in results[month].items():
            result = as_stored(for_the_page(stored))
            key = ValidationResultIdentifier(  # as GX files a run's result (its batch id is not stored with it)
                expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite),
                run_id=result.meta["run_id"],
                batch_identifier=run.results[suite].batch_id,
            )
            site.write_validation(key, result)
            store.store_validation_results(_summary(result), key)
        if suite_pages is None:
            site.write_suites(suites)
            suite_pages = folder / "expectations"
        else:
            shutil.copytree(suite_pages, folder / "expectations", dirs_exist_ok=True, copy_function=shutil.copyfile)
            private_tree(folder / "expectations")
        site.write_index()
        index = folder / "index.html"
        if not index.exists():
            raise RuntimeError(f"GX did not write {index}")
        indexes[month] = index
    return indexes
