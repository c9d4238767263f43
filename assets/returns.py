"""Received returns: every landed file archived, the month's current returns validated."""

import dagster as dg

from assets.metadata import LA_CODE_COLUMN, PERIOD_COLUMN, failing_rows_table, figure_columns
from pipelines.home import DataHome
from pipelines.orchestration.partitions import MONTHS
from pipelines.orchestration.resources import WAREHOUSE_POOL, DataHomeResource
from pipelines.steps import archive_landing, validate_month
from pipelines.store.month import stored_findings
from pipelines.validate.waivers import unwaived
from schemas.findings import ERROR, WARNING
from schemas.rules import FAMILIES, RULES

OWNERS = ["team:data-stewards"]
RETURNS_SCHEMA = dg.TableSchema(columns=[
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
])


@dg.asset(
    partitions_def=MONTHS,
    pool=WAREHOUSE_POOL,  # writes the warehouse: one at a time, and under the writer lock
    group_name="returns",
    kinds={"python", "duckdb", "pandas"},
    owners=OWNERS,
    metadata={"dagster/column_schema": RETURNS_SCHEMA, "dagster/table_name": "warehouse.duckdb: returns"},
    description=(
        "The month's returns as received: every landed file archived untouched by its sha256, "
        "the latest submission of each authority kept, and every rule of the rule book run on it. "
        "Returns with an unwaived error are held back from publication."
    ),
)
def received_returns(context: dg.AssetExecutionContext, data_home: DataHomeResource,
                     warehouse_writer: dg.ResourceParam[DataHome]) -> dg.MaterializeResult:
    home = data_home.home()
    archived = archive_landing(home)
    month = context.partition_key
    result = validate_month(home, month, engine=data_home.validation_engine, write_report=True)
    counts = result.findings.groupby("severity").size().to_dict()
    return dg.MaterializeResult(metadata={
        "authorities": dg.MetadataValue.int(len(result.returns)),
        "accepted": dg.MetadataValue.text(", ".join(result.accepted) or "none"),
        "held_back": dg.MetadataValue.text(", ".join(result.held_back) or "none"),
        "errors": dg.MetadataValue.int(int(counts.get("error", 0))),
        "warnings": dg.MetadataValue.int(int(counts.get("warning", 0))),
        "files": dg.MetadataValue.text(", ".join(result.files) or "none"),
        "files_newly_archived": dg.MetadataValue.int(sum(f.new for f in archived)),
        **({"validation_report": dg.MetadataValue.path(str(result.report))} if result.report else {}),
    })


def _family_check(family: str) -> dg.AssetChecksDefinition:
    has_errors = any(rule.family == family and rule.severity == ERROR for rule in RULES.values())

    @dg.asset_check(
        asset=received_returns,
        name=f"{family}_rules",
        partitions_def=MONTHS,
        # A failing return is held back row by row in indicator_values, so a failure here must
        # not stop the other authorities' good returns; publication is guarded downstream.
        blocking=False,
        description=FAMILIES[family] + (" Errors hold the return back." if has_errors else " Findings are queries for the steward."),
    )
    def check(context: dg.AssetCheckExecutionContext, data_home: DataHomeResource) -> dg.AssetCheckResult:
        home = data_home.home()
        findings = stored_findings(home, context.partition_key)
        report = home.data_docs(context.partition_key) / "index.html"
        findings = findings[findings["family"] == family]
        open_findings = unwaived(findings)
        errors = int((open_findings["severity"] == ERROR).sum())
        warnings = int((open_findings["severity"] == WARNING).sum())
        return dg.AssetCheckResult(
            passed=errors == 0 and warnings == 0,
            severity=dg.AssetCheckSeverity.ERROR if errors else dg.AssetCheckSeverity.WARN,
            metadata={
                "errors": dg.MetadataValue.int(errors),
                "warnings": dg.MetadataValue.int(warnings),
                "waived": dg.MetadataValue.int(len(findings) - len(open_findings)),
                "authorities_affected": dg.MetadataValue.text(", ".join(sorted(set(open_findings["la_code"].dropna()))) or "none"),
                **failing_rows_table(findings),
                **({"validation_report": dg.MetadataValue.path(str(report))} if report.exists() else {}),
            },
        )

    return check


family_checks = [_family_check(family) for family in FAMILIES]
