"""A SYNTHETIC Annex A workbook with known truth: made-up children, their events and episodes, the
lists an extract would hold, and the return's figures those lists give by ../shared/child-level.md.

Nothing here is real: every ID, date of birth and staff name is drawn from a seeded generator,
and every sheet, file name and front sheet this module writes says SYNTHETIC. The truth is
worked out here child by child and day by day, straight from the definitions' words (no
DataFrame arithmetic, no numpy working days), so the derivation (pipelines/derive/) is held to a
second, independent reading of the standard. `workbook_bytes` writes the lists clean or in the
messy forms real workbooks take (child-level.md, "What real workbooks do"), which must read to
the same figures.
"""

from __future__ import annotations

import calendar
import datetime as dt
import io
import random
from dataclasses import dataclass, field
from functools import lru_cache

import holidays

from pipelines.derive.months import EVENT_FIGURES, STOCK_FIGURES
from schemas.month import Month

SYNTHETIC = "SYNTHETIC"
DEMO_LA_CODE = "E06000009"
COMMON = ["Child Unique ID", "Gender", "Ethnicity", "Date of Birth", "Age of Child (Years)"]
# The columns each list is written with (Ofsted's headings; the ones the return needs, and a few others).
HEADINGS: dict[int, list[str]] = {
    1: [*COMMON, "Date of Contact", "Contact Source"],
    3: [
        *COMMON,
        "Date of Referral",
        "Referral Source",
        "Referral NFA?",
        "Number of Referrals in Last 12 Months",
        "Allocated Team",
        "Allocated Worker",
    ],
    4: [
        *COMMON,
        "Does the Child have a Disability",
        "Continuous Assessment Start Date",
        "Child Seen During Continuous Assessment",
        "Continuous Assessment Date of Authorisation",
        "Was the child assessed as requiring LA children's social care support?",
        "Allocated Team",
        "Allocated Worker",
    ],
    5: [
        *COMMON,
        "Does the Child have a Disability",
        "Strategy discussion initiating Section 47 Enquiry Start Date",
        "Was an Initial Child Protection Conference deemed unnecessary?",
        "Date of Initial Child Protection Conference",
        "Did the Initial Child Protection Conference Result in a Child Protection Plan",
        "Allocated Team",
        "Allocated Worker",
    ],
    6: [
        *COMMON,
        "Does the Child have a Disability",
        "CIN Start Date",
        "Primary Need Code",
        "CIN Closure Date",
        "Reason for Closure",
        "Allocated Team",
        "Allocated Worker",
    ],
    7: [
        *COMMON,
        "Does the Child have a Disability",
        "Child Protection Plan Start Date",
        "Initial Category of Abuse",
        "Child Protection Plan End Date",
        "Subject to Emergency Protection Order or Protected Under Police Powers in Last Six Months (Y/N)",
        "Allocated Team",
        "Allocated Worker",
    ],
    8: [
        *COMMON,
        "UASC within the Last 12 Months (Y/N)",
        "Date Started to be Looked After",
        "Child's Legal Status",
        "Date Ceased to be Looked After",
        "Reason Ceased to be Looked After",
        "Allocated Team",
        "Allocated Worker",
    ],
}
SHEET_NAMES = {1: "List_1", 3: "List_3", 4: "List_4", 5: "List_5", 6: "List_6", 7: "List_7", 8: "List_8"}
FIGURES = [*EVENT_FIGURES, *STOCK_FIGURES]  # the monthly counts the truth gives (the 12-month sums follow)
SHORT_BREAKS = ("V3", "V4")
_STAFF = ["SYNTHETIC Worker Ada Quill", "SYNTHETIC Worker Bo Thimble", "SYNTHETIC Worker Cy Marrow"]


@dataclass
class SyntheticAnnexA:
    """One SYNTHETIC authority's extract: its lists (one dict per row, keyed by heading, clean
    Python values) and the figures each month should derive to (None where blank)."""

    la_code: str
    extract_date: dt.date
    lists: dict[int, list[dict]]
    truth: dict[str, dict[str, int | None]] = field(default_factory=dict)  # period -> figure -> value

    @property
    def file_name(self) -> str:
        return f"{self.la_code}_annex_a_{self.extract_date.isoformat()}_{SYNTHETIC}.xlsx"


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` calendar months later (earlier when negative), the month's last day where it has none."""
    ordinal = day.year * 12 + day.month - 1 + months
    year, month = divmod(ordinal, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


@lru_cache(maxsize=1)
def _bank_holidays() -> frozenset[dt.date]:
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=range(2010, 2031)).keys())


def working_days_after(start: dt.date, end: dt.date) -> int:
    """Working days after `start` up to and including `end`, counted a day at a time."""
    count, day = 0, start
    while day < end:
        day += dt.timedelta(days=1)
        if day.weekday() < 5 and day not in _bank_holidays():
            count += 1
    return count


def _random_day(rng: random.Random, first: dt.date, last: dt.date) -> dt.date:
    return first + dt.timedelta(days=rng.randrange((last - first).days + 1))


def synthetic_annex_a(
    seed: int, la_code: str = DEMO_LA_CODE, extract_date: dt.date = dt.date(2024, 1, 31), children: int = 300
) -> SyntheticAnnexA:
    """A SYNTHETIC extract of about `children` children's records (about 25 rows a child over the lists at 1000)."""
    rng = random.Random(seed)
    window_first = add_months(extract_date, -6) + dt.timedelta(days=1)
    history_first = add_months(extract_date, -30)

    def new_id(k: int) -> str:
        # Numbers and text with leading zeros that matter, as case management systems give them.
        return f"{rng.randrange(10**6, 10**7)}{k}" if k % 7 else f"00{k:05d}"

    pool: list[dict] = [
        {
            "id": new_id(k),
            # Mostly children, some 18 or over by the window (left out of stocks), a few unborn.
            "dob": _random_day(rng, add_months(extract_date, -12 * 19), add_months(extract_date, 3)),
            "gender": rng.choice(["a) Male", "b) Female"]),
        }
        for k in range(1, children + 1)
    ]
    lists: dict[int, list[dict]] = {n: [] for n in HEADINGS}

    def base(child: dict) -> dict:
        age = (extract_date - child["dob"]).days // 365 if child["dob"] <= extract_date else None
        return {
            "Child Unique ID": child["id"],
            "Gender": child["gender"],
            "Ethnicity": "WBRI",
            "Date of Birth": child["dob"],
            "Age of Child (Years)": age,
            "Allocated Team": "SYNTHETIC Team",
            "Allocated Worker": rng.choice(_STAFF),
        }

    in_window = lambda day: day is not None and window_first <= day <= extract_date  # noqa: E731
    born = [c for c in pool if c["dob"] <= extract_date]
    for _ in range(children * 4):  # contacts
        child = rng.choice(born)
        lists[1].append(
            {
                **base(child),
                "Date of Contact": _random_day(rng, window_first, extract_date),
                "Contact Source": "q) 6: Police",
            }
        )
    for child in rng.sample(born, len(born) // 2):  # referrals over 30 months, each possibly with an assessment
        dates = sorted(
            _random_day(
                rng,
                max(history_first, child["dob"]),
                extract_date,
            )
            for _ in range(rng.randint(1, 4))
        )
        for position, referred in enumerate(dates):
            earlier = sum(1 for d in dates[:position] if add_months(referred, -12) <= d < referred)
            if in_window(referred):
                lists[3].append(
                    {
                        **base(child),
                        "Date of Referral": referred,
                        "Referral Source": "1B",
                        "Referral NFA?": rng.choice(["a) Yes", "b) No"]),
                        "Number of Referrals in Last 12 Months": earlier,
                    }
                )
            if rng.random() < 0.7:
                start = referred + dt.timedelta(days=rng.randint(0, 12))
                authorised = start + dt.timedelta(days=rng.randint(1, 75))
                start, authorised_known = (start, authorised if authorised <= extract_date else None)
                if start <= extract_date and (
                    in_window(start) or in_window(authorised_known) or authorised_known is None
                ):
                    lists[4].append(
                        {
                            **base(child),
                            "Does the Child have a Disability": "b) No",
                            "Continuous Assessment Start Date": start,
                            "Child Seen During Continuous Assessment": "a) Yes",
                            "Continuous Assessment Date of Authorisation": authorised_known,
                        }
                    )
    for child in rng.sample(born, len(born) // 5):  # section 47 enquiries and conferences
        started = _random_day(rng, add_months(window_first, -2), extract_date)
        held = started + dt.timedelta(days=rng.randint(1, 40)) if rng.random() < 0.6 else None
        held = held if held is not None and held <= extract_date else None
        if in_window(started) or in_window(held):
            lists[5].append(
                {
                    **base(child),
                    "Strategy discussion initiating Section 47 Enquiry Start Date": started,
                    "Was an Initial Child Protection Conference deemed unnecessary?": "b) No" if held else "a) Yes",
                    "Date of Initial Child Protection Conference": held,
                }
            )

    def episodes(list_number: int, share: float, start_heading: str, end_heading: str, extra) -> None:
        for child in rng.sample(pool, int(len(pool) * share)):
            start = _random_day(rng, add_months(extract_date, -40), extract_date)
            end = start + dt.timedelta(days=rng.randint(20, 900)) if rng.random() < 0.5 else None
            end = end if end is not None and end <= extract_date else None
            if end is None or in_window(end):  # open at the extract date, or ended in the window
                lists[list_number].append({**base(child), start_heading: start, end_heading: end, **extra()})

    episodes(6, 0.35, "CIN Start Date", "CIN Closure Date", lambda: {"Primary Need Code": "N1"})
    episodes(7, 0.12, "Child Protection Plan Start Date", "Child Protection Plan End Date", lambda: {})
    statuses = ["C2", "C2", "E1", "J2", "V2", "V3", "V4"]
    episodes(
        8,
        0.15,
        "Date Started to be Looked After",
        "Date Ceased to be Looked After",
        lambda: {"Child's Legal Status": rng.choice(statuses)},
    )
    # No two rows of a list alike in the child and every date (exact duplicates are tested on their own).
    for number, rows in lists.items():
        seen: set[tuple] = set()
        lists[number] = [row for row in rows if not (_key(row) in seen or seen.add(_key(row)))]  # type: ignore[func-returns-value]
    synthetic = SyntheticAnnexA(la_code, extract_date, lists)
    synthetic.truth = truth_of(synthetic)
    return synthetic


def _key(row: dict) -> tuple:
    return tuple(value for heading, value in row.items() if heading == "Child Unique ID" or isinstance(value, dt.date))


def _months_covered(extract_date: dt.date) -> list[Month]:
    window_first = add_months(extract_date, -6) + dt.timedelta(days=1)
    month = Month.containing(window_first)
    months: list[Month] = []
    while True:
        last = dt.date(month.year, month.number, calendar.monthrange(month.year, month.number)[1])
        if last > extract_date:
            return months
        if month.first_day >= window_first:
            months.append(month)
        month = month + 1


def truth_of(synthetic: SyntheticAnnexA) -> dict[str, dict[str, int | None]]:
    """The figures of each month the extract covers, child by child from the definitions' words."""
    extract_date, lists = synthetic.extract_date, synthetic.lists
    window_first = add_months(extract_date, -6) + dt.timedelta(days=1)
    months = _months_covered(extract_date)
    truth: dict[str, dict[str, int | None]] = {}

    def in_month(day, month: Month) -> bool:
        return day is not None and Month.containing(day) == month

    def under_18(row: dict, month_end: dt.date) -> bool:
        # Month of birth only is kept: a child born in the month 18 years before turns 18 in it (not counted).
        born = Month.containing(row["Date of Birth"])
        return born.ordinal > Month.containing(month_end).ordinal - 18 * 12

    def open_at(rows, start: str, end: str, month_end: dt.date, keep=lambda row: True) -> set[str]:
        return {
            row["Child Unique ID"]
            for row in rows
            if keep(row)
            and row[start] <= month_end
            and (row[end] is None or row[end] > month_end)
            and under_18(row, month_end)
        }

    not_short_break = lambda row: row["Child's Legal Status"] not in SHORT_BREAKS  # noqa: E731
    referrals = lists[3]
    assessments_before = any(row["Continuous Assessment Start Date"] < window_first for row in lists[4])
    s47_before = any(
        row["Strategy discussion initiating Section 47 Enquiry Start Date"] < window_first for row in lists[5]
    )
    for month in months:
        first = month.first_day
        last = dt.date(month.year, month.number, calendar.monthrange(month.year, month.number)[1])
        figures: dict[str, int | None] = {}
        figures["contacts"] = sum(in_month(row["Date of Contact"], month) for row in lists[1])
        month_referrals = [row for row in referrals if in_month(row["Date of Referral"], month)]
        figures["referrals"] = len(month_referrals)
        re_referred = 0
        for row in month_referrals:
            day, child = row["Date of Referral"], row["Child Unique ID"]
            year_before = add_months(day, -12)
            held = any(
                other["Child Unique ID"] == child and year_before <= other["Date of Referral"] < day
                for other in referrals
            )
            covered = year_before >= window_first
            re_referred += held or (not covered and row["Number of Referrals in Last 12 Months"] >= 1)
        figures["re_referrals"] = re_referred
        if working_days_after(last, extract_date) >= 20:
            to_assessment = 0
            for row in month_referrals:
                day, child = row["Date of Referral"], row["Child Unique ID"]
                later = [
                    o["Date of Referral"]
                    for o in referrals
                    if o["Child Unique ID"] == child and o["Date of Referral"] > day
                ]
                next_referral = min(later) if later else None
                to_assessment += any(
                    a["Child Unique ID"] == child
                    and a["Continuous Assessment Start Date"] >= day
                    and (next_referral is None or a["Continuous Assessment Start Date"] < next_referral)
                    for a in lists[4]
                )
            figures["referrals_to_assessment"] = to_assessment
        else:
            figures["referrals_to_assessment"] = None
        completed = [r for r in lists[4] if in_month(r["Continuous Assessment Date of Authorisation"], month)]
        blank_assessments = month == months[0] and not assessments_before
        figures["assessments_completed"] = None if blank_assessments else len(completed)
        for days in (45, 15):
            within = sum(
                working_days_after(
                    r["Continuous Assessment Start Date"], r["Continuous Assessment Date of Authorisation"]
                )
                <= days
                for r in completed
            )
            figures[f"assessments_within_{days}wd"] = None if blank_assessments else within
        strategy = "Strategy discussion initiating Section 47 Enquiry Start Date"
        conference = "Date of Initial Child Protection Conference"
        figures["s47_enquiries"] = sum(in_month(r[strategy], month) for r in lists[5])
        conferences = [r for r in lists[5] if in_month(r[conference], month)]
        blank_conferences = month == months[0] and not s47_before
        figures["icpcs"] = None if blank_conferences else len(conferences)
        figures["icpcs_within_15wd"] = (
            None
            if blank_conferences
            else sum(working_days_after(r[strategy], r[conference]) <= 15 for r in conferences)
        )
        figures["cp_plans_started"] = sum(in_month(r["Child Protection Plan Start Date"], month) for r in lists[7])
        cla_rows = [r for r in lists[8] if not_short_break(r)]
        figures["cla_started"] = sum(in_month(r["Date Started to be Looked After"], month) for r in cla_rows)
        figures["cla_ceased"] = sum(in_month(r["Date Ceased to be Looked After"], month) for r in cla_rows)
        plans = open_at(lists[7], "Child Protection Plan Start Date", "Child Protection Plan End Date", last)
        looked_after = open_at(
            lists[8], "Date Started to be Looked After", "Date Ceased to be Looked After", last, not_short_break
        )
        in_need = open_at(lists[6], "CIN Start Date", "CIN Closure Date", last)
        figures["cp_plans"], figures["cla"] = len(plans), len(looked_after)
        figures["cin"] = len(in_need | plans | looked_after)
        assert first <= last
        truth[str(month)] = figures
    return truth


# --- Writing the workbook ------------------------------------------------------------------------

_VARIANT_HEADINGS = {
    "Age of Child (Years)": "Age",
    "Date of Referral": "date of referral ",
    "Child Unique ID": "CHILD  UNIQUE ID",
    "Date of Birth": "Date of birth",
    "Subject to Emergency Protection Order or Protected Under Police Powers in Last Six Months (Y/N)": (
        "Subject to Emergency Protection Order or Protected Under Police Powers in Last Six Months (Y/N))"
    ),
    "Child's Legal Status": "Child\u2019s Legal Status",
    "Continuous Assessment Date of Authorisation": "Continuous  assessment date of authorisation",
}
_MESSY_SHEETS = {1: "Contacts", 3: "List 3", 4: "List4", 5: "S47 and ICPC", 6: "List_6", 7: "CP", 8: "Looked after"}


def workbook_bytes(
    synthetic: SyntheticAnnexA,
    messy: bool = False,
    seed: int = 0,
    front_sheet: bool = True,
    labelled_sheets: bool = False,
) -> bytes:
    """The extract as an XLSX workbook (openpyxl's write-only mode, date cells as Excel writes them).

    `messy` writes the variants real workbooks show: other sheet names and heading forms, codes
    with or without Ofsted's prefix, dates as serials or `DD/MM/YYYY` text, IDs as numbers,
    `9212044.0` or padded text, blanks as `#N/A` or "", a title row, empty rows and a totals row.
    `labelled_sheets` names every list's sheet `SYNTHETIC List_N` (the demo's workbook).
    """
    import openpyxl
    from openpyxl.cell import WriteOnlyCell

    rng = random.Random(seed)
    workbook = openpyxl.Workbook(write_only=True)
    if front_sheet:
        front = workbook.create_sheet(f"{SYNTHETIC} front sheet")
        front.append([f"{SYNTHETIC} Annex A extract: made-up children, for tests and the demo"])
        front.append(["Local authority code", synthetic.la_code])
        front.append(["Extract date", synthetic.extract_date])

    def date_cell(sheet, value):
        if value is None:
            return rng.choice([None, "", "#N/A"]) if messy else None
        form = rng.randrange(3) if messy else 0
        if form == 1:
            return float((value - dt.date(1899, 12, 30)).days)
        if form == 2:
            return value.strftime("%d/%m/%Y")
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "dd/mm/yyyy"
        return cell

    def id_cell(text: str):
        if not messy or text.startswith("0"):
            return f" {text} " if messy and rng.random() < 0.2 else text
        return rng.choice([int(text), float(text), f" {text}", text])

    for number, rows in synthetic.lists.items():
        headings = HEADINGS[number]
        sheet_name = _MESSY_SHEETS[number] if messy else SHEET_NAMES[number]
        sheet = workbook.create_sheet(f"{SYNTHETIC} {sheet_name}" if labelled_sheets else sheet_name)
        if messy:
            sheet.append([f"{SYNTHETIC} list {number}"])
        sheet.append([_VARIANT_HEADINGS.get(h, h) if messy else h for h in headings])
        for row in rows:
            cells = []
            for heading in headings:
                value = row.get(heading)
                if heading == "Child Unique ID":
                    cells.append(id_cell(str(value)))
                elif isinstance(value, dt.date):
                    cells.append(date_cell(sheet, value))
                elif value is None and "Date" in heading:
                    cells.append(date_cell(sheet, None))
                elif messy and isinstance(value, str) and ") " in value[:3] and rng.random() < 0.5:
                    cells.append(value.split(") ", 1)[1])  # the code without Ofsted's ordering prefix
                elif messy and heading == "Allocated Worker" and isinstance(value, str):
                    cells.append(value.replace(" ", "\u00a0", 1))
                else:
                    cells.append(value)
            sheet.append(cells)
            if messy and rng.random() < 0.01:
                sheet.append([])
        if messy:
            sheet.append([])
            sheet.append(["Total", len(rows)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
