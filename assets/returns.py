"""Received returns: every landed file archived, the month's current returns validated."""

import dagster as dg

from assets.metadata import (
    LA_CODE_COLUMN,
    PERIOD_COLUMN,
    failing_rows_table,
    figure_columns,
    month_check_results,
    report_link,
)
from pipelines.derive.months import FIGURES
from pipelines.derive.reconcile import RULE as RECONCILIATION_RULE
from pipelines.orchestration.partitions import MONTHS, ONE_RUN_PER_RANGE
from pipelines.orchestration.resources import WAREHOUSE_POOL, DataHomeResource, ReportsResource, WarehouseWriterResource
from pipelines.shown import markdown_text
from pipelines.steps.child_level import explain_differences
from pipelines.steps.monthly import archive_landing, stored_derived_months, stored_findings, validate_months
from pipelines.validate.waivers import unwaived
from schemas.findings import ERROR, WARNING
from schemas.rules import CHILD_LEVEL_FAMILIES, FAMILIES, RULES, checked_asset

OWNERS = ["team:data-stewards"]
RETURNS_SCHEMA = dg.TableSchema(
    columns=[
        LA_CODE_COLUMN,
        dg.TableColumn("la_name", "string", description="Name as submitted (never published)"),
        PERIOD_COLUMN,
        dg.TableColumn("status", "string", description="accepted, or held_back by an unwaived error"),
        dg.TableColumn("errors", "int", description="Unwaived error findings"),
        dg.TableColumn("warnings", "int", description="Warning findings (queries for the steward)"),
        dg.TableColumn("file", "string", description="File as submitted"),
        dg.TableColumn("row", "int", description="Row in that file"),
        dg.TableColumn("sha256", "string", description="The archived file (archive/<sha256>.<ext>)"),
        dg.TableColumn("arrival", "int", description="Order of arrival: the latest supersedes"),
        *figure_columns(),
        dg.TableColumn("cells", "json", description="Every cell as submitted (the precision rule reads them)"),
    ]
)


@dg.asset(
    partitions_def=MONTHS,
    pool=WAREHOUSE_POOL,  # writes the warehouse: one at a time, and under the writer lock
    backfill_policy=ONE_RUN_PER_RANGE,
    group_name="returns",
    kinds={"python", "duckdb", "pandas"},
    owners=OWNERS,
    metadata={"dagster/column_schema": RETURNS_SCHEMA, "dagster/table_name": "warehouse.duckdb: returns"},
    description=(
        "The month's returns as received: every landed file archived untouched by its sha256, "
        "the latest submission of each authority kept, and every rule of the rule book run on it. "
        "Returns with an unwaived error are held back from publication. A run over a range of "
        "months validates them in one go, in calendar order."
    ),
)
def received_returns(
    context: dg.AssetExecutionContext, warehouse_writer: WarehouseWriterResource, reports: ReportsResource
) -> dg.MaterializeResult:
    home = warehouse_writer.home()
    archived = archive_landing(home)
    engine = warehouse_writer.data_home.validation_engine
    results = validate_months(home, list(context.partition_keys), engine=engine, write_report=True)
    newly_archived = dg.MetadataValue.int(sum(f.new for f in archived))
    if len(results) > 1:  # one materialization per month, all carrying the range's table
        return dg.MaterializeResult(
            metadata={
                "months": dg.MetadataValue.int(len(results)),
                "authorities": dg.MetadataValue.int(sum(len(r.returns) for r in results)),
                "errors": dg.MetadataValue.int(sum(int((r.findings["severity"] == "error").sum()) for r in results)),
                "warnings": dg.MetadataValue.int(
                    sum(int((r.findings["severity"] == "warning").sum()) for r in results)
                ),
                "by_month": dg.MetadataValue.md(_months_table(results)),
                "files_newly_archived": newly_archived,
            }
        )
    [result] = results
    counts = result.findings.groupby("severity").size().to_dict()
    return dg.MaterializeResult(
        metadata={
            "authorities": dg.MetadataValue.int(len(result.returns)),
            "accepted": dg.MetadataValue.text(", ".join(result.accepted) or "none"),
            "held_back": dg.MetadataValue.text(", ".join(result.held_back) or "none"),
            "errors": dg.MetadataValue.int(int(counts.get("error", 0))),
            "warnings": dg.MetadataValue.int(int(counts.get("warning", 0))),
            "files": dg.MetadataValue.text(", ".join(result.files) or "none"),
            "files_newly_archived": newly_archived,
            **report_link("validation_report", reports.report_url(home, result.report) if result.report else None),
        }
    )


def _months_table(results) -> str:
    lines = [
        "| month | authorities | accepted | held back | errors | warnings |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        severity = r.findings["severity"]
        lines.append(
            f"| {r.month} | {len(r.returns)} | {len(r.accepted)} | {markdown_text(', '.join(r.held_back)) or 'none'} "
            f"| {int((severity == 'error').sum())} | {int((severity == 'warning').sum())} |"
        )
    return "\n".join(lines)


def _family_description(family: str) -> str:
    has_errors = any(rule.family == family and rule.severity == ERROR for rule in RULES.values())
    return FAMILIES[family] + (
        " Errors hold the return back." if has_errors else " Findings are queries for the steward."
    )


DERIVED_SCHEMA = dg.TableSchema(
    columns=[
        LA_CODE_COLUMN,
        PERIOD_COLUMN,
        dg.TableColumn("extract_date", "string", description="The workbook's extract date: the latest decides a month"),
        dg.TableColumn("file", "string", description="The Annex A workbook as landed"),
        dg.TableColumn("sha256", "string", description="The archived workbook (archive/<sha256>.<ext>, owner-only)"),
        dg.TableColumn("current", "bool", description="Whether it is the month's current return (else a typed one is)"),
        *[
            dg.TableColumn(figure, "float", description="Counted from the lists (docs/child-level.md)")
            for figure in FIGURES
        ],
    ]
)


@dg.asset(
    partitions_def=MONTHS,
    backfill_policy=ONE_RUN_PER_RANGE,
    deps=[received_returns],
    group_name="returns",
    kinds={"python", "duckdb", "pandas"},
    owners=OWNERS,
    metadata={"dagster/column_schema": DERIVED_SCHEMA, "dagster/table_name": "warehouse.duckdb: derived_returns"},
    description=(
        "The months derived from the authorities' child-level records (Ofsted's Annex A workbooks): "
        "each workbook's return for every month its extract wholly covers, derived and validated with "
        "the month's returns (received_returns: a run over an extract re-derives and re-validates every "
        "month it covers) and stored beside them, current or not. Its checks: the child-level checks "
        "of the lists and the reconciliation of typed returns against them (docs/child-level.md)."
    ),
)
def derived_months(context: dg.AssetExecutionContext, data_home: DataHomeResource) -> dg.MaterializeResult:
    home, months = data_home.home(), list(context.partition_keys)
    derived = stored_derived_months(home, months)
    lines = ["| month | authority | extract | file | current |", "| --- | --- | --- | --- | --- |"] + [
        f"| {row.period} | {row.la_code} | {row.extract_date} | {markdown_text(row.file)} | {'yes' if row.current else 'no'} |"
        for row in derived.itertuples(index=False)
    ]
    return dg.MaterializeResult(
        metadata={
            "months": dg.MetadataValue.int(len(months)),
            "derived_returns": dg.MetadataValue.int(len(derived)),
            "current": dg.MetadataValue.int(int(derived["current"].sum()) if not derived.empty else 0),
            "workbooks": dg.MetadataValue.text(", ".join(sorted(set(derived["file"]))) or "none"),
            "by_month": dg.MetadataValue.md("\n".join(lines) if not derived.empty else "no child-level workbook"),
        }
    )


FAMILY_CHECKS = {
    family: dg.AssetCheckSpec(
        f"{family}_rules",
        asset=derived_months if checked_asset(family) == "derived_months" else received_returns,
        partitions_def=MONTHS,
        # A failing return is held back row by row in indicator_values, so a failure here must
        # not stop the other authorities' good returns; publication is guarded downstream.
        blocking=False,
        description=_family_description(family),
    )
    for family in FAMILIES
}


@dg.multi_asset_check(
    specs=[spec for family, spec in FAMILY_CHECKS.items() if family not in CHILD_LEVEL_FAMILIES],
    can_subset=True,  # the UI may run one family's check alone
    description="One check per rule family, from the findings the rule book stored: read once for every family and month of the run.",
)
def rule_families(context: dg.AssetCheckExecutionContext, data_home: DataHomeResource, reports: ReportsResource):
    yield from _family_checks(context, data_home, reports)


@dg.multi_asset_check(
    specs=[FAMILY_CHECKS[family] for family in CHILD_LEVEL_FAMILIES],
    can_subset=True,
    description=(
        "The child-level checks of the lists and the reconciliation of typed returns against the derived "
        "ones, from the findings stored; the reconciliation's metadata lists the pseudonymous children "
        "counted in each differing derived figure (for the steward; nowhere else)."
    ),
)
def child_level_families(context: dg.AssetCheckExecutionContext, data_home: DataHomeResource, reports: ReportsResource):
    yield from _family_checks(context, data_home, reports)


def _family_checks(context: dg.AssetCheckExecutionContext, data_home: DataHomeResource, reports: ReportsResource):
    home, months = data_home.home(), list(context.partition_keys)
    wanted = {
        family: spec.key for family, spec in FAMILY_CHECKS.items() if spec.key in context.selected_asset_check_keys
    }
    stored = stored_findings(home, months)  # every month of the run in one read, from the readers' snapshot
    stored = stored[stored["family"].isin(list(wanted))]
    by_family_and_month = dict(tuple(stored.groupby(["family", "period"], sort=False)))
    nothing = stored.iloc[0:0]
    results = {
        key: {
            month: family_result(home, month, by_family_and_month.get((family, month), nothing), reports)
            for month in months
        }
        for family, key in wanted.items()
    }
    yield from month_check_results(context, results)


def family_result(home, month: str, findings, reports: ReportsResource) -> dg.AssetCheckResult:
    """The month's result of one family's check, from its stored findings: each failing authority
    with its link to the month's Data Docs page that shows its figures."""
    report = home.data_docs(month) / "index.html"
    open_findings = unwaived(findings)
    failing = sorted(set(open_findings["la_code"].dropna()))
    errors = int((open_findings["severity"] == ERROR).sum())
    warnings = int((open_findings["severity"] == WARNING).sum())
    return dg.AssetCheckResult(
        passed=errors == 0 and warnings == 0,
        severity=dg.AssetCheckSeverity.ERROR if errors else dg.AssetCheckSeverity.WARN,
        metadata={
            "errors": dg.MetadataValue.int(errors),
            "warnings": dg.MetadataValue.int(warnings),
            "waived": dg.MetadataValue.int(len(findings) - len(open_findings)),
            "authorities_affected": dg.MetadataValue.text(", ".join(failing) or "none"),
            **failing_rows_table(findings),
            **report_link("validation_report", reports.report_url(home, report) if report.exists() else None),
            **{
                f"data_docs_{la_code}": dg.MetadataValue.url(url)
                for la_code, url in reports.authority_pages(home, month, failing).items()
            },
            **children_behind(home, month, findings),
        },
    )


def children_behind(home, month: str, findings) -> dict:
    """The reconciliation check's list of the pseudonymous children counted in each derived figure
    that differs (`steps/child_level.explain_differences`): here and in `findings --explain` only."""
    if findings.empty or not (findings["rule"] == RECONCILIATION_RULE).any():
        return {}
    explained = explain_differences(home, month, findings=findings)
    return {
        "children_behind_differences": dg.MetadataValue.json(
            [
                {
                    **{k: record[k] for k in ("la_code", "figure", "typed", "derived", "extract_date", "note")},
                    "children": [f"{child['pseudonym']} (list {child['list']})" for child in record["children"]],
                    "left_out": [
                        f"{child['pseudonym']} (list {child['list']}): {child['why']}" for child in record["left_out"]
                    ],
                }
                for record in explained
            ]
        )
    }
