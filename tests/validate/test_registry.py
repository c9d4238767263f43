"""The registry walked rule by rule: each rule fires on a failing case its own declaration plants,
in every engine its kind names; a kind no engine decides, or an engine named without an
evaluation for the kind, fails here at once.

The clean case is SYNTHETIC: fifteen consistent months of one authority (tests/validate/conftest.py).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import openpyxl
import pandas as pd
import pytest
from conftest import synthetic_months

from pipelines.home import DataHome
from pipelines.ingest.readers import read_return
from pipelines.reference import Reference
from pipelines.validate.engines import BY_NAME, PANDAS_ENGINE
from pipelines.validate.engines.base import Checked, listed
from pipelines.validate.engines.child_level_engine import workbook_findings
from pipelines.validate.engines.reader_engine import read_findings
from schemas.catalogue import all_columns, indicators_by_column
from schemas.findings import Finding
from schemas.month import Month
from schemas.rules import RULE_LIST, RULES, Rule
from schemas.rules.kinds import CHILD_LEVEL, ENGINES, GX, PANDAS, READER, Case, Kind, Reads
from schemas.rules.kinds.base import AtMost, Ratio, RollingSum

pytestmark = pytest.mark.filterwarnings("ignore")
LA_CODE, LA_NAME, POPULATION = "E06000009", "Blackpool", 28630


def clean_case() -> Case:
    """SYNTHETIC: fifteen consistent months of one authority, checked the month after the last."""
    months = synthetic_months(la_code=LA_CODE, la_name=LA_NAME, months=15, population=POPULATION)
    months = months.reindex(columns=all_columns()).fillna("")
    last = Month.parse(months["period"].iloc[-1])
    return Case(
        header=tuple(months.columns),
        rows=tuple(tuple(str(cell) for cell in row) for row in months.itertuples(index=False)),
        today=(last + 2).first_day,
    )


def reference() -> Reference:
    """The case's authority on the register, its population the official estimate of every year."""
    register = pd.DataFrame({"new_la_code": [LA_CODE], "la_name": [LA_NAME]})
    years = range(2000, dt.date.today().year + 2)
    populations = pd.DataFrame({"new_la_code": LA_CODE, "year": list(years), "population": float(POPULATION)})
    return Reference(register, populations)


def write(case: Case, folder: Path) -> Path:
    """The case as the file it describes: a CSV in its encoding, or a workbook (`=...` a formula without its value)."""
    path = folder / case.name
    if path.suffix == ".xlsx":
        book = openpyxl.Workbook()
        for row in (case.header, *case.rows):
            book.active.append(list(row))
        book.save(path)
        return path
    lines = io.StringIO()
    csv.writer(lines, lineterminator="\n").writerows((case.header, *case.rows))
    path.write_bytes(lines.getvalue().encode(case.encoding))
    return path


def annex_a_workbook(case: Case) -> bytes:
    """The child-level workbook `case` carries, as an XLSX (text cells; the reader reads `YYYY-MM-DD`)."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in case.annex_a:
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def checked(case: Case, folder: Path) -> Checked:
    parsed = read_return(write(case, folder))
    values, text = parsed.values.reset_index(drop=True), parsed.text.reset_index(drop=True)
    for column, dtype in case.retyped:
        values[column] = values[column].astype(dtype)
    return Checked(values, text, reference(), case.today)


def fired(rule: Rule, engine: str, case: Case, folder: Path) -> list[Finding]:
    """The findings of `rule` on `case` as `engine` decides it."""
    if engine == READER:
        return read_findings([rule], write(case, folder), DataHome(folder / "home"))
    rows = checked(case, folder)
    if engine == CHILD_LEVEL:
        if not case.annex_a:
            return []  # a typed return with no child-level records beside it: nothing to decide
        return workbook_findings([rule], annex_a_workbook(case), case.annex_a_name, rows.values)
    if engine == PANDAS:
        return PANDAS_ENGINE.findings([rule], rows)
    from pipelines.validate.engines.gx_engine import GxRun

    run = GxRun(rows)
    if rule.kind.reads == Reads.HISTORY:
        return listed(run.history_failing([rule]), rows)
    return listed(run.failing([rule]), rows)


def undecided(rules) -> list[str]:
    """Each rule whose kind names no engine, or names (or is shown by) an engine that has no evaluation of it."""
    problems = []
    for rule in rules:
        kind = type(rule.kind)
        if not kind.engines:
            problems.append(f"{rule.id}: no engine decides {kind.__name__}")
        for engine in (*kind.engines, *kind.shown_by):
            if engine not in BY_NAME or not BY_NAME[engine].decides(kind):
                problems.append(f"{rule.id}: the {engine} engine has no evaluation of {kind.__name__}")
    return problems


def test_every_engine_a_kind_names_has_an_evaluation_of_it():
    assert undecided(RULE_LIST) == []
    assert {engine for rule in RULE_LIST for engine in rule.kind.engines} == set(ENGINES)


@dataclass(frozen=True)
class _Unheard(Kind):
    """A kind of check no engine has heard of."""

    engines: ClassVar[tuple[str, ...]] = (PANDAS, GX)
    reads: ClassVar[Reads] = Reads.ROW


def test_a_kind_an_engine_cannot_decide_fails_at_once(tmp_path):
    rule = Rule("unheard", "consistency", "error", "A new rule.", "x", "{column}", _Unheard())
    assert undecided([rule]) == [
        "unheard: the pandas engine has no evaluation of _Unheard",
        "unheard: the gx engine has no evaluation of _Unheard",
    ]
    with pytest.raises(LookupError, match="pandas engine has no evaluation of _Unheard"):
        PANDAS_ENGINE.findings([rule], checked(clean_case(), tmp_path))
    nobody = Rule(
        "nobody", "consistency", "error", "A new rule.", "x", "{column}", type("Nobody", (_Unheard,), {"engines": ()})()
    )
    assert undecided([nobody]) == ["nobody: no engine decides Nobody"]


CASES = [(rule.id, engine) for rule in RULE_LIST for engine in rule.kind.engines]


@pytest.mark.parametrize(("rule_id", "engine"), CASES, ids=[f"{r}-{e}" for r, e in CASES])
def test_every_rule_fires_on_the_case_its_declaration_plants_in_every_engine_it_names(rule_id, engine, tmp_path):
    rule = RULES[rule_id]
    clean, planted = clean_case(), rule.kind.plant(clean_case())
    (tmp_path / "clean").mkdir()
    (tmp_path / "planted").mkdir()
    assert fired(rule, engine, clean, tmp_path / "clean") == [], f"{rule_id} fires on the clean case"
    found = fired(rule, engine, planted, tmp_path / "planted")
    assert found, f"{rule_id} does not fire in the {engine} engine on the case it plants"
    assert {f.rule for f in found} == {rule_id} and all(f.severity == rule.severity for f in found)


BOTH = [rule.id for rule in RULE_LIST if {PANDAS, GX} <= set(rule.kind.engines)]


@pytest.mark.parametrize("rule_id", BOTH)
def test_pandas_and_gx_write_the_same_findings_on_a_planted_case(rule_id, tmp_path):
    rule = RULES[rule_id]
    planted = rule.kind.plant(clean_case())
    assert fired(rule, PANDAS, planted, tmp_path) == fired(rule, GX, planted, tmp_path)


def test_identities_name_columns_of_the_catalogue():
    catalogue = indicators_by_column()
    identities = [identity for rule in RULE_LIST for identity in rule.kind.identities()]
    assert {type(identity) for identity in identities} == {Ratio, AtMost, RollingSum}
    for identity in identities:
        if isinstance(identity, Ratio):
            named = [identity.column, identity.numerator, identity.denominator]
        elif isinstance(identity, AtMost):
            named = [*identity.parts, identity.whole]
        else:
            named = [identity.column, identity.flow]
        assert set(named) <= set(catalogue), identity
    assert "cp_plans + cla <= cin" in {str(identity) for identity in identities}
    assert "contacts_12m(m) = sum of contacts over m-11..m" in {str(identity) for identity in identities}
