"""The scorecard: each authority's figures against its improvement board's targets, as RAG.

Targets are data, one CSV (per authority or for many), with these columns:

| column | meaning |
| --- | --- |
| `la_code` | the authority the target belongs to |
| `indicator` | a column of the return standard (`cla`, `referral_to_assessment_percent`, ...) |
| `target` | the figure to reach, in the indicator's own unit |
| `polarity` | `high` (at or above the target is met) or `low` (at or below is met) |
| `amber_tolerance` | how far on the wrong side of the target, in the indicator's unit, is still amber |
| `from_month` | `YYYY-MM`: the target applies from this month until a later row for the same indicator |
| `source` | optional: where the target comes from |

Green: the target is met. Amber: missed by no more than `amber_tolerance`. Red: missed by more.
"""
from __future__ import annotations

import html
import re
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from schemas.catalogue import PERIOD_PATTERN, indicators_by_column

TARGET_COLUMNS = ["la_code", "indicator", "target", "polarity", "amber_tolerance", "from_month"]
SCORECARD_COLUMNS = ["la_code", "period", "indicator", "value", "target", "polarity", "amber_tolerance",
                     "from_month", "shortfall", "rag"]
POLARITIES = ("high", "low")
RAG_COLOURS = {"green": "#1b7d3a", "amber": "#b26a00", "red": "#c0262d"}
DEMO_TARGETS = Path(__file__).with_name("demo") / "targets.csv"


class TargetsError(ValueError):
    """A targets file that cannot be used; the message says which row and why."""


class ScorecardFiles(NamedTuple):
    csv: Path
    html: Path


def load_targets(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    frame.columns = [c.strip().lower() for c in frame.columns]
    return validate_targets(frame, Path(path).name)


def validate_targets(frame: pd.DataFrame, name: str = "targets") -> pd.DataFrame:
    missing = [c for c in TARGET_COLUMNS if c not in frame.columns]
    if missing:
        raise TargetsError(f"{name}: missing column(s) {', '.join(missing)}")
    out = frame.copy()
    known = indicators_by_column()
    for number, row in enumerate(out.to_dict(orient="records"), start=2):
        where = f"{name} row {number}"
        if row["indicator"] not in known or not known[row["indicator"]].is_numeric or known[row["indicator"]].kind == "population":
            raise TargetsError(f"{where}: '{row['indicator']}' is not an indicator of the return standard")
        if str(row["polarity"]).strip().lower() not in POLARITIES:
            raise TargetsError(f"{where}: polarity '{row['polarity']}' must be high or low")
        if not re.fullmatch(PERIOD_PATTERN, str(row["from_month"]).strip()):
            raise TargetsError(f"{where}: from_month '{row['from_month']}' is not a month written YYYY-MM")
        for column in ("target", "amber_tolerance"):
            number_value = pd.to_numeric(pd.Series([row[column]]), errors="coerce").iloc[0]
            if pd.isna(number_value) or number_value < 0:
                raise TargetsError(f"{where}: {column} '{row[column]}' is not a number >= 0")
    out["polarity"] = out["polarity"].str.strip().str.lower()
    out["from_month"] = out["from_month"].str.strip()
    out["target"] = pd.to_numeric(out["target"])
    out["amber_tolerance"] = pd.to_numeric(out["amber_tolerance"])
    duplicated = out.duplicated(["la_code", "indicator", "from_month"])
    if duplicated.any():
        row = out[duplicated].iloc[0]
        raise TargetsError(f"{name}: two targets for {row['la_code']} {row['indicator']} from {row['from_month']}")
    return out


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
            shortfall, rag = rag_status(float(value), float(plan["target"]), plan["polarity"], float(plan["amber_tolerance"]))
            records.append({"la_code": la_code, "period": period, "indicator": indicator, "value": float(value),
                            "target": float(plan["target"]), "polarity": plan["polarity"],
                            "amber_tolerance": float(plan["amber_tolerance"]), "from_month": plan["from_month"],
                            "shortfall": shortfall, "rag": rag})
    return pd.DataFrame.from_records(records, columns=SCORECARD_COLUMNS)


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def trend_svg(series: pd.DataFrame, label: str, width: int = 640, height: int = 220) -> str:
    """An inline SVG line chart of one authority's indicator by month, with its target line."""
    left, right, top, bottom = 56, 16, 16, 36
    series = series.sort_values("period").reset_index(drop=True)
    numbers = pd.concat([series["value"], series["target"]])
    low, high = float(numbers.min()), float(numbers.max())
    pad = (high - low) * 0.1 or max(abs(high) * 0.1, 1.0)
    low, high = low - pad, high + pad
    steps = max(len(series) - 1, 1)

    def x(i: int) -> float:
        return left + (width - left - right) * (i / steps if len(series) > 1 else 0.5)

    def y(v: float) -> float:
        return top + (height - top - bottom) * (1 - (v - low) / (high - low))

    value_points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(series["value"]))
    target_points = []
    for i, t in enumerate(series["target"]):  # a step line: targets change only from a month
        if i and t != series["target"][i - 1]:
            target_points.append(f"{x(i):.1f},{y(series['target'][i - 1]):.1f}")
        target_points.append(f"{x(i):.1f},{y(t):.1f}")
    if len(series) == 1:
        target_points = [f"{left},{y(series['target'][0]):.1f}", f"{width - right},{y(series['target'][0]):.1f}"]
    dots = "".join(
        f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="4" fill="{RAG_COLOURS[r]}">'
        f"<title>{html.escape(p)}: {_number(v)} ({r})</title></circle>"
        for i, (p, v, r) in enumerate(zip(series["period"], series["value"], series["rag"])))
    return (
        f'<svg role="img" aria-label="{html.escape(label)}" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{html.escape(label)}</title>"
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" stroke="#888"/>'
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="#888"/>'
        f'<text x="{left - 6}" y="{y(high - pad) + 4:.1f}" text-anchor="end" font-size="11">{_number(high - pad)}</text>'
        f'<text x="{left - 6}" y="{y(low + pad) + 4:.1f}" text-anchor="end" font-size="11">{_number(low + pad)}</text>'
        f'<text x="{x(0):.1f}" y="{height - bottom + 16}" text-anchor="start" font-size="11">{html.escape(series["period"].iloc[0])}</text>'
        f'<text x="{x(len(series) - 1):.1f}" y="{height - bottom + 16}" text-anchor="end" font-size="11">{html.escape(series["period"].iloc[-1])}</text>'
        f'<polyline class="target" points="{" ".join(target_points)}" fill="none" stroke="#555" stroke-dasharray="6 4"/>'
        f'<polyline class="value" points="{value_points}" fill="none" stroke="#1d4f91" stroke-width="2"/>'
        f"{dots}</svg>")


def scorecard_html(scorecard: pd.DataFrame, title: str = "Scorecard", names: dict[str, str] | None = None) -> str:
    """The board's page; `names` (code -> register name) titles each chart with the authority's name."""
    labels = {c: i.label for c, i in indicators_by_column().items()}
    names = names or {}
    sections = []
    for (la_code, indicator), series in scorecard.groupby(["la_code", "indicator"], sort=True):
        latest = series.sort_values("period").iloc[-1]
        authority = f"{names[la_code]} ({la_code})" if la_code in names else la_code
        label = f"{authority}: {labels.get(indicator, indicator)}"
        better = "higher is better" if latest["polarity"] == "high" else "lower is better"
        sections.append(
            f'<section><h2>{html.escape(label)}</h2>'
            f'<p>Latest {html.escape(latest["period"])}: <strong>{_number(latest["value"])}</strong> against a target of '
            f'{_number(latest["target"])} ({better}; amber within {_number(latest["amber_tolerance"])}): '
            f'<span class="rag {latest["rag"]}">{latest["rag"].upper()}</span></p>'
            f'{trend_svg(series, label + " by month against its target (dashed)")}</section>')
    body = "\n".join(sections) or "<p>No figures with a target yet.</p>"
    return (
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title><style>"
        "body{font-family:system-ui,sans-serif;max-width:720px;margin:2em auto;color:#222}"
        "h2{font-size:1.1em;margin-top:2em}.rag{font-weight:bold;padding:0 .4em;color:#fff}"
        + "".join(f".rag.{k}{{background:{v}}}" for k, v in RAG_COLOURS.items())
        + f"</style></head><body><h1>{html.escape(title)}</h1>"
        "<p>Each chart shows an authority's monthly figure (solid) against its improvement board's target "
        "(dashed). Green: target met; amber: missed by no more than the tolerance; red: missed by more.</p>"
        f"\n{body}\n</body></html>\n")


def write_scorecard(scorecard: pd.DataFrame, folder: Path, title: str = "Scorecard",
                    names: dict[str, str] | None = None) -> ScorecardFiles:
    """Write `scorecard.csv` and a static `scorecard.html` (no scripts, charts inline) into `folder`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = ScorecardFiles(folder / "scorecard.csv", folder / "scorecard.html")
    scorecard.to_csv(files.csv, index=False)
    files.html.write_text(scorecard_html(scorecard, title, names), encoding="utf-8")
    return files
