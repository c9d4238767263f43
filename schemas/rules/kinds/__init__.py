"""The kinds of check a rule can be: one class per kind, its parameters its fields (`base.Kind`)."""

from schemas.rules.kinds.bands import WithinBand
from schemas.rules.kinds.base import ENGINES, GX, PANDAS, READER, Case, FromCatalogue, Identity, Kind, Reads, Report
from schemas.rules.kinds.cells import (
    CellGiven,
    ColumnTypes,
    Limits,
    Minimum,
    Pattern,
    UniqueAuthorityMonth,
    WholeNumber,
    WithinCeiling,
)
from schemas.rules.kinds.history import FlowOutlier, RollingSumAgrees, StockJump
from schemas.rules.kinds.reading import (
    CellReadable,
    DataRowsGiven,
    EncodedAsUtf8,
    FileReadable,
    FormulaHasValue,
    HeaderColumns,
    RowsAsWideAsHeader,
    WideSheetReadable,
    WithinReaderLimits,
)
from schemas.rules.kinds.reference import MonthEnded, PopulationNearEstimate, Registered
from schemas.rules.kinds.rows import (
    ComponentsGiven,
    DenominatorNonZero,
    DerivedFromParts,
    Mandatory,
    PartWithinWhole,
    SumWithinWhole,
)

__all__ = [
    "ENGINES",
    "GX",
    "PANDAS",
    "READER",
    "Case",
    "CellGiven",
    "CellReadable",
    "ColumnTypes",
    "ComponentsGiven",
    "DataRowsGiven",
    "DenominatorNonZero",
    "DerivedFromParts",
    "EncodedAsUtf8",
    "FileReadable",
    "FlowOutlier",
    "FormulaHasValue",
    "FromCatalogue",
    "HeaderColumns",
    "Identity",
    "Kind",
    "Limits",
    "Mandatory",
    "Minimum",
    "MonthEnded",
    "PartWithinWhole",
    "Pattern",
    "PopulationNearEstimate",
    "Reads",
    "Registered",
    "Report",
    "RollingSumAgrees",
    "RowsAsWideAsHeader",
    "StockJump",
    "SumWithinWhole",
    "UniqueAuthorityMonth",
    "WholeNumber",
    "WideSheetReadable",
    "WithinBand",
    "WithinCeiling",
    "WithinReaderLimits",
]
