"""Turning findings into what the Dagster UI shows a data steward."""
from __future__ import annotations

import json

import dagster as dg
import pandas as pd

from schemas.catalogue import indicators_by_column
from schemas.findings import REVIEW_COLUMNS

SHOWN_ROWS = 50
LA_CODE_COLUMN = dg.TableColumn("la_code", "string", description="Authority (ONS code)")
PERIOD_COLUMN = dg.TableColumn("period", "string", description="Month, YYYY-MM")
FAILING_ROW_SCHEMA = dg.TableSchema(columns=[
    LA_CODE_COLUMN,
    PERIOD_COLUMN,
    dg.TableColumn("column", "string", description="Column of the return"),
    dg.TableColumn("value", "string", description="Value as submitted"),
    dg.TableColumn("expected", "string", description="What the rule expected"),
    dg.TableColumn("message", "string", description="The finding in plain English"),
    dg.TableColumn("rule", "string", description="Rule id (docs/rules.md)"),
    dg.TableColumn("file", "string", description="File as submitted"),
    dg.TableColumn("row", "int", description="Row in that file"),
    dg.TableColumn("waived", "bool", description="Accepted or overridden by a steward"),
])


def figure_columns() -> list[dg.TableColumn]:
    """A column of the schema per figure of the catalogue, labelled as in the return standard."""
    return [dg.TableColumn(i.column, "double", description=i.label)
            for i in indicators_by_column().values() if i.is_numeric]


def failing_rows_table(findings: pd.DataFrame) -> dict[str, dg.MetadataValue]:
    """The first SHOWN_ROWS findings as a table, and how many more there are (events stay small)."""
    shown = findings.reindex(columns=REVIEW_COLUMNS).head(SHOWN_ROWS)
    # JSON round trip: table cells accept only plain str/int/float/bool/None.
    records = json.loads(shown.to_json(orient="records"))
    return {
        "failing_rows": dg.MetadataValue.table(
            records=[dg.TableRecord(r) for r in records], schema=FAILING_ROW_SCHEMA),
        "failing_rows_not_shown": dg.MetadataValue.int(max(len(findings) - SHOWN_ROWS, 0)),
    }
