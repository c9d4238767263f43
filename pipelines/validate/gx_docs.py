"""Great Expectations' Data Docs of a run: a site per month, cut from one run of each suite.

The pipeline validates a range of months in one run per suite (`engines/gx_engine.GxRun`, rows
numbered within their month). Each month still gets its own site, `<home>/reports/gx/<month>/`,
with the pages a run of that month alone would give: each suite's result is split into the
month's (`month_result`: the month's unexpected rows, and the counts and statistics GX computes
from them, as GX's map expectations compute them) and the month's site is built from those with
GX's own site builder. The expectation suites' pages are the same for every month: rendered for
the first month of a run and copied to the others. GX's static assets (4 MB) are kept once, in
`static/` beside the months' folders, which every page links to.
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
from great_expectations.data_context.types.resource_identifiers import (
    ExpectationSuiteIdentifier,
    ValidationResultIdentifier,
)
from great_expectations.execution_engine.pandas_execution_engine import hash_pandas_dataframe
from great_expectations.render.renderer.site_builder import SiteBuilder
from great_expectations.validator.validation_statistics import calc_validation_statistics

from pipelines.validate.engines.gx_engine import (
    DERIVED_SUITE,
    RETURN_SUITE,
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


class SharedStaticSite(SiteBuilder):
    """GX's site builder, but for the static assets: kept once beside the sites (`shared_static`), not copied per site."""

    def build(self, resource_identifiers=None, build_index: bool = True):
        for section in self.site_section_builders.values():
            section.build(resource_identifiers=resource_identifiers)
        _, index_links = self.site_index_builder.build(build_index=build_index)
        return self.get_resource_url(only_if_exists=False), index_links


def shared_static(sites: Path) -> Path:
    """GX's static assets in `sites/static/`, copied once per GX version."""
    folder = sites / STATIC
    marker = folder / f".great_expectations-{gx.__version__}"
    if not marker.exists():
        shutil.rmtree(folder, ignore_errors=True)
        with resources.as_file(_STATIC_SOURCE) as source:
            shutil.copytree(source, folder)
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
    """The batch rows an expectation's row condition keeps (the target suite's polarity)."""
    condition = config.kwargs.get("row_condition")
    if not condition:
        return np.ones(len(batch), dtype=bool)
    return (batch[condition.column.name] == condition.parameter).to_numpy()  # Column("polarity") == "high"


def _partial_counts(values: list) -> list[dict] | None:
    """GX's `partial_unexpected_counts`: the most common unexpected values (dicts as tuples of
    their values), sorted by count then value; None where the values cannot be sorted (as GX)."""
    hashable = [tuple(v.values()) if isinstance(v, dict) else v for v in values]
    try:
        common = Counter(hashable).most_common(PARTIAL_UNEXPECTED)
        return [{"value": key, "count": count} for key, count in sorted(common, key=lambda x: (-x[1], x[0]))]
    except TypeError:
        return None


def _map_result(
    outcome, element_count: int, nonnull_count: int, index_list: list, values: list
) -> ExpectationValidationResult:
    """`outcome` (a map expectation over a range) as a run over one month's rows alone gives it:
    GX's counts, percentages, partial lists and success from the month's counts and unexpected rows."""
    kwargs = outcome.expectation_config.kwargs
    unexpected_count = len(index_list)
    if element_count == 0 or nonnull_count == 0:
        success = True  # vacuously
    else:
        success = (nonnull_count - unexpected_count) / nonnull_count >= kwargs.get("mostly", 1.0)
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
        "unexpected_index_column_names": outcome.result.get("unexpected_index_column_names"),
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
    return ExpectationValidationResult(
        success=success,
        expectation_config=outcome.expectation_config,
        result=result,
        meta=outcome.meta,
        exception_info=outcome.exception_info,
    )


def by_month(result, batch: pd.DataFrame, months: Sequence[str]) -> dict[str, ExpectationSuiteValidationResult]:
    """A suite's validation result over a range's `batch`, cut into each month's: what a run over
    the month's rows alone gives (GX's statistics computed again from the month's outcomes, and the
    fingerprint GX gives the month's rows as a batch of their own)."""
    period = batch["period"].astype(object).to_numpy()
    month_of_row = pd.Index(months).get_indexer(period)
    outcomes: dict[str, list[ExpectationValidationResult]] = {month: [] for month in months}
    for outcome in result.results:
        domain = _in_domain(batch, outcome.expectation_config)
        considered = domain & _considered(batch, outcome.expectation_config.kwargs)
        elements = np.bincount(month_of_row[domain & (month_of_row >= 0)], minlength=len(months))
        nonnull = np.bincount(month_of_row[considered & (month_of_row >= 0)], minlength=len(months))
        unexpected: dict[str, tuple[list, list]] = {month: ([], []) for month in months}
        for index, value in zip(
            outcome.result.get("unexpected_index_list") or [], outcome.result.get("unexpected_list") or []
        ):
            if index.get("period") in unexpected:
                unexpected[index["period"]][0].append(index)
                unexpected[index["period"]][1].append(value)
        for k, month in enumerate(months):
            outcomes[month].append(_map_result(outcome, int(elements[k]), int(nonnull[k]), *unexpected[month]))
    rows = pd.Series(np.arange(len(batch))).groupby(month_of_row).indices
    cut = {}
    for k, month in enumerate(months):
        statistics = calc_validation_statistics(outcomes[month])
        meta = copy.deepcopy(result.meta)
        own = batch.iloc[rows.get(k, np.zeros(0, dtype="int64"))].reset_index(drop=True)
        meta["batch_markers"]["pandas_data_fingerprint"] = hash_pandas_dataframe(own)
        cut[month] = ExpectationSuiteValidationResult(
            success=statistics.success,
            results=outcomes[month],
            suite_name=result.suite_name,
            suite_parameters=result.suite_parameters,
            statistics={
                "evaluated_expectations": statistics.evaluated_expectations,
                "successful_expectations": statistics.successful_expectations,
                "unsuccessful_expectations": statistics.unsuccessful_expectations,
                "success_percent": statistics.success_percent,
            },
            meta=meta,
            batch_id=result.batch_id,
        )
    return cut


# Suites run for every month that has returns, even when the month gives their batch no row.
_EVERY_MONTH = (DERIVED_SUITE, RETURN_SUITE)


def results_by_month(run: GxRun, months: Sequence[str | None]) -> dict[str | None, dict[str, Any]]:
    """The run's results for each of `months` (None: the run as it is). A month has the derived
    figures' and the returns' results, and the rolling sums' and target bands' when their batch
    holds rows of it (as when each month was run on its own)."""
    found: dict[str | None, dict[str, Any]] = {month: {} for month in months}
    named = [month for month in months if month is not None]
    for suite, result in run.results.items():
        if None in found:
            found[None][suite] = result
        if not named:
            continue
        batch = run.batches[suite]
        held = set(batch["period"].astype(object))
        for month, cut in by_month(result, batch, named).items():
            if suite in _EVERY_MONTH or month in held:
                found[month][suite] = cut
    return found


# ---- the sites ----------------------------------------------------------------------------------------


def _site_name(folder: Path) -> str:
    return "site_" + hashlib.sha256(str(folder).encode()).hexdigest()[:12]


def write_data_docs(run: GxRun, folders: Mapping[str | None, Path]) -> dict[str | None, Path]:
    """Write the Data Docs of `run`: `{None: folder}` the whole run in one site, `{month: folder}` a
    site per month cut from it. Returns each site's index page."""
    context = new_context()
    suites = {name: build_suite(name) for name in SUITES}
    if run.targets is not None:
        suites[TARGET_SUITE] = target_suite()
    for suite in suites.values():
        context.suites.add(suite)
    suite_pages: Path | None = None  # the suites' pages, rendered once per run
    results = results_by_month(run, list(folders))
    indexes = {}
    views = site_views()
    for month, folder in folders.items():
        folder = Path(folder).resolve()
        folder.mkdir(parents=True, exist_ok=True)
        shared_static(folder.parent)
        site = _site_name(folder)
        context.add_data_docs_site(
            site_name=site,
            site_config={
                "class_name": SharedStaticSite.__name__,
                "module_name": __name__,
                "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(folder)},
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder", **views["site_index_builder"]},
                "site_section_builders": views["site_section_builders"],  # templates compiled once (gx_views.py)
            },
        )
        store = context.validation_results_store
        for key in store.list_keys():
            store.remove_key(key)
        built: list[Any] = []
        for suite, result in results[month].items():
            key = ValidationResultIdentifier(
                expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite),
                run_id=result.meta["run_id"],
                batch_identifier=result.batch_id,
            )
            store.store_validation_results(result, key)
            built.append(key)
        if suite_pages is None:
            built += [ExpectationSuiteIdentifier(name=name) for name in suites]
        else:
            shutil.copytree(suite_pages, folder / "expectations", dirs_exist_ok=True)
        context.build_data_docs(site_names=[site], resource_identifiers=built)
        context.delete_data_docs_site(site)
        suite_pages = suite_pages or folder / "expectations"
        index = folder / "index.html"
        if not index.exists():
            raise RuntimeError(f"GX did not write {index}")
        indexes[month] = index
    return indexes
