"""The board's page: a trend chart per authority and indicator against its target, as static HTML."""
from __future__ import annotations

import html
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from schemas.catalogue import indicators_by_column

RAG_COLOURS = {"green": "#1b7d3a", "amber": "#b26a00", "red": "#c0262d"}


class ScorecardFiles(NamedTuple):
    csv: Path
    html: Path


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
