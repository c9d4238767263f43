"""Red, amber or green: each authority's figure against the improvement board's target in force.

Green: the target is met. Amber: missed by no more than `amber_tolerance`. Red: missed by more.
"""

from __future__ import annotations

import pandas as pd

from pipelines.scorecard.targets import validate_targets

SCORECARD_COLUMNS = [
    "la_code",
    "period",
    "indicator",
    "value",
    "target",
    "polarity",
    "amber_tolerance",
    "from_month",
    "shortfall",
    "rag",
]


def rag_status(value: float, target: float, polarity: str, amber_tolerance: float) -> tuple[float, str]:
    """(shortfall, rag): shortfall is how far the target is missed (0 when met)."""
    shortfall = max(0.0, (target - value) if polarity == "high" else (value - target))
    if shortfall == 0:
        return 0.0, "green"
    return shortfall, "amber" if shortfall <= amber_tolerance + 1e-9 else "red"


def build_scorecard(values: pd.DataFrame, targets: pd.DataFrame) -> pd.DataFrame:
    """RAG per authority, month and targeted indicator, from wide monthly figures (la_code, period, indicators...).

    The target in force for a month is the one with the latest `from_month` not after it;
    months before an indicator's first target and months without the figure are left out.
    """
    targets = validate_targets(targets) if not pd.api.types.is_numeric_dtype(targets.get("target")) else targets
    records = []
    for (la_code, indicator), plans in targets.groupby(["la_code", "indicator"], sort=True):
        if indicator not in values.columns:
            continue
        plans = plans.sort_values("from_month")
        figures = values.loc[values["la_code"] == la_code, ["period", indicator]].dropna()
        for period, value in sorted(zip(figures["period"], figures[indicator])):
            in_force = plans[plans["from_month"] <= period]
            if in_force.empty:
                continue
            plan = in_force.iloc[-1]
            shortfall, rag = rag_status(
                float(value), float(plan["target"]), plan["polarity"], float(plan["amber_tolerance"])
            )
            records.append(
                {
                    "la_code": la_code,
                    "period": period,
                    "indicator": indicator,
                    "value": float(value),
                    "target": float(plan["target"]),
                    "polarity": plan["polarity"],
                    "amber_tolerance": float(plan["amber_tolerance"]),
                    "from_month": plan["from_month"],
                    "shortfall": shortfall,
                    "rag": rag,
                }
            )
    return pd.DataFrame.from_records(records, columns=SCORECARD_COLUMNS)
