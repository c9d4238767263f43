"""SYNTHETIC demo returns for five real North West authorities.

Codes, names, regions (register.csv) and child populations (population.csv, ONS mid-year
estimates) are real facts for these authorities; every other figure is made up by a seeded
generator, and every file it writes says SYNTHETIC in its name.

The demo's statistical neighbours (SYNTHETIC-statistical-neighbours.csv, DfE's layout) are made
up: each demo authority's neighbours are the other four (DfE's model gives ten, from all of
England), so importing it warns that each has fewer than ten. The annual comparators
(lait_england_north_west_2022.csv, LAIT's layout) are England's and the North West's published
2022 figures for the eight rates LAIT shares with the return standard, written by hand from
DfE's Local Authority Interactive Tool (Open Government Licence v3.0).
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from pathlib import Path
from typing import Any

import pandas as pd

from schemas.catalogue import all_columns, derived_indicators
from schemas.month import Month

FOLDER = Path(__file__).parent
# The demo home's reference data: a real subset of the register and ONS populations, made-up targets.
REGISTER, POPULATION, TARGETS = FOLDER / "register.csv", FOLDER / "population.csv", FOLDER / "targets.csv"
# Made-up neighbours among the five, and England's and the North West's published 2022 figures.
NEIGHBOURS, ANNUAL = FOLDER / "SYNTHETIC-statistical-neighbours.csv", FOLDER / "lait_england_north_west_2022.csv"
FIRST_MONTH, MONTHS = "2023-04", 24
SEED = 20171231
# Scale of each authority's caseload relative to its child population (made up).
PROFILES = {"E06000009": 3.0, "E06000006": 1.1, "E06000008": 1.0, "E06000007": 0.7, "E10000017": 0.9}
HELD_BACK_EXAMPLE = ("E06000006", "2024-06")  # a rate per 100,000 typed into a per-10,000 column
# The demo's SYNTHETIC Annex A workbook: Blackpool's extract of 31 March 2025 (the months October
# 2024 to March 2025). Blackpool's typed returns of those months give the workbook's own counts but
# one, typed 2 too high, so the demo shows a reconciliation finding.
ANNEX_A_EXAMPLE = ("E06000009", dt.date(2025, 3, 31))
ANNEX_A_SEED, ANNEX_A_CHILDREN = 2025, 1000
RECONCILIATION_EXAMPLE = ("2025-03", "cla", 2)  # month, figure, typed minus derived


def read_populations(path: Path = POPULATION) -> dict[tuple[str, int], int]:
    """ONS estimates in the EES layout (the bundled subset or the official file)."""
    frame = pd.read_csv(path, dtype=str, encoding="utf-8-sig")
    frame = frame[(frame["geographic_level"] == "Local authority") & frame["population_estimate"].str.isdigit()]
    return {(r.new_la_code, int(r.time_period)): int(r.population_estimate) for r in frame.itertuples()}


def read_names(path: Path = REGISTER) -> dict[str, str]:
    frame = pd.read_csv(path, dtype=str, encoding="utf-8-sig")
    return dict(zip(frame["new_la_code"], frame["la_name"]))


def _round_half_up(value: float, places: int) -> float:
    return float(f"{value + 1e-9:.{places}f}")


def generate_rows(
    profiles: dict[str, float] | None = None,
    names: dict[str, str] | None = None,
    populations: dict[tuple[str, int], int] | None = None,
    first_month: str = FIRST_MONTH,
    months: int = MONTHS,
    typed_counts: dict[tuple[str, str], dict[str, int]] | None = None,
) -> list[dict[str, Any]]:
    """Internally consistent monthly rows: rolling sums equal the sum of generated months.

    `profiles` maps authority code to a made-up caseload scale (default: the five demo
    authorities); names and populations default to the bundled demo reference. `typed_counts`
    replaces an authority-month's generated counts (rolling sums and rates follow from them); the
    random draws are the same with or without it, so every other figure is unchanged.
    """
    rng = random.Random(SEED)
    profiles = profiles or PROFILES
    populations, names = populations or read_populations(), names or read_names()
    first = Month.parse(first_month)
    periods = (first - 11).through(first + months - 1)
    last_estimate = max(year for _, year in populations)
    rows: list[dict[str, Any]] = []
    for la_code, scale in profiles.items():
        cin, cp_plans, cla = None, None, None
        history: list[dict[str, int]] = []
        for period in periods:
            year = period.financial_year
            population = populations[(la_code, min(year, last_estimate))]
            base = population / 10_000 * scale
            contacts = round(base * rng.uniform(100, 130))
            referrals = round(contacts * rng.uniform(0.33, 0.45))
            assessments = round(referrals * rng.uniform(0.85, 0.95))
            within_45 = round(assessments * rng.uniform(0.80, 0.95))
            s47 = round(referrals * rng.uniform(0.35, 0.50))
            icpcs = max(1, round(s47 * rng.uniform(0.3, 0.4)))
            cin = cin or round(base * 330)
            cp_plans = cp_plans or round(base * 40)
            cla = cla or round(base * 60)
            cin = max(1, cin + rng.randint(-12, 12))
            cp_plans = max(1, cp_plans + rng.randint(-4, 4))
            cla = max(1, cla + rng.randint(-3, 3))
            month = {
                "contacts": contacts,
                "referrals": referrals,
                "referrals_to_assessment": round(referrals * rng.uniform(0.80, 0.90)),
                "re_referrals": round(referrals * rng.uniform(0.15, 0.25)),
                "assessments_completed": assessments,
                "assessments_within_15wd": round(within_45 * rng.uniform(0.25, 0.40)),
                "assessments_within_45wd": within_45,
                "s47_enquiries": s47,
                "icpcs": icpcs,
                "icpcs_within_15wd": round(icpcs * rng.uniform(0.75, 1.0)),
                "cp_plans_started": round(icpcs * rng.uniform(0.8, 0.95)),
                "cla_started": rng.randint(1, 6) if scale < 1 else round(base * rng.uniform(0.8, 1.4)),
                "cla_ceased": rng.randint(1, 6) if scale < 1 else round(base * rng.uniform(0.8, 1.4)),
                "cin": cin,
                "cp_plans": cp_plans,
                "cla": cla,
            }
            month.update((typed_counts or {}).get((la_code, str(period)), {}))
            history.append(month)
            if len(history) < 12:
                continue
            last_year = history[-12:]
            row: dict[str, Any] = {
                "la_code": la_code,
                "la_name": names[la_code],
                "period": str(period),
                "population_0_17": population,
                **month,
            }
            for flow in ("contacts", "referrals", "s47_enquiries"):
                row[f"{flow}_12m"] = sum(m[flow] for m in last_year)
            for indicator in derived_indicators():
                denominator = row[str(indicator.denominator)]
                row[indicator.column] = (
                    _round_half_up(row[str(indicator.numerator)] / denominator * (indicator.multiplier or 1), 1)
                    if denominator
                    else ""
                )
            rows.append(row)
    return rows


def demo_annex_a():
    """The demo's SYNTHETIC Annex A extract (pipelines/demo/annex_a_synthetic.py)."""
    from pipelines.demo.annex_a_synthetic import synthetic_annex_a

    la_code, extract_date = ANNEX_A_EXAMPLE
    return synthetic_annex_a(ANNEX_A_SEED, la_code=la_code, extract_date=extract_date, children=ANNEX_A_CHILDREN)


def write_demo_annex_a(landing: Path, synthetic=None) -> Path:
    """The demo's SYNTHETIC Annex A workbook in `landing`, SYNTHETIC in its file and sheet names."""
    from pipelines.demo.annex_a_synthetic import workbook_bytes

    synthetic = synthetic or demo_annex_a()
    landing.mkdir(parents=True, exist_ok=True)
    path = landing / synthetic.file_name
    path.write_bytes(_reproducible(workbook_bytes(synthetic, labelled_sheets=True)))
    return path


def _reproducible(xlsx: bytes) -> bytes:
    """The workbook with openpyxl's clock taken out (each part's zip time, the document's created and
    modified dates), so the demo lands the same bytes every time (its sha256 is in the demo's record)."""
    import io
    import re
    import zipfile

    source, out = zipfile.ZipFile(io.BytesIO(xlsx)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>2025-04-01T00:00:00Z", data)
            target.writestr(zipfile.ZipInfo(info.filename, date_time=(2025, 4, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def annex_a_typed_counts(synthetic) -> dict[tuple[str, str], dict[str, int]]:
    """The typed counts agreeing with the workbook's derived ones but the one of RECONCILIATION_EXAMPLE.
    A figure the workbook leaves blank (not compared) is typed as the month before's, so the typed
    return stays consistent with itself (a referral to assessment needs its referral)."""
    month, figure, difference = RECONCILIATION_EXAMPLE
    counts: dict[tuple[str, str], dict[str, int]] = {}
    before: dict[str, int] = {}
    for period, figures in synthetic.truth.items():
        typed = {
            name: before[name] if value is None else value
            for name, value in figures.items()
            if name in before or value is not None
        }
        counts[(synthetic.la_code, period)] = typed
        before = typed
    counts[(synthetic.la_code, month)][figure] += difference
    return counts


def write_demo_landing(landing: Path, annex_a: bool = False) -> list[Path]:
    """One regional collection file per month; one return carries a unit mistake so the demo
    shows a return held back and what the steward sees. With `annex_a` (`csc-returns demo`), the
    SYNTHETIC Annex A workbook too (the last path), and Blackpool's typed counts of its months
    agreeing with it but one (RECONCILIATION_EXAMPLE)."""
    landing.mkdir(parents=True, exist_ok=True)
    synthetic = demo_annex_a() if annex_a else None
    rows = generate_rows(typed_counts=annex_a_typed_counts(synthetic) if synthetic else None)
    columns = all_columns()
    written = []
    for period in sorted({r["period"] for r in rows}):
        month_rows = [dict(r) for r in rows if r["period"] == period]
        for row in month_rows:
            if (row["la_code"], row["period"]) == HELD_BACK_EXAMPLE:
                row["cla_rate_per_10k"] = _round_half_up(float(row["cla_rate_per_10k"]) * 10, 1)
        path = landing / f"SYNTHETIC-north-west-return-{period}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(month_rows)
        written.append(path)
    if synthetic is not None:
        written.append(write_demo_annex_a(landing, synthetic))
    return written
