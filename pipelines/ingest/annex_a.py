"""Ofsted's Annex A child-level lists, read from a workbook's bytes and pseudonymised on arrival.

The bytes read are the bytes archived (a caller hashes and archives them first, and never opens
the path again). python-calamine reads the cells (18 times openpyxl's read-only mode on a
25,000-row workbook: bench/annex_a_reader.py); a sheet holding formulas is scanned once more for
formulas saved without a value, which calamine shows as blank cells.

A list is recognised by its headings, never its sheet name: the first rows of each sheet are
searched for a row naming the child's ID and a list's own date, headings compared after folding
case, spacing, quotes and brackets (`Age`, `Date of referral `, `(Y/N))`). Each cell the return
needs is read in any form real workbooks give (../shared/child-level.md): dates as date cells,
serials or `DD/MM/YYYY` text; blanks as empty, `#N/A` or ""; IDs as numbers or text. A cell that
cannot be read is one finding naming `Sheet!Cell` and never its value (IDs, dates of birth, names
are personal data). The authority and the extract date come from a front sheet, else the file
name, else the caller.

Only what the definitions need leaves this module: the pseudonym of the child (the ID is hashed
here, `pseudonyms.py`), the month of birth, the dates, the earlier-referral count and the legal
status, with each row's sheet and row number (to name a cell in a finding).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipelines.ingest.excel import _FORMULA_ELEMENT
from pipelines.ingest.grid import cell_address
from pipelines.ingest.limits import LimitExceeded, Limits, check_workbook_directory, describe_bytes
from pipelines.ingest.pseudonyms import ephemeral_key, pseudonyms
from schemas.catalogue import LA_CODE_PATTERN
from schemas.findings import ERROR, WARNING, Finding
from schemas.month import Month

# The findings of child-level reading (not yet rules of the rule book: docs/child-level.md).
UNREADABLE_WORKBOOK = "child_level_unreadable"
NO_LISTS = "child_level_no_lists"
LIST_MISSING = "child_level_list_missing"
LIST_TWICE = "child_level_list_twice"
UNREADABLE_CELL = "child_level_unreadable_cell"
FORMULA_WITHOUT_VALUE = "child_level_formula_without_value"
DUPLICATE_ROWS = "child_level_duplicate_rows"
TOTALS_ROW = "child_level_totals_row"
NO_AUTHORITY = "child_level_authority_unknown"
NO_EXTRACT_DATE = "child_level_extract_date_unknown"
DATE_AFTER_EXTRACT = "child_level_date_after_extract"

HEADER_SEARCH_ROWS = 15
CHILD_LEVEL_SUFFIXES = (".xlsx", ".xlsm")
BLANKS = frozenset({"", "#N/A", "N/A", "#NA", "NULL", "#VALUE!", "#REF!"})
_EXCEL_EPOCH = np.datetime64("1899-12-30")
_TRAILING_TIME = re.compile(r"\s+\d{1,2}:\d{2}(:\d{2})?$")
_ORDERING_PREFIX = re.compile(r"^\s*[a-z]{1,2}\)\s*", re.IGNORECASE)
_LA_CODE = re.compile(LA_CODE_PATTERN)
_FILE_LA_CODE = re.compile(r"(?<![A-Za-z0-9])(" + LA_CODE_PATTERN + r")(?![0-9])")
_FILE_DATE = re.compile(r"(?<![0-9])(\d{4})-(\d{2})-(\d{2})(?![0-9])")


def folded(heading: object) -> str:
    """A heading as compared: lower case, curly quotes straightened, only letters and digits kept."""
    text = str(heading or "").lower().replace("\u2019", "'").replace("\u2018", "'")
    return re.sub(r"[^a-z0-9]", "", text)


@dataclass(frozen=True)
class Field:
    name: str  # the field's name in the rows this module gives
    heading: str  # Ofsted's heading, as findings name it
    aliases: tuple[str, ...] = ()  # the shorter forms seen in authorities' files
    kind: str = "date"  # date, id, count or code

    @property
    def forms(self) -> frozenset[str]:
        return frozenset(folded(text) for text in (self.heading, *self.aliases))


CHILD = Field("child", "Child Unique ID", ("Child ID", "Unique ID", "Child Unique Identifier"), "id")
BIRTH = Field("birth", "Date of Birth", ("DOB", "Birth Date"))


@dataclass(frozen=True)
class ListSpec:
    number: int
    title: str
    fields: tuple[Field, ...]  # the first is the list's own date: it names the list

    @property
    def label(self) -> str:
        return f"list {self.number} ({self.title})"


LISTS = (
    ListSpec(1, "contacts", (Field("contact_date", "Date of Contact", ("Contact Date",)),)),
    ListSpec(
        3,
        "referrals",
        (
            Field("referral_date", "Date of Referral", ("Referral Date",)),
            Field(
                "referrals_before",
                "Number of Referrals in Last 12 Months",
                ("Referrals in Last 12 Months", "No. of Referrals in Last 12 Months"),
                "count",
            ),
        ),
    ),
    ListSpec(
        4,
        "assessments",
        (
            Field("assessment_start", "Continuous Assessment Start Date", ("Assessment Start Date",)),
            Field(
                "assessment_authorised",
                "Continuous Assessment Date of Authorisation",
                ("Assessment Date of Authorisation", "Date of Authorisation", "Assessment Authorisation Date"),
            ),
        ),
    ),
    ListSpec(
        5,
        "section 47 enquiries and ICPCs",
        (
            Field(
                "strategy_date",
                "Strategy discussion initiating Section 47 Enquiry Start Date",
                ("Strategy Discussion Date", "Section 47 Enquiry Start Date", "S47 Start Date"),
            ),
            Field("icpc_date", "Date of Initial Child Protection Conference", ("ICPC Date", "Date of ICPC")),
        ),
    ),
    ListSpec(
        6,
        "children in need",
        (Field("cin_start", "CIN Start Date"), Field("cin_end", "CIN Closure Date", ("CIN End Date",))),
    ),
    ListSpec(
        7,
        "child protection plans",
        (
            Field("cp_start", "Child Protection Plan Start Date", ("CP Plan Start Date", "Plan Start Date")),
            Field("cp_end", "Child Protection Plan End Date", ("CP Plan End Date", "Plan End Date")),
        ),
    ),
    ListSpec(
        8,
        "children looked after",
        (
            Field("cla_start", "Date Started to be Looked After", ("Date Started Looked After", "CLA Start Date")),
            Field("cla_end", "Date Ceased to be Looked After", ("Date Ceased Looked After", "CLA End Date")),
            Field("legal_status", "Child's Legal Status", ("Legal Status",), "code"),
        ),
    ),
)
LIST_BY_NUMBER = {spec.number: spec for spec in LISTS}


@dataclass
class ChildLevel:
    """An Annex A workbook as the derivation needs it: pseudonymised rows of each list found."""

    file: str
    la_code: str | None
    extract_date: dt.date | None
    lists: dict[int, pd.DataFrame] = field(default_factory=dict)  # list number -> rows
    findings: list[Finding] = field(default_factory=list)
    holds_lists: bool = False  # whether a sheet's first rows name a list (`holds_annex_a_lists`)

    @property
    def months(self) -> list[str]:
        """The months the extract wholly covers (none when its date is unknown)."""
        return [str(m) for m in months_covered(self.extract_date)] if self.derivable and self.extract_date else []

    @property
    def problem(self) -> str | None:
        """Why nothing can be derived, in one line; None when it can."""
        if self.derivable:
            return None
        errors = [f.message for f in self.findings if f.severity == ERROR]
        return errors[0] if errors else "no Annex A list recognised: nothing derived"

    @property
    def derivable(self) -> bool:
        """Whether anything can be derived: lists read, and the authority and extract date known."""
        return bool(self.lists) and self.la_code is not None and self.extract_date is not None


def window_first_day(extract_date: dt.date) -> dt.date:
    """The first day an extract covers: the day after the same date six months earlier."""
    return (pd.Timestamp(extract_date) - pd.DateOffset(months=6) + pd.Timedelta(days=1)).date()


def months_covered(extract_date: dt.date) -> list[Month]:
    """The calendar months wholly inside an extract's window."""
    first_day = window_first_day(extract_date)
    first = Month.containing(first_day) + (0 if first_day.day == 1 else 1)
    after = Month.containing(extract_date + dt.timedelta(days=1))  # the month of the day after the extract
    last = after - 1
    return first.through(last)


def _finding(rule: str, severity: str, file: str, message: str, **where) -> Finding:
    return Finding(rule=rule, severity=severity, message=message, file=file, **where)


def read_annex_a(
    data: bytes,
    file_name: str,
    key: bytes,
    la_code: str | None = None,
    extract_date: dt.date | None = None,
    limits: Limits | None = None,
) -> ChildLevel:
    """The lists of the workbook `data` (archived under `file_name`), IDs pseudonymised with `key`.

    `la_code` and `extract_date` serve only where neither a front sheet nor the file name says
    them. Never raises on bad input: whatever cannot be read is a finding.
    """
    limits = limits or Limits.from_env()
    try:
        if len(data) > limits.max_child_level_file_bytes:
            raise LimitExceeded(
                f"the workbook is {describe_bytes(len(data))}, over the limit of "
                f"{describe_bytes(limits.max_child_level_file_bytes)} (max_child_level_file_bytes)"
            )
        check_workbook_directory(io.BytesIO(data), limits, child_level=True)
        import python_calamine

        workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheets = {
            name: workbook.get_sheet_by_name(name).to_python(skip_empty_area=False) for name in workbook.sheet_names
        }
    except Exception as problem:  # calamine's own errors too: a file that is no workbook is a finding
        message = (
            str(problem) if isinstance(problem, LimitExceeded) else "not an XLSX or XLSM workbook that can be opened"
        )
        unreadable = _finding(UNREADABLE_WORKBOOK, ERROR, file_name, message)
        return ChildLevel(file_name, None, None, findings=[unreadable], holds_lists=holds_annex_a_lists(data))
    result = ChildLevel(file_name, None, None)
    found: dict[int, tuple[str, int, list[list]]] = {}  # list -> (sheet, header row index, rows)
    front_rows: list[list] = []
    for name, rows in sheets.items():
        header = _find_header(rows)
        if header is None:
            front_rows += rows[:30]
            continue
        number, position = header
        if number in found:
            spec = LIST_BY_NUMBER[number]
            result.findings.append(
                _finding(
                    LIST_TWICE,
                    WARNING,
                    file_name,
                    f"{spec.label} is in sheets '{found[number][0]}' and '{name}': the first is read",
                )
            )
            continue
        found[number] = (name, position, rows)
    result.holds_lists = bool(found)
    result.la_code, result.extract_date = _authority_and_date(front_rows, file_name, la_code, extract_date, result)
    if not found:
        result.findings.append(
            _finding(
                NO_LISTS,
                ERROR,
                file_name,
                "no Annex A list recognised (no sheet has a row of headings with Child Unique ID and a list's date): nothing derived",
            )
        )
        return result
    missing = [spec.label for spec in LISTS if spec.number not in found]
    if missing:
        result.findings.append(
            _finding(
                LIST_MISSING,
                WARNING,
                file_name,
                f"no {', '.join(missing)} in the workbook: the figures counted from it are blank",
            )
        )
    if result.la_code is None:
        return result
    formulas = _holds_formulas(data)
    known: dict[str, str] = {}  # each child's pseudonym, hashed once for all the lists
    for number, (sheet, position, rows) in sorted(found.items()):
        if len(rows) > limits.max_child_level_rows:
            result.findings.append(
                _finding(
                    UNREADABLE_WORKBOOK,
                    ERROR,
                    file_name,
                    f"sheet '{sheet}' has more than {limits.max_child_level_rows:,} rows (max_child_level_rows)",
                )
            )
            continue
        result.lists[number] = _read_list(
            LIST_BY_NUMBER[number], sheet, position, rows, key, result, data if formulas else None, known
        )
    return result


def read_child_level(
    data: bytes, file_name: str, key: bytes, la_code: str | None = None, extract_date: dt.date | None = None
) -> ChildLevel | None:
    """`read_annex_a`, or None for a workbook no sheet of which names a list in its first rows
    (a typed return saved as a workbook: its own reader reads it). The workbook is opened once:
    asking `holds_annex_a_lists` first parsed every sheet twice."""
    read = read_annex_a(data, file_name, key, la_code, extract_date)
    return read if read.holds_lists else None


def holds_annex_a_lists(data: bytes) -> bool:
    """Whether a workbook's first rows name an Annex A list (a child-level workbook, not a return)."""
    try:
        import python_calamine

        workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        return any(
            _find_header(workbook.get_sheet_by_name(name).to_python(skip_empty_area=False, nrows=HEADER_SEARCH_ROWS))
            for name in workbook.sheet_names
        )
    except Exception:  # not a workbook calamine reads: the return's reader says what is wrong with it
        return False


def child_id_behind(data: bytes, file_name: str, key: bytes, pseudonym: str) -> str | None:
    """The raw ID of the workbook `data` whose pseudonym under `key` is `pseudonym`, None when no
    list holds it: for the owner's look-up only (steps/retention.py), never stored or logged."""
    la_code = read_annex_a(data, file_name, ephemeral_key()).la_code
    if la_code is None:
        return None
    import python_calamine

    workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    for name in workbook.sheet_names:
        rows = workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
        header = _find_header(rows)
        if header is None:
            continue
        headings = [folded(cell) if isinstance(cell, str) else "" for cell in rows[header[1]]]
        position = next(p for p, heading in enumerate(headings) if heading in CHILD.forms)
        cells = pd.Series(
            [row[position] if position < len(row) else None for row in rows[header[1] + 1 :]], dtype=object
        )
        ids, _ = parse_ids(cells.where(cells.notna(), None).replace({"": None}))
        matches = ids[pseudonyms(key, la_code, ids) == pseudonym].dropna()
        if len(matches):
            return str(matches.iloc[0])
    return None


def _find_header(rows: list[list]) -> tuple[int, int] | None:
    """(list number, header row index) of a sheet whose first rows hold a list's headings."""
    for position, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        headings = {folded(cell) for cell in row if isinstance(cell, str)}
        if not headings & CHILD.forms:
            continue
        for spec in LISTS:
            if headings & spec.fields[0].forms:
                return spec.number, position
    return None


def _authority_and_date(
    front_rows: list[list], file_name: str, la_code: str | None, extract_date: dt.date | None, result: ChildLevel
) -> tuple[str | None, dt.date | None]:
    stated_code, stated_date = None, None
    for row in front_rows:
        for position, cell in enumerate(row):
            label = folded(cell) if isinstance(cell, str) else ""
            value = next((v for v in row[position + 1 :] if v not in ("", None)), None)
            if value is None:
                continue
            if stated_code is None and label in {
                "localauthoritycode",
                "lacode",
                "authoritycode",
                "localauthority",
                "la",
            }:
                text = str(value).strip().upper()
                stated_code = text if _LA_CODE.fullmatch(text) else None
            if stated_date is None and ("extractdate" in label or label in {"dateofextract", "extractedon"}):
                dates, _ = parse_dates(pd.Series([value], dtype=object))
                stated_date = None if pd.isna(dates.iloc[0]) else dates.iloc[0].date()
    name_code = _FILE_LA_CODE.search(file_name)
    name_date = None
    if match := _FILE_DATE.search(file_name):
        try:
            name_date = dt.date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            name_date = None
    code = stated_code or (name_code[1] if name_code else None) or (la_code.strip().upper() if la_code else None)
    if code is not None and not _LA_CODE.fullmatch(code):
        code = None
    date = stated_date or name_date or extract_date
    if code is None:
        result.findings.append(
            _finding(
                NO_AUTHORITY,
                ERROR,
                file_name,
                "the authority is not stated (front sheet, file name like E06000009_annex_a_2024-01-31.xlsx, or --la-code): nothing derived",
            )
        )
    if date is None:
        result.findings.append(
            _finding(
                NO_EXTRACT_DATE,
                ERROR,
                file_name,
                "the extract date is not stated (front sheet, file name like E06000009_annex_a_2024-01-31.xlsx, or --extract-date): nothing derived",
            )
        )
    return code, date


def _holds_formulas(data: bytes) -> bool:
    """Whether any sheet's XML holds a formula (whose saved value may be missing)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = [m for m in archive.namelist() if m.startswith("xl/worksheets/") and m.endswith(".xml")]
        return any(_holds_formula_element(archive.read(m)) for m in members)


def _holds_formula_element(xml: bytes) -> bool:
    """`_FORMULA_ELEMENT.search(xml)`, found faster: the regular expression tries every `<` of a
    sheet's XML; here only the places a literal search finds `<f` or a prefix's `:f` are tried,
    each from its tag's `<` (a prefix holds no `<`)."""
    for marker in (b"<f", b":f"):
        start = xml.find(marker)
        while start >= 0:
            opening = start if marker == b"<f" else xml.rfind(b"<", 0, start)
            if opening >= 0 and _FORMULA_ELEMENT.match(xml, opening):
                return True
            start = xml.find(marker, start + 1)
    return False


def _formulas_without_values(data: bytes, sheet: str, cached: list[list], first_row: int) -> list[tuple[int, int]]:
    """(row index, column) of the cells of `sheet` holding a formula whose saved value is missing."""
    import openpyxl

    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    missing = []
    try:
        for index, row in enumerate(workbook[sheet].iter_rows(values_only=True)):
            if index < first_row:
                continue
            for column, value in enumerate(row):
                if isinstance(value, str) and value.startswith("="):
                    saved = cached[index][column] if index < len(cached) and column < len(cached[index]) else ""
                    if saved in ("", None):
                        missing.append((index, column))
    finally:
        workbook.close()
    return missing


_TYPE_OF = np.frompyfunc(type, 1, 1)


def _each_distinct(parse, cells: pd.Series) -> tuple[pd.Series, ...]:
    """`parse(cells, kinds)` (each cell's reading depends on that cell alone) worked on each distinct
    cell once and spread back over the column: a list repeats its dates and IDs many times.

    Cells are told apart by value and type, since `1`, `1.0` and `True` are equal in Python: a
    column holding booleans is parsed cell by cell (an integer and the float equal to it read alike).
    """
    kinds = pd.Series(_TYPE_OF(cells.to_numpy(dtype=object)), index=cells.index, dtype=object)
    if len(cells) == 0 or kinds.isin([bool]).any():
        return parse(cells, kinds)
    codes, distinct = pd.factorize(cells.to_numpy(dtype=object), use_na_sentinel=True)
    once = pd.Series([*distinct, None], dtype=object, name=cells.name)
    results = parse(once, pd.Series(_TYPE_OF(once.to_numpy()), dtype=object))
    where = np.where(codes < 0, len(distinct), codes)
    return tuple(pd.Series(result.array.take(where), index=cells.index, name=result.name) for result in results)


def parse_dates(cells: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(dates as datetime64 with NaT where blank or unreadable, which cells are unreadable), for a
    column of cells as calamine gives them: dates, serial numbers, text `DD/MM/YYYY` or ISO."""
    return _each_distinct(_parse_dates, cells)


def _parse_dates(cells: pd.Series, kinds: pd.Series) -> tuple[pd.Series, pd.Series]:
    dates = pd.Series(pd.NaT, index=cells.index, dtype="datetime64[ns]")
    unreadable = np.zeros(len(cells), dtype=bool)
    as_date = kinds.isin([dt.date, dt.datetime]).to_numpy(dtype=bool)
    if as_date.any():
        # Years outside 1900-2099 are unreadable (and beyond what a datetime64 column can hold).
        # Whole columns: dates and date-times to microseconds, then to their day (a time dropped).
        days = cells[as_date].to_numpy(dtype="datetime64[us]").astype("datetime64[D]")
        years = days.astype("datetime64[Y]").astype("int64") + 1970
        plausible = np.zeros(len(cells), dtype=bool)
        plausible[as_date] = (years >= 1900) & (years <= 2099)
        if plausible.any():
            dates.iloc[plausible] = days[plausible[as_date]].astype("datetime64[ns]")
        unreadable |= as_date & ~plausible
    as_number = (kinds.isin([float, int]) & cells.notna()).to_numpy(dtype=bool)  # NaN is a blank
    if as_number.any():
        serials = pd.to_numeric(cells[as_number], errors="coerce").astype("float64").to_numpy()
        good = (serials >= 1) & (serials < 73051)  # 1900 to 2099
        days = np.floor(np.where(good, serials, 0)).astype("int64")
        dates.iloc[np.flatnonzero(as_number)[good]] = _EXCEL_EPOCH + days[good].astype("timedelta64[D]")
        unreadable[np.flatnonzero(as_number)[~good]] = True
    as_text = kinds.isin([str]).to_numpy(dtype=bool)
    if as_text.any():
        # A midnight time some exports add (`05/01/2024 00:00:00`) is dropped; a serial saved as text is a serial.
        text = cells[as_text].astype("string").str.strip().str.replace(_TRAILING_TIME, "", regex=True)
        blank = text.str.upper().isin(BLANKS).to_numpy(dtype=bool)
        parsed = pd.to_datetime(text, format="%d/%m/%Y", errors="coerce")
        parsed = parsed.fillna(pd.to_datetime(text.where(parsed.isna()), format="%Y-%m-%d", errors="coerce"))
        serial_text = pd.to_numeric(text.where(text.str.fullmatch(r"\d{5}(\.0+)?").fillna(False)), errors="coerce")
        from_serial = _EXCEL_EPOCH + np.floor(serial_text.fillna(0).to_numpy(dtype="float64")).astype("int64").astype(
            "timedelta64[D]"
        )
        parsed = parsed.fillna(pd.Series(pd.to_datetime(from_serial), index=text.index).where(serial_text.notna()))
        dates.iloc[as_text] = parsed.to_numpy()
        unreadable[np.flatnonzero(as_text)[~blank & parsed.isna().to_numpy(dtype=bool)]] = True
    unreadable |= ~(as_date | as_number | as_text | cells.isna().to_numpy(dtype=bool))  # booleans, times
    out_of_range = ((dates.dt.year < 1900) | (dates.dt.year > 2099)).to_numpy(dtype=bool)
    dates.iloc[out_of_range] = pd.NaT
    return dates, pd.Series(unreadable | out_of_range, index=cells.index)


def parse_ids(cells: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(IDs as text, which cells are unreadable): numbers lose a trailing `.0`, text is trimmed
    (non-breaking spaces too) and keeps its leading zeros; a blank ID is unreadable."""
    return _each_distinct(_parse_ids, cells)


def _parse_ids(cells: pd.Series, kinds: pd.Series) -> tuple[pd.Series, pd.Series]:
    ids = pd.Series(pd.NA, index=cells.index, dtype="string")
    as_number = kinds.isin([float, int])
    numbers = pd.to_numeric(cells[as_number], errors="coerce").astype("float64")
    whole = numbers.notna() & (numbers == np.floor(numbers)) & (numbers.abs() < 1e15)
    ids[whole[whole].index] = numbers[whole].astype("int64").astype("string")
    as_text = kinds.isin([str])
    text = cells[as_text].astype("string").str.strip()
    text = text.str.replace(r"^(\d+)\.0$", r"\1", regex=True)
    text = text.where(~text.str.upper().isin(BLANKS))
    ids[as_text] = text
    return ids, ids.isna()


def parse_counts(cells: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(whole numbers, which cells are unreadable): numbers or digits as text; blanks missing."""
    return _each_distinct(_parse_counts, cells)


def _parse_counts(cells: pd.Series, kinds: pd.Series) -> tuple[pd.Series, pd.Series]:
    text = cells.where(kinds.isin([str]), None).astype("string").str.strip()
    numbers = pd.to_numeric(cells.where(kinds.isin([float, int])), errors="coerce").astype("float64")
    from_text = pd.to_numeric(text.where(text.str.fullmatch(r"\d+(\.0)?").fillna(False)), errors="coerce")
    values = numbers.fillna(from_text.astype("float64"))
    blank = cells.isna() | text.str.upper().isin(BLANKS).fillna(False)
    unreadable = values.isna() & ~blank | (values.notna() & ((values < 0) | (values != np.floor(values))))
    return values.where(~unreadable).round().astype("Int64"), unreadable


def parse_codes(cells: pd.Series) -> pd.Series:
    """Codes without Ofsted's ordering prefix (`a) V3` -> `V3`), upper case; blank missing."""
    text = cells.map(lambda v: v if isinstance(v, str) else (None if v is None else str(v))).astype("string")
    text = text.str.replace(_ORDERING_PREFIX, "", regex=True).str.strip().str.upper()
    return text.where(~text.isin(BLANKS))


def _read_list(
    spec: ListSpec,
    sheet: str,
    header: int,
    rows: list[list],
    key: bytes,
    result: ChildLevel,
    formulas: bytes | None,
    known: dict[str, str],
) -> pd.DataFrame:
    headings = [folded(cell) if isinstance(cell, str) else "" for cell in rows[header]]
    body = pd.DataFrame(rows[header + 1 :], dtype=object)
    body.index = np.arange(header + 2, header + 2 + len(body))  # the sheet's row numbers
    width = body.shape[1]
    empty = body.isin(["", None]) | body.isna() if width else pd.DataFrame(index=body.index)
    body = body[~empty.all(axis=1)] if width else body
    needed = (CHILD, BIRTH, *spec.fields)
    positions: dict[str, int] = {}
    for wanted in needed:
        position = next((p for p, heading in enumerate(headings) if heading in wanted.forms), None)
        if position is not None:
            positions[wanted.name] = position
        else:
            consequence = (
                "ages are unknown: stocks count every child"
                if wanted is BIRTH
                else "the figures that need it are blank"
            )
            result.findings.append(
                _finding(
                    LIST_MISSING,
                    WARNING,
                    result.file,
                    f"{spec.label} in sheet '{sheet}' has no column '{wanted.heading}': {consequence}",
                    column=wanted.heading,
                )
            )

    def cells(name: str) -> pd.Series:
        position = positions.get(name)
        if position is None or position >= width:
            return pd.Series(None, index=body.index, dtype=object)
        column = body[position]
        return column.where(column.notna() & (column != ""), None)  # blanks as None

    # Totals and notes rows below the data: no child's ID (or a `Total` label where it goes) and no
    # date of the list's own; a row with its date but no ID is a record whose ID cannot be read.
    child_cells = cells(CHILD.name)
    own_date_cells = cells(spec.fields[0].name)
    (label,) = _each_distinct(
        lambda distinct, _: (
            distinct.map(lambda v: v is None or (isinstance(v, str) and v.strip().lower().startswith("total"))),
        ),
        child_cells,
    )
    totals = label & own_date_cells.isna()
    for row in body.index[totals]:
        result.findings.append(
            _finding(
                TOTALS_ROW,
                WARNING,
                result.file,
                f"{spec.label}: row {row} is read as a totals or notes row (no ID and no date of its own), not a child's record",
                row=int(row),
                cell=cell_address(sheet, int(row), positions[CHILD.name]),
            )
        )
    body = body[~totals]
    duplicated = body.duplicated()  # exact: every cell as saved
    if duplicated.any():
        rows_named = ", ".join(str(r) for r in body.index[duplicated][:10])
        more = " ..." if duplicated.sum() > 10 else ""
        result.findings.append(
            _finding(
                DUPLICATE_ROWS,
                WARNING,
                result.file,
                f"{spec.label} in sheet '{sheet}': {int(duplicated.sum())} row(s) repeat an earlier row exactly and are counted once (rows {rows_named}{more})",
            )
        )
        body = body[~duplicated]

    out = pd.DataFrame(index=body.index)
    unreadable: dict[str, pd.Series] = {}
    ids, unreadable[CHILD.name] = parse_ids(cells(CHILD.name))
    out["child"] = pseudonyms(key, result.la_code or "", ids, known)
    births, unreadable[BIRTH.name] = parse_dates(cells(BIRTH.name))
    out["birth_month"] = (births.dt.year * 12 + births.dt.month - 1).astype("Int64")  # Month ordinal only
    out["birth_unreadable"] = unreadable[BIRTH.name]
    del births
    for wanted in spec.fields:
        if wanted.name not in positions:
            continue  # no such column: the figures needing it are blank, not counted from blanks
        if wanted.kind == "date":
            out[wanted.name], unreadable[wanted.name] = parse_dates(cells(wanted.name))
            out[f"{wanted.name}_unreadable"] = unreadable[wanted.name]
        elif wanted.kind == "count":
            out[wanted.name], unreadable[wanted.name] = parse_counts(cells(wanted.name))
        else:
            out[wanted.name] = parse_codes(cells(wanted.name))
    if formulas is not None:
        for index, column in _formulas_without_values(formulas, sheet, rows, header + 1):
            name = next((n for n, p in positions.items() if p == column), None)
            row = index + 1
            if name is not None and row in out.index:
                unreadable.setdefault(name, pd.Series(False, index=out.index))
                unreadable[name].loc[row] = True
                if f"{name}_unreadable" in out:
                    out.loc[row, f"{name}_unreadable"] = True
                result.findings.append(
                    _finding(
                        FORMULA_WITHOUT_VALUE,
                        ERROR,
                        result.file,
                        f"{spec.label}: the formula in {cell_address(sheet, row, column)} was saved without its value; the row is left out of the figures that need it",
                        row=row,
                        cell=cell_address(sheet, row, column),
                        column=_heading_of(name, spec),
                    )
                )
    for name, bad in unreadable.items():
        if name not in positions:
            continue
        what = (
            "an ID"
            if name == CHILD.name
            else ("a whole number" if name == "referrals_before" else "a date (a date cell, a serial or DD/MM/YYYY)")
        )
        for row in out.index[bad.reindex(out.index, fill_value=False).to_numpy(dtype=bool)]:
            address = cell_address(sheet, int(row), positions[name])
            result.findings.append(
                _finding(
                    UNREADABLE_CELL,
                    ERROR,
                    result.file,
                    f"{spec.label}: {address} ({_heading_of(name, spec)}) is not {what}; the row is left out of the figures that need it",
                    row=int(row),
                    cell=address,
                    column=_heading_of(name, spec),
                )
            )
    out["row"] = out.index.astype("int64")
    out["sheet"] = sheet
    _dates_after_extract(spec, sheet, out, positions, result)
    return out.reset_index(drop=True)


def _heading_of(name: str, spec: ListSpec) -> str:
    return next(f.heading for f in (CHILD, BIRTH, *spec.fields) if f.name == name)


def _dates_after_extract(
    spec: ListSpec, sheet: str, rows: pd.DataFrame, positions: dict[str, int], result: ChildLevel
) -> None:
    """One finding per column holding dates after the extract date (a date typed wrong, or a later extract)."""
    if result.extract_date is None:
        return
    limit = pd.Timestamp(result.extract_date)
    for wanted in spec.fields:
        if wanted.kind != "date" or wanted.name not in rows:
            continue
        late = rows.index[rows[wanted.name] > limit]
        if len(late):
            first = int(rows.loc[late[0], "row"]) if "row" in rows else int(late[0])
            result.findings.append(
                _finding(
                    DATE_AFTER_EXTRACT,
                    ERROR,
                    result.file,
                    f"{spec.label}: {len(late)} '{wanted.heading}' date(s) after the extract date {result.extract_date.isoformat()}, first in {cell_address(sheet, first, positions[wanted.name])}",
                    column=wanted.heading,
                    cell=cell_address(sheet, first, positions[wanted.name]),
                )
            )
