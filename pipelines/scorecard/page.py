"""The board's page, as static HTML (no scripts, charts as inline SVG, fit to print).

Per authority: a summary table first (indicator, latest value, target and RAG, England, statistical
neighbours, band, direction since last month), the way a monthly scorecard is read in a meeting;
then a trend chart per indicator with the authority's line, its target, England and its neighbours.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from pipelines.shown import html_text, spreadsheet_cell
from schemas.catalogue import indicators_by_column
from schemas.month import Month

RAG_COLOURS = {"green": "#1b7d3a", "amber": "#b26a00", "red": "#c0262d"}
# Each comparison line differs by dash as well as colour, so a black-and-white print tells them apart.
LINES = {
    "value": {"label": "authority", "colour": "#1d4f91", "dash": "", "width": 2.5},
    "target": {"label": "target", "colour": "#555555", "dash": "6 4", "width": 1.5},
    "england": {"label": "England", "colour": "#8a3ffc", "dash": "2 3", "width": 2},
    "neighbours": {"label": "statistical neighbours", "colour": "#d9480f", "dash": "10 3 2 3", "width": 2},
}
PAGE_COLUMNS = [
    "la_code",
    "period",
    "indicator",
    "value",
    "target",
    "polarity",
    "amber_tolerance",
    "rag",
    "england",
    "neighbours",
    "quartile",
    "band",
    "source",
]


class ScorecardFiles(NamedTuple):
    csv: Path
    html: Path


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _figure(value: object, indicator: str) -> str:
    """A count as a whole number; a rate or percentage at one decimal place, as benchmarks compute it."""
    if value is None or pd.isna(value):
        return ""
    known = indicators_by_column().get(indicator)
    number = float(value)  # type: ignore[arg-type]  # a figure: pd.isna ruled out the rest
    return _number(number) if known is None or known.is_count else f"{number:,.1f}"


def trend_svg(series: pd.DataFrame, label: str, width: int = 640, height: int = 240) -> str:
    """An inline SVG line chart of one authority's indicator by month: its figure, and whichever of
    `target` (a step line), `england` and `neighbours` the frame carries, with a legend."""
    left, right, top, bottom = 56, 16, 16, 52
    series = series.sort_values("period").reset_index(drop=True)
    lines = [name for name in ("target", "england", "neighbours") if name in series and series[name].notna().any()]
    numbers = pd.concat([series[name] for name in ["value", *lines]]).dropna()
    low, high = float(numbers.min()), float(numbers.max())
    pad = (high - low) * 0.1 or max(abs(high) * 0.1, 1.0)
    low, high = low - pad, high + pad
    steps = max(len(series) - 1, 1)

    def x(i: float) -> float:
        return left + (width - left - right) * (i / steps if len(series) > 1 else 0.5)

    def y(v: float) -> float:
        return top + (height - top - bottom) * (1 - (v - low) / (high - low))

    def polyline(name: str, points: list[str]) -> str:
        style = LINES[name]
        dash = f' stroke-dasharray="{style["dash"]}"' if style["dash"] else ""
        return (
            f'<polyline class="{name}" points="{" ".join(points)}" fill="none" stroke="{style["colour"]}" '
            f'stroke-width="{style["width"]}"{dash}/>'
        )

    drawn = []
    for name in lines:
        present = series[series[name].notna()]
        points: list[str] = []
        for i, v in zip(present.index, present[name]):
            if name == "target" and points and i - 1 in present.index and v != present[name][i - 1]:
                points.append(f"{x(i):.1f},{y(present[name][i - 1]):.1f}")  # a step: targets change from a month
            points.append(f"{x(i):.1f},{y(v):.1f}")
        if len(series) == 1:
            points = [f"{left},{y(present[name].iloc[0]):.1f}", f"{width - right},{y(present[name].iloc[0]):.1f}"]
        drawn.append(polyline(name, points))
    value_points = [f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(series["value"])]
    rags = series["rag"] if "rag" in series else pd.Series(np.nan, index=series.index)
    dots = "".join(
        f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="{4 if isinstance(r, str) else 2.5}" '
        f'fill="{RAG_COLOURS.get(r, LINES["value"]["colour"]) if isinstance(r, str) else LINES["value"]["colour"]}">'
        f"<title>{html_text(p)}: {_number(v)}{f' ({r})' if isinstance(r, str) else ''}</title></circle>"
        for i, (p, v, r) in enumerate(zip(series["period"], series["value"], rags))
    )
    legend = []
    for n, name in enumerate(["value", *lines]):
        style, lx = LINES[name], left + n * 150
        dash = f' stroke-dasharray="{style["dash"]}"' if style["dash"] else ""
        legend.append(
            f'<line x1="{lx}" y1="{height - 12}" x2="{lx + 28}" y2="{height - 12}" stroke="{style["colour"]}" '
            f'stroke-width="{style["width"]}"{dash}/><text x="{lx + 34}" y="{height - 8}" font-size="11">'
            f"{style['label']}</text>"
        )
    return (
        f'<svg role="img" aria-label="{html_text(label)}" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{html_text(label)}</title>"
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" stroke="#888"/>'
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="#888"/>'
        f'<text x="{left - 6}" y="{y(high - pad) + 4:.1f}" text-anchor="end" font-size="11">{_number(high - pad)}</text>'
        f'<text x="{left - 6}" y="{y(low + pad) + 4:.1f}" text-anchor="end" font-size="11">{_number(low + pad)}</text>'
        f'<text x="{x(0):.1f}" y="{height - bottom + 16}" text-anchor="start" font-size="11">{html_text(series["period"].iloc[0])}</text>'
        f'<text x="{x(len(series) - 1):.1f}" y="{height - bottom + 16}" text-anchor="end" font-size="11">{html_text(series["period"].iloc[-1])}</text>'
        f"{''.join(drawn)}{polyline('value', value_points)}{dots}{''.join(legend)}</svg>"
    )


def page_frame(scorecard: pd.DataFrame, benchmarks: pd.DataFrame | None) -> pd.DataFrame:
    """One row per authority, month and indicator the page shows: the targeted figures (RAG) and
    the benchmarked rates. A targeted figure keeps its accepted value; a rate without a target
    takes its recomputed value."""
    card = scorecard.reindex(
        columns=["la_code", "period", "indicator", "value", "target", "polarity", "amber_tolerance", "rag"]
    )
    if benchmarks is None or benchmarks.empty:
        return card.reindex(columns=PAGE_COLUMNS)
    bench = benchmarks[
        ["la_code", "period", "indicator", "value", "england", "neighbours", "quartile", "band", "source"]
    ]
    frame = card.merge(
        bench.rename(columns={"value": "benchmark_value"}), on=["la_code", "period", "indicator"], how="outer"
    )
    # Where the card has no figure the benchmark's stands; figures stay numbers where they all are
    # (the downcast pandas did silently, now asked for).
    given = frame["value"].notna()
    frame["value"] = frame["value"].where(given, frame["benchmark_value"]).infer_objects()
    polarity = frame["indicator"].map({c: i.polarity for c, i in indicators_by_column().items()})
    frame["polarity"] = frame["polarity"].fillna(polarity.where(polarity.isin(["high", "low"])))
    return frame.reindex(columns=PAGE_COLUMNS).sort_values(["la_code", "indicator", "period"]).reset_index(drop=True)


def _direction(latest: pd.Series, previous: pd.Series | None) -> str:
    if previous is None or previous["period"] != str(Month.parse(latest["period"]) - 1):
        return "no figure last month"
    change = float(latest["value"]) - float(previous["value"])
    if abs(change) < 1e-9:
        return "&#9644; no change"
    arrow, word = (
        ("&#9650; up", "better" if latest["polarity"] == "high" else "worse")
        if change > 0
        else ("&#9660; down", "better" if latest["polarity"] == "low" else "worse")
    )
    judged = f" ({word})" if latest["polarity"] in ("high", "low") else ""
    return f"{arrow} {_number(abs(change))}{judged}"


def _summary_table(frame: pd.DataFrame, labels: dict[str, str]) -> str:
    rows = []
    for indicator, series in frame.groupby("indicator", sort=False):
        series = series.sort_values("period")
        latest, previous = series.iloc[-1], (series.iloc[-2] if len(series) > 1 else None)
        rag = (
            f' <span class="rag {latest["rag"]}">{latest["rag"].upper()}</span>'
            if isinstance(latest["rag"], str)
            else ""
        )
        target = f"{_figure(latest['target'], indicator)}{rag}" if pd.notna(latest["target"]) else ""
        band = latest["band"] if isinstance(latest["band"], str) else ""
        quartile = f" <small>Q{int(latest['quartile'])}</small>" if pd.notna(latest["quartile"]) else ""
        rows.append(
            f'<tr><th scope="row">{html_text(labels.get(indicator, indicator))}</th>'
            f"<td>{_figure(latest['value'], indicator)} <br><small>{html_text(latest['period'])}</small></td><td>{target}</td>"
            f"<td>{_figure(latest['england'], indicator)}</td><td>{_figure(latest['neighbours'], indicator)}</td>"
            f"<td>{html_text(band)}{quartile}</td><td>{_direction(latest, previous)}</td></tr>"
        )
    return (
        '<table class="summary"><thead><tr><th scope="col">Indicator</th><th scope="col">Latest</th>'
        '<th scope="col">Target and RAG</th><th scope="col">England</th><th scope="col">Neighbours</th>'
        '<th scope="col">Band (quartile)</th><th scope="col">Since last month</th></tr></thead><tbody>'
        + "".join(rows)
        + "</tbody></table>"
    )


def _indicator_section(authority: str, indicator: str, series: pd.DataFrame, labels: dict[str, str]) -> str:
    label = f"{authority}: {labels.get(indicator, indicator)}"
    latest = series.sort_values("period").iloc[-1]
    facts = [f"Latest {html_text(latest['period'])}: <strong>{_figure(latest['value'], indicator)}</strong>"]
    if pd.notna(latest["target"]):
        better = "higher is better" if latest["polarity"] == "high" else "lower is better"
        facts.append(
            f"against a target of {_number(latest['target'])} ({better}; amber within "
            f'{_number(latest["amber_tolerance"])}): <span class="rag {latest["rag"]}">{latest["rag"].upper()}</span>'
        )
    if pd.notna(latest["england"]):
        source = "" if latest["source"] == "returns" else f" ({html_text(str(latest['source']))})"
        facts.append(f"England {_figure(latest['england'], indicator)}{source}")
    if pd.notna(latest["neighbours"]):
        facts.append(f"statistical neighbours {_figure(latest['neighbours'], indicator)}")
    if isinstance(latest["band"], str):
        facts.append(f"band {latest['band']} (quartile {int(latest['quartile'])})")
    return (
        f'<section class="chart"><h3>{html_text(label)}</h3><p>{"; ".join(facts)}.</p>'
        f"{trend_svg(series, label + ' by month')}</section>"
    )


def scorecard_html(
    scorecard: pd.DataFrame,
    title: str = "Scorecard",
    names: dict[str, str] | None = None,
    benchmarks: pd.DataFrame | None = None,
) -> str:
    """The board's page; `names` (code -> register name) titles each authority; `benchmarks` (the
    benchmarks table) adds England, neighbours and bands."""
    labels = {c: i.label for c, i in indicators_by_column().items()}
    names = names or {}
    frame = page_frame(scorecard, benchmarks)
    sections = []
    # The board's authorities (those with targets) first, then the others, each by code.
    with_targets = set(scorecard["la_code"]) if not scorecard.empty else set()
    for la_code in sorted(frame["la_code"].unique(), key=lambda code: (code not in with_targets, code)):
        authority_frame = frame[frame["la_code"] == la_code]
        authority = f"{names[la_code]} ({la_code})" if la_code in names else la_code
        # Targeted indicators first, in the order the board set them; then the benchmarked rates.
        targeted = authority_frame.groupby("indicator")["target"].transform(lambda t: t.notna().any())
        ordered = pd.concat([authority_frame[targeted], authority_frame[~targeted]])
        charts = "".join(
            _indicator_section(authority, indicator, series, labels)
            for indicator, series in ordered.groupby("indicator", sort=False)
        )
        sections.append(
            f'<section class="authority"><h2>{html_text(authority)}</h2>'
            f"{_summary_table(ordered, labels)}{charts}</section>"
        )
    body = "\n".join(sections) or "<p>No figures with a target yet.</p>"
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html_text(title)}</title><style>"
        "body{font-family:system-ui,sans-serif;max-width:820px;margin:2em auto;padding:0 1em;color:#222}"
        "h2{font-size:1.3em;margin-top:2em;border-bottom:2px solid #1d4f91}h3{font-size:1.05em;margin-top:1.6em}"
        ".rag{font-weight:bold;padding:0 .4em;color:#fff}"
        "table.summary{border-collapse:collapse;width:100%;font-size:.9em}"
        "table.summary th,table.summary td{border-bottom:1px solid #ccc;padding:.25em .4em;text-align:left;vertical-align:top}"
        "svg{max-width:100%;height:auto}"
        "@media print{body{margin:0;max-width:none}section.authority+section.authority{break-before:page}"
        "section.chart{break-inside:avoid}.rag{-webkit-print-color-adjust:exact;print-color-adjust:exact}}"
        + "".join(f".rag.{k}{{background:{v}}}" for k, v in RAG_COLOURS.items())
        + f"</style></head><body><h1>{html_text(title)}</h1>"
        "<p>For each authority, a summary of the latest month, then a chart per indicator: the authority's "
        "monthly figure (solid), its improvement board's target (dashed), England (dotted) and the mean of its "
        "statistical neighbours (dash-dot). Green: target met; amber: missed by no more than the tolerance; "
        "red: missed by more. Band A is the best quarter of authorities, D the worst, where the indicator has "
        "a direction; England is computed from the month's returns, or taken from the latest published annual "
        "figures (LAIT) when too few authorities returned.</p>"
        f"\n{body}\n</body></html>\n"
    )


def write_scorecard(
    scorecard: pd.DataFrame,
    folder: Path,
    title: str = "Scorecard",
    names: dict[str, str] | None = None,
    benchmarks: pd.DataFrame | None = None,
) -> ScorecardFiles:
    """Write `scorecard.csv` and a static `scorecard.html` (no scripts, charts inline) into `folder`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = ScorecardFiles(folder / "scorecard.csv", folder / "scorecard.html")
    # A person opens this file in a spreadsheet: a text cell that would run as a formula is not one.
    text = scorecard.select_dtypes(include=["object", "string"]).columns
    scorecard.assign(
        **{column: scorecard[column].map(lambda v: spreadsheet_cell(v) if isinstance(v, str) else v) for column in text}
    ).to_csv(files.csv, index=False)
    files.html.write_text(scorecard_html(scorecard, title, names, benchmarks), encoding="utf-8")
    return files
