"""Blackpool's performance dashboard, April to December 2017, in both layouts.

SYNTHETIC except where marked REPORT: the figures marked REPORT are those the council report in
`../shared/seeds/` (Children's Services update report to scrutiny committee, 8 February 2018,
section 5.4) gives; every other figure is made up, consistent with them, so that a return can be
complete (cin, cp_plans and cla are mandatory every month) and every derived figure has its
components. The population is the ONS mid-2016 estimate the demo reference holds.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl

from pipelines.ingest.readers import read_return
from schemas.catalogue import all_columns

LA_CODE = "E06000009"
MONTHS = [f"2017-{m:02d}" for m in range(4, 13)]  # April to December 2017
POPULATION = 28354  # ONS mid-2016 estimate (demo reference), the denominator for 2017-18

FIGURES: dict[str, list[int | float | None]] = {
    #                            Apr    May    Jun    Jul    Aug    Sep    Oct    Nov    Dec
    "contacts": [995, 1160, 1043, 1115, 1013, 999, 779, 594, 447],  # REPORT 5.4.1
    "contacts_12m": [12711, 12616, 12616, 12569, 12627, 12499, 12162, 11808, 11348],  # REPORT 5.4.1
    "referrals": [None, None, None, None, None, None, None, None, 203],  # SYNTHETIC
    "referrals_to_assessment": [None, None, None, None, None, None, None, None, 177],  # SYNTHETIC
    "contacts_to_referral_percent": [None] * 8 + [45],  # REPORT 5.4.1 (45% in December)
    "referral_to_assessment_percent": [None] * 8 + [87.2],  # REPORT 5.4.2 (87.2% in December)
    "assessments_completed": [None] * 6 + [189, 228, 198],  # SYNTHETIC
    "assessments_within_15wd": [None] * 6 + [72, 72, 55],  # SYNTHETIC
    "assessments_within_45wd": [None] * 6 + [153, 205, 170],  # SYNTHETIC
    "assessments_within_15wd_percent": [None] * 6 + [38.1, 31.6, 27.8],  # REPORT 5.4.3
    "assessments_within_45wd_percent": [None] * 6 + [81.0, 89.9, 85.9],  # REPORT 5.4.3
    "cp_plans": [381, 385, 380, 377, 372, 368, 364, 360, 356],  # REPORT May, Dec; SYNTHETIC others
    "cla": [525, 527, 528, 530, 531, 533, 534, 535, 537],  # REPORT Dec; SYNTHETIC others
    "cin": [2069, 2045, 2020, 1998, 1975, 1950, 1927, 1903, 1881],  # REPORT Apr, Dec; SYNTHETIC others
}
# The dashboard's own row labels, under its section headings, as the mapping file maps them.
ROW_LABELS_CSV = """la_code,section,label,column
,,Population 0-17,population_0_17
E06000009,Contacts,Num (monthly),contacts
E06000009,Contacts,Num (12 mnth),contacts_12m
E06000009,Referrals,Num (monthly),referrals
E06000009,Assessment,Completed,assessments_completed
E06000009,Assessment,Within 15 working days,assessments_within_15wd
E06000009,Assessment,Within 45 working days,assessments_within_45wd
E06000009,Assessment,Within 15 working days (%),assessments_within_15wd_percent
E06000009,Assessment,Within 45 working days (%),assessments_within_45wd_percent
E06000009,Child Protection,Num,cp_plans
E06000009,Looked After Children,Num,cla
E06000009,Children in Need,Num (incl LAC & CP),cin
"""


def cla_rate(month_index: int) -> float:
    return FIGURES["cla"][month_index] / POPULATION * 10_000


def long_rows() -> list[dict[str, str]]:
    """The standard layout's rows: one per month, every figure as the dashboard shows it."""
    rows = []
    for index, month in enumerate(MONTHS):
        row = {"la_code": LA_CODE, "period": month, "population_0_17": str(POPULATION)}
        for column, figures in FIGURES.items():
            if figures[index] is not None:
                row[column] = (
                    format(figures[index], ".1f")
                    if "percent" in column and column != "contacts_to_referral_percent"
                    else str(figures[index])
                )
        row["cla_rate_per_10k"] = f"{cla_rate(index):.1f}"
        rows.append(row)
    return rows


def write_long(path: Path) -> Path:
    import csv

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=all_columns(), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(long_rows())
    return path


def write_dashboard(path: Path) -> Path:
    """The dashboard as a council keeps it: title rows, earlier years and a target beside the months,
    section headings, its own row labels, months as date cells and as text, percentages formatted."""
    workbook = openpyxl.Workbook()
    notes = workbook.active
    notes.title = "Notes"
    notes.append(
        ["SYNTHETIC test workbook: only the figures the council report gives are real (see tests/ingest/blackpool.py)."]
    )
    sheet = workbook.create_sheet("Dashboard")
    sheet.append(["Blackpool Council - Children's Services performance data dashboard, December 2017"])
    sheet.append(["la_code: E06000009"])
    sheet.append(["SYNTHETIC where the council report gives no figure"])
    sheet.append([])
    months = [dt.datetime(2017, m, 1) if m % 2 else dt.date(2017, m, 1).strftime("%b-%y") for m in range(4, 13)]
    sheet.append(["Indicator", "2013/14", "2014/15", "2015/16", "2016/17", *months, "Target"])

    def figures(column: str, number_format: str | None = None, scale: float = 1) -> list:
        return [None if v is None else v * scale for v in FIGURES[column]]

    def add(
        label: str, cells: list, earlier: list | None = None, target: object = None, number_format: str | None = None
    ):
        sheet.append([label, *(earlier or ["-", "-", "-", "-"]), *cells, target])
        if number_format:
            for cell in sheet[sheet.max_row][5:14]:
                cell.number_format = number_format

    add("Population 0-17", [POPULATION] * 9, earlier=[None] * 4)
    sheet.append(["Contacts"])
    add("Num (monthly)", figures("contacts"), target=850)
    add("Num (12 mnth)", figures("contacts_12m"), earlier=[13276, 10830, 10111, 12495], target=10200)
    add("Contacts leading to a referral (%)", figures("contacts_to_referral_percent", scale=0.01), number_format="0%")
    sheet.append(["Referrals"])
    add("Num (monthly)", figures("referrals"))
    add("Referrals leading to a child and family assessment", figures("referrals_to_assessment"))
    add(
        "Referrals leading to an assessment (%)",
        figures("referral_to_assessment_percent", scale=0.01),
        target=0.6,
        number_format="0.0%",
    )
    sheet.append(["Assessment"])
    add("Completed", figures("assessments_completed"))
    add("Within 15 working days", figures("assessments_within_15wd"))
    add("Within 45 working days", figures("assessments_within_45wd"))
    add("Within 15 working days (%)", figures("assessments_within_15wd_percent"), target=30, number_format="0.0")
    add("Within 45 working days (%)", figures("assessments_within_45wd_percent"), number_format="0.0")
    sheet.append(["Child Protection"])
    add("Num", figures("cp_plans"), target=350)
    sheet.append(["Looked After Children"])
    add("Num", figures("cla"), target=516)
    # The catalogue's own column name needs no mapping; the rate is stored unrounded and shown at one decimal.
    add("cla_rate_per_10k", [cla_rate(i) for i in range(9)], number_format="0.0")
    sheet.append(["Children in Need"])
    add("Num (incl LAC & CP)", figures("cin"))
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path


def write_row_labels(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(ROW_LABELS_CSV, encoding="utf-8")
    return path


if __name__ == "__main__":  # a look at both readings: python -m tests.ingest.blackpool /tmp/x
    import sys

    folder = Path(sys.argv[1])
    print(read_return(write_dashboard(folder / "dashboard.xlsx")).findings)
