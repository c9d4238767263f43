"""The indicator catalogue is validated at start-up: one line per mistake, naming line and field."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.home.environment import CATALOGUE as CATALOGUE_ENV
from schemas.catalogue import (
    CATALOGUE_FIELDS,
    CATALOGUE_PATH,
    UNITS,
    YES_NO,
    CatalogueError,
    ceiling_limit,
    count_ceilings,
    load_catalogue,
    validate_catalogue,
)
from tests.conftest import REPO

CLI = Path(sys.executable).with_name("csc-returns")


def _rows() -> list[dict[str, str]]:
    with CATALOGUE_PATH.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _write(path: Path, rows: list[dict[str, str]], header: list[str] | None = None) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header or list(CATALOGUE_FIELDS))
        writer.writerows([[row.get(field, "") for field in (header or CATALOGUE_FIELDS)] for row in rows])
    return path


def _line_of(rows: list[dict[str, str]], column: str) -> int:
    return 2 + [r["column"] for r in rows].index(column)


def _problems(path: Path) -> list[str]:
    with pytest.raises(CatalogueError) as caught:
        validate_catalogue(path)
    return caught.value.problems


def test_the_bundled_catalogue_is_valid():
    frame = validate_catalogue(CATALOGUE_PATH)
    assert list(frame["column"]) == [r["column"] for r in _rows()]


def test_every_count_has_a_ceiling_the_catalogue_states():
    """A stock of children within the child population, an event count within 10^7, the population within 2 x 10^7."""
    ceilings = dict(count_ceilings())
    for indicator in load_catalogue():
        if indicator.is_count:
            expected = {"population": 20_000_000, "stock": "population_0_17"}.get(indicator.kind, 10_000_000)
            assert ceilings[indicator.column] == expected, indicator.column
    assert ceiling_limit("cla") == ceiling_limit("population_0_17") == 20_000_000


@pytest.mark.parametrize(
    "field, column, bad, expected",
    [
        ("unit", "cla", "counts", "unit: 'counts' is not one of code, text, month, count, percent, rate_per_10k"),
        ("mandatory", "cin", "Yes", "mandatory: 'Yes' is not one of yes, no"),
        ("kind", "contacts", "flows", "kind: 'flows' is not one of identity"),
        ("polarity", "re_referrals", "lower", "polarity: 'lower' is not one of high, low, none or blank"),
        ("numerator", "cin_rate_per_10k", "", "cin_rate_per_10k is a rate or derived figure without a numerator"),
        ("denominator", "cla_rate_per_10k", "population", "denominator: 'population' is not a numeric column"),
        ("sums", "contacts_12m", "cin", "a rolling twelve-month column sums a flow column of the catalogue, not 'cin'"),
        ("part_of", "referrals", "contact", "part_of: 'contact' is not a numeric column"),
        ("publish_dp", "cla", "one", "publish_dp: 'one' is not a whole number or blank"),
        ("column", "cla", "CLA count", "column: 'CLA count' is not a snake_case name"),
        ("ceiling", "contacts", "", "contacts is a count without a ceiling"),
        ("ceiling", "cla", "1e7", "ceiling: '1e7' is not a whole number, a column or blank"),
        ("ceiling", "cla", "cin_rate_per_10k", "'cin_rate_per_10k' is not a count of the catalogue whose own ceiling"),
        ("ceiling", "cla", "cin", "'cin' is not a count of the catalogue whose own ceiling is a whole number"),
        ("ceiling", "cla_rate_per_10k", "100", "cla_rate_per_10k is not a count: only a count has a ceiling"),
    ],
)
def test_a_mistake_is_one_line_naming_the_file_line_and_field(tmp_path, field, column, bad, expected):
    rows = _rows()
    line = _line_of(rows, column)
    rows[line - 2][field] = bad
    path = _write(tmp_path / "indicators.csv", rows)
    problems = _problems(path)
    assert any(p.startswith(f"{path} line {line}, {field}: ") and expected in p for p in problems), problems
    assert all("\n" not in p for p in problems)


def test_header_mistakes_are_named(tmp_path):
    rows = _rows()
    header = [*CATALOGUE_FIELDS, "unit"]
    problems = _problems(_write(tmp_path / "twice.csv", [dict(r) for r in rows], header))
    assert problems == [f"{tmp_path / 'twice.csv'} line 1: column 'unit' appears 2 times"]
    header = [f for f in CATALOGUE_FIELDS if f != "mandatory"]
    problems = _problems(_write(tmp_path / "missing.csv", rows, header))
    assert problems == [f"{tmp_path / 'missing.csv'} line 1: column 'mandatory' is missing"]


def test_a_column_twice_is_reported_on_both_lines(tmp_path):
    rows = _rows()
    rows.append(dict(rows[_line_of(rows, "cla") - 2], label="again"))
    path = _write(tmp_path / "indicators.csv", rows)
    problems = _problems(path)
    assert {p for p in problems if "not given once" in p} == {
        f"{path} line {_line_of(rows, 'cla')}, column: 'cla' is not given once",
        f"{path} line {len(rows) + 1}, column: 'cla' is not given once",
    }


@settings(max_examples=40, deadline=None)
@given(
    field=st.sampled_from(["unit", "mandatory"]),
    index=st.integers(0, 33),
    value=st.text(
        alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=",\"'"), min_size=1, max_size=12
    ),
)
def test_any_value_outside_the_allowed_set_is_reported_and_no_allowed_value_is(tmp_path_factory, field, index, value):
    """Property: a unit or mandatory value is accepted exactly when it is one of the known values."""
    rows = _rows()
    rows[index][field] = value
    path = _write(tmp_path_factory.mktemp("catalogue") / "indicators.csv", rows)
    allowed = value in (UNITS if field == "unit" else YES_NO)
    try:
        validate_catalogue(path)
        problems = []
    except CatalogueError as exc:
        problems = exc.problems
    own = [p for p in problems if p.startswith(f"{path} line {index + 2}, {field}: ")]
    assert bool(own) != allowed, (value, problems)


def test_every_command_refuses_an_invalid_catalogue_with_one_line_per_mistake(tmp_path):
    rows = _rows()
    rows[_line_of(rows, "cla") - 2]["unit"] = "counts"
    path = _write(tmp_path / "indicators.csv", rows)
    result = subprocess.run(
        [str(CLI), "--home", str(tmp_path / "home"), "validate", str(path)],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", CATALOGUE_ENV: str(path)},
        cwd=REPO,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"{path} line {_line_of(rows, 'cla')}, unit: 'counts' is not one of" in result.stderr
    assert not (tmp_path / "home" / "warehouse.duckdb").exists()
