"""The return standard as data: the indicator catalogue in `indicators.csv`.

Adding an indicator is a new row in the CSV, not new code: the pandera schema, the
consistency rules, the published columns and the metadata are all built from it. The
catalogue itself is validated when it is first loaded (`validate_catalogue`): a misspelt unit or
`mandatory` value, a rate without its numerator, a column twice, stops every command with one
line per mistake instead of being read as something else.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from schemas.month import PERIOD_PATTERN  # noqa: F401 - the catalogue's identity columns use it

CATALOGUE_PATH = Path(__file__).with_name("indicators.csv")
# Another catalogue in force (a copy with a new indicator, say): chosen at the edges from
# $CSC_CATALOGUE (pipelines/home/environment.py) through `use_catalogue`.
_chosen: Path | None = None

CATALOGUE_FIELDS = (
    "column",
    "label",
    "unit",
    "kind",
    "numerator",
    "denominator",
    "multiplier",
    "sums",
    "part_of",
    "part_check",
    "polarity",
    "mandatory",
    "publish_dp",
    "ceiling",
)
NUMERIC_UNITS = ("count", "percent", "rate_per_10k")
UNITS = ("code", "text", "month", *NUMERIC_UNITS)
RATE_UNITS = ("percent", "rate_per_10k")
KINDS = ("identity", "population", "flow", "rolling12", "stock", "derived")
POLARITIES = ("high", "low", "none")
PART_CHECKS = ("error", "warning")
YES_NO = ("yes", "no")
SNAKE_CASE = r"[a-z][a-z0-9_]*"

REQUIRED_COLUMNS = ("la_code", "period", "population_0_17")
# Whole-value patterns (use with fullmatch): an upper-tier authority's ONS code, a month.
LA_CODE_PATTERN = r"E(06|08|09|10)\d{6}"


@dataclass(frozen=True)
class Indicator:
    column: str
    label: str
    unit: str  # code | text | month | count | percent | rate_per_10k
    kind: str  # identity | population | flow | rolling12 | stock | derived
    numerator: str | None
    denominator: str | None
    multiplier: int | None
    sums: str | None  # for a rolling twelve-month column: the monthly flow it sums
    part_of: str | None  # a whole this count is part of
    part_check: str | None  # error: part_exceeds_whole applies; warning: a named rule queries it
    polarity: str | None  # high | low | none (as in DfE's LAIT)
    mandatory: bool
    publish_dp: int | None
    # The most a count can be: a whole number, or another count of the same row (a stock of
    # children within the child population); blank for anything but a count. Every engine and the
    # disclosure audit read it here (`count_ceilings`, `ceiling_limit`).
    ceiling: int | str | None = None

    @property
    def is_numeric(self) -> bool:
        return self.unit in NUMERIC_UNITS

    @property
    def is_count(self) -> bool:
        return self.unit == "count"

    @property
    def is_derived(self) -> bool:
        return self.kind == "derived"


def _blank_to_none(value: str) -> str | None:
    value = value.strip()
    return value or None


class CatalogueError(ValueError):
    """The catalogue is not a valid standard; `problems` holds one line per mistake."""

    def __init__(self, path: Path, problems: list[str]):
        self.path, self.problems = path, problems
        super().__init__("\n".join(problems))


def use_catalogue(path: Path | None) -> None:
    """Make `path` the catalogue in force for this process (None: the bundled one); an edge calls
    this before anything reads the catalogue."""
    global _chosen
    if path != _chosen:
        _chosen = path
        load_catalogue.cache_clear()
        indicators_by_column.cache_clear()


def catalogue_path() -> Path:
    """The catalogue in force: the one an edge chose ($CSC_CATALOGUE), else the bundled `schemas/indicators.csv`."""
    return _chosen or CATALOGUE_PATH


def _catalogue_schema():
    """pandera's schema of one catalogue row: field by field (the cross-row rules follow it)."""
    from schemas.lean_pandera import pa

    def one_of(values: tuple[str, ...], blank: bool = False) -> pa.Check:
        allowed = ", ".join(values) + (" or blank" if blank else "")
        return pa.Check(
            lambda s: s.isin(values + (("",) if blank else ())), element_wise=False, name=f"one of {allowed}"
        )

    whole_number = pa.Check(lambda s: s.eq("") | s.str.fullmatch(r"\d+"), name="a whole number or blank")
    return pa.DataFrameSchema(
        {
            "column": pa.Column(
                str,
                [
                    pa.Check(lambda s: s.str.fullmatch(SNAKE_CASE), name="a snake_case name"),
                    pa.Check(lambda s: ~s.duplicated(keep=False), name="given once"),
                ],
            ),
            "label": pa.Column(str, pa.Check(lambda s: s.str.strip() != "", name="a label")),
            "unit": pa.Column(str, one_of(UNITS)),
            "kind": pa.Column(str, one_of(KINDS)),
            "multiplier": pa.Column(str, whole_number),
            "part_check": pa.Column(str, one_of(PART_CHECKS, blank=True)),
            "polarity": pa.Column(str, one_of(POLARITIES, blank=True)),
            "mandatory": pa.Column(str, one_of(YES_NO)),
            "publish_dp": pa.Column(str, whole_number),
            "ceiling": pa.Column(
                str,
                pa.Check(
                    lambda s: s.eq("") | s.str.fullmatch(rf"\d+|{SNAKE_CASE}"), name="a whole number, a column or blank"
                ),
            ),
        },
        strict=False,
    )


def _cross_row_problems(frame: pd.DataFrame) -> list[tuple[int, str, str]]:
    """(row, field, problem) for what one row says about others: rates, rolling sums, parts."""
    units = dict(zip(frame["column"], frame["unit"]))
    kinds = dict(zip(frame["column"], frame["kind"]))
    problems = []
    rates = frame["unit"].isin(RATE_UNITS) | frame["kind"].eq("derived")
    for field in ("numerator", "denominator", "multiplier"):
        for label in frame.index[rates & frame[field].eq("")]:
            problems.append(
                (label, field, f"{frame.at[label, 'column']} is a rate or derived figure without a {field}")
            )
    for field in ("numerator", "denominator", "part_of"):
        named = frame[field].ne("")
        unknown = named & ~frame[field].map(units).isin(NUMERIC_UNITS)
        for label in frame.index[unknown]:
            problems.append((label, field, f"'{frame.at[label, field]}' is not a numeric column of the catalogue"))
    rolling = frame["kind"].eq("rolling12")
    not_flow = rolling & ~frame["sums"].map(kinds).eq("flow")
    for label in frame.index[not_flow]:
        problems.append(
            (
                label,
                "sums",
                f"a rolling twelve-month column sums a flow column of the catalogue, not '{frame.at[label, 'sums']}'",
            )
        )
    counts = frame["unit"].eq("count")
    for label in frame.index[counts & frame["ceiling"].eq("")]:
        problems.append((label, "ceiling", f"{frame.at[label, 'column']} is a count without a ceiling"))
    for label in frame.index[~counts & frame["ceiling"].ne("")]:
        problems.append((label, "ceiling", f"{frame.at[label, 'column']} is not a count: only a count has a ceiling"))
    ceilings = dict(zip(frame["column"], frame["ceiling"]))
    named = counts & frame["ceiling"].str.fullmatch(SNAKE_CASE)
    for label in frame.index[named]:
        whole = frame.at[label, "ceiling"]
        if units.get(whole) != "count" or not str(ceilings.get(whole, "")).isdigit():
            problems.append(
                (label, "ceiling", f"'{whole}' is not a count of the catalogue whose own ceiling is a whole number")
            )
    unpaired = frame["part_of"].eq("") != frame["part_check"].eq("")
    for label in frame.index[unpaired]:
        problems.append((label, "part_check", "part_of and part_check go together (the whole, and error or warning)"))
    return problems


def validate_catalogue(path: Path) -> pd.DataFrame:
    """The catalogue's rows as text, or CatalogueError with one line per mistake
    (`indicators.csv line 7, unit: 'percentage' is not one of code, text, ...`)."""
    from schemas.lean_pandera import errors

    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        raise CatalogueError(path, [f"{path}: empty, expected a header {','.join(CATALOGUE_FIELDS)}"])
    header, problems = [h.strip() for h in rows[0]], []
    for name in sorted({h for h in header if header.count(h) > 1}):
        problems.append(f"{path} line 1: column '{name}' appears {header.count(name)} times")
    for name in CATALOGUE_FIELDS:
        if name not in header:
            problems.append(f"{path} line 1: column '{name}' is missing")
    for name in header:
        if name not in CATALOGUE_FIELDS:
            problems.append(
                f"{path} line 1: column '{name}' is not a field of the catalogue ({', '.join(CATALOGUE_FIELDS)})"
            )
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            problems.append(f"{path} line {number}: {len(row)} fields where the header has {len(header)}")
    if problems:
        raise CatalogueError(path, problems)
    frame = pd.DataFrame(rows[1:], columns=header).apply(lambda column: column.str.strip())
    frame.index = range(2, len(frame) + 2)  # the file's line numbers, for the messages
    try:
        _catalogue_schema().validate(frame, lazy=True)
    except errors.SchemaErrors as exc:
        cases = exc.failure_cases.dropna(subset=["index"])
        for line, field, check, value in zip(cases["index"], cases["column"], cases["check"], cases["failure_case"]):
            problems.append(f"{path} line {int(line)}, {field}: '{value}' is not {check}")
    problems += [f"{path} line {line}, {field}: {problem}" for line, field, problem in _cross_row_problems(frame)]
    for column in REQUIRED_COLUMNS:
        if column not in set(frame["column"]):
            problems.append(f"{path}: the required column '{column}' is not in the catalogue")
    if problems:
        raise CatalogueError(path, sorted(set(problems), key=problems.index))
    return frame


@lru_cache(maxsize=1)
def load_catalogue() -> tuple[Indicator, ...]:
    rows = validate_catalogue(catalogue_path()).to_dict("records")
    indicators = []
    for row in rows:
        multiplier = _blank_to_none(row["multiplier"])
        publish_dp = _blank_to_none(row["publish_dp"])
        ceiling = _blank_to_none(row["ceiling"])
        indicators.append(
            Indicator(
                column=row["column"],
                label=row["label"],
                unit=row["unit"],
                kind=row["kind"],
                numerator=_blank_to_none(row["numerator"]),
                denominator=_blank_to_none(row["denominator"]),
                multiplier=int(multiplier) if multiplier else None,
                sums=_blank_to_none(row["sums"]),
                part_of=_blank_to_none(row["part_of"]),
                part_check=_blank_to_none(row["part_check"]),
                polarity=_blank_to_none(row["polarity"]),
                mandatory=row["mandatory"] == "yes",
                publish_dp=int(publish_dp) if publish_dp else None,
                ceiling=int(ceiling) if ceiling and ceiling.isdigit() else ceiling,
            )
        )
    return tuple(indicators)


@lru_cache(maxsize=1)
def indicators_by_column() -> dict[str, Indicator]:
    return {indicator.column: indicator for indicator in load_catalogue()}


def all_columns() -> list[str]:
    return [indicator.column for indicator in load_catalogue()]


def numeric_columns() -> list[str]:
    return [i.column for i in load_catalogue() if i.is_numeric]


def strict_parts() -> list[tuple[str, str]]:
    """(part, whole) pairs where a part above its whole is an error (`part_check` = error)."""
    return [(i.column, i.part_of) for i in load_catalogue() if i.part_of and i.part_check == "error"]


def count_ceilings() -> list[tuple[str, int | str]]:
    """(count, its ceiling) for every count: a whole number, or the count of the row it stays within."""
    return [(i.column, i.ceiling) for i in load_catalogue() if i.is_count and i.ceiling is not None]


def ceiling_limit(column: str) -> int:
    """The largest value `column` can ever take: its ceiling, or its ceiling column's (a stock of
    children is at most the child population, so at most the population's ceiling)."""
    ceiling = indicators_by_column()[column].ceiling
    if isinstance(ceiling, str):
        return ceiling_limit(ceiling)
    if ceiling is None:
        raise KeyError(f"{column} is not a count with a ceiling")
    return ceiling


def derived_indicators() -> list[Indicator]:
    return [i for i in load_catalogue() if i.is_derived]


def mandatory_indicators() -> list[str]:
    return [i.column for i in load_catalogue() if i.mandatory and i.kind not in ("identity", "population")]
