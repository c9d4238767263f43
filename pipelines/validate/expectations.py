"""The cross-column rules as a Great Expectations 1.x suite, built from the indicator catalogue.

GX does not recompute anything: it asserts over `derived_frame` (the arithmetic lives once,
in `pipelines.validate.cross_column`) that every `excess__<rate>` is <= 0 and every `slack__<part>` is
>= 0. The rows GX reports as unexpected go back into `cross_column_findings` as `failing`,
so the findings and their messages are the same whichever engine ran.

GX costs seconds to import, so it is imported inside the functions here and this module is
never imported on the command line's fast path (`validate_rows`, engine "pandas").
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from pipelines.validate.cross_column import cross_column_findings, derived_frame
from schemas.catalogue import derived_indicators, strict_parts
from schemas.findings import Finding

SUITE_NAME = "return_consistency"
# Columns carried into the GX batch so that Data Docs name the authority and month of a failing row.
_ROW_COLUMNS = ["position", "la_code", "period"]


@dataclass(frozen=True)
class SuiteEntry:
    """One expectation: a derived-frame column, its bound, and the rule it stands for."""

    column: str
    rule: str
    min_value: float | None
    max_value: float | None
    description: str


def suite_entries() -> list[SuiteEntry]:
    """The suite as data: one entry per rate or percentage, one per part-whole pair."""
    entries = []
    for indicator in derived_indicators():
        entries.append(SuiteEntry(
            f"excess__{indicator.column}", "derived_inconsistent", None, 0.0,
            f"{indicator.column} equals {indicator.numerator} / {indicator.denominator} x "
            f"{indicator.multiplier:,} at the precision reported (excess beyond half a unit <= 0)"))
    for part, whole in strict_parts():
        entries.append(SuiteEntry(f"slack__{part}", "part_exceeds_whole", 0.0, None,
                                  f"{part} <= {whole} (slack {whole} - {part} >= 0)"))
    return entries


def build_suite():
    """An `ExpectationSuite` over `derived_frame`: mostly=1, nulls (figures not given) ignored."""
    import great_expectations.expectations as gxe
    from great_expectations.core import ExpectationSuite

    suite = ExpectationSuite(name=SUITE_NAME)
    for entry in suite_entries():
        suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(
            column=entry.column, min_value=entry.min_value, max_value=entry.max_value, mostly=1.0,
            description=entry.description, meta={"rule": entry.rule}))
    return suite


def _new_context():
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


@dataclass
class _Validator:
    context: object
    validation: object
    checkpoint: object | None = None


def _validator(context, docs_site: str | None = None) -> _Validator:
    import great_expectations as gx

    batch = (context.data_sources.add_pandas("returns")
             .add_dataframe_asset("derived_figures")
             .add_batch_definition_whole_dataframe("whole_return"))
    suite = context.suites.add(build_suite())
    validation = context.validation_definitions.add(
        gx.ValidationDefinition(name=SUITE_NAME, data=batch, suite=suite))
    checkpoint = None
    if docs_site:
        checkpoint = context.checkpoints.add(gx.Checkpoint(
            name=f"{SUITE_NAME}_docs", validation_definitions=[validation],
            actions=[gx.checkpoint.UpdateDataDocsAction(name="data_docs", site_names=[docs_site])],
            result_format=_RESULT_FORMAT))
    return _Validator(context, validation, checkpoint)


_RESULT_FORMAT = {"result_format": "COMPLETE", "unexpected_index_column_names": _ROW_COLUMNS}


@lru_cache(maxsize=1)
def _shared_validator() -> _Validator:
    """One ephemeral context per process: building it costs more than running the suite."""
    return _validator(_new_context())


def _batch(values: pd.DataFrame, derived: pd.DataFrame) -> pd.DataFrame:
    batch = derived.reset_index(drop=True).astype("float64")
    batch.insert(0, "position", range(len(batch)))
    batch.insert(1, "la_code", values["la_code"].astype("object").where(values["la_code"].notna(), None).to_numpy())
    batch.insert(2, "period", values["period"].astype("object").where(values["period"].notna(), None).to_numpy())
    return batch


def _failing(result, values: pd.DataFrame) -> dict[str, set]:
    """Derived-frame column -> labels of `values` rows GX found unexpected."""
    failing: dict[str, set] = {}
    for outcome in result.results:
        column = outcome.expectation_config.kwargs["column"]
        rows = outcome.result.get("unexpected_index_list") or []
        failing[column] = {values.index[int(row["position"])] for row in rows}
        if not outcome.success and not rows:
            raise RuntimeError(f"GX reported {column} failing without the failing rows: {outcome.result}")
    return failing


def gx_cross_column_findings(values: pd.DataFrame, text: pd.DataFrame, docs_folder: Path | None = None) -> list[Finding]:
    """Completeness and consistency findings, the consistency verdicts taken from GX.

    With `docs_folder`, the same run also writes GX's HTML Data Docs there (one validation page
    per run, an index listing them; the pipeline uses `<home>/reports/gx/<month>/`).
    """
    if values.empty:
        return []
    derived = derived_frame(values, text)
    batch = {"dataframe": _batch(values, derived)}
    if docs_folder is None:
        result = _shared_validator().validation.run(batch_parameters=batch, result_format=_RESULT_FORMAT)
    else:
        checkpoint_result = _docs_checkpoint(Path(docs_folder)).run(batch_parameters=batch)
        result = next(iter(checkpoint_result.run_results.values()))
        if not data_docs_index(docs_folder).exists():
            raise RuntimeError(f"GX did not write {data_docs_index(docs_folder)}")
    return cross_column_findings(values, text, derived, failing=_failing(result, values))


def data_docs_index(folder: Path) -> Path:
    return Path(folder).resolve() / "index.html"


def _docs_checkpoint(folder: Path):
    """A checkpoint whose run also writes Data Docs into `folder` (a context of its own per folder)."""
    folder = folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    context = _new_context()
    site = "site_" + hashlib.sha256(str(folder).encode()).hexdigest()[:12]
    for name in list(context.get_site_names()):
        context.delete_data_docs_site(name)  # never write into GX's default uncommitted/ folder
    context.add_data_docs_site(site_name=site, site_config={
        "class_name": "SiteBuilder",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(folder)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    })
    return _validator(context, docs_site=site).checkpoint
