"""Bounds: a figure is a whole number from 0 to the ceiling the catalogue states. Beyond it is an
error finding naming file, row and column, quoting the figure as submitted: never a crash, never a
blank read as `x`, never a float's rounding. The numerals are SYNTHETIC, played as an attacker
(or a careless submitter) would write them."""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.home import DataHome
from pipelines.ingest.readers import read_return
from pipelines.reference import import_demo_reference, load_reference
from pipelines.validate.rulebook import validate_rows
from schemas.catalogue import ceiling_limit, indicators_by_column
from schemas.rules.kinds.cells import submitted_figure
from tests.conftest import EXAMPLE_RETURN, requires_shared, warehouse_scalar, write_return

RULE = "count_above_ceiling"
FLOW, STOCK, POPULATION = "contacts", "cla", "population_0_17"


@pytest.fixture(scope="module")
def bounds_home(tmp_path_factory):
    home = DataHome(tmp_path_factory.mktemp("bounds") / "home").ensure()
    import_demo_reference(home)
    return home


@pytest.fixture(scope="module")
def first_row() -> dict[str, str]:
    requires_shared(EXAMPLE_RETURN)
    with EXAMPLE_RETURN.open(newline="", encoding="utf-8") as handle:
        return next(csv.DictReader(handle))


@pytest.fixture(scope="module")
def reference(bounds_home):
    return load_reference(bounds_home)


def _findings_of(home: DataHome, reference, row: dict[str, str]) -> list:
    """What `csc-returns validate` finds in a one-row return (the file's row 2)."""
    path = write_return(Path(tempfile.mkdtemp(prefix="bounds-")) / "SYNTHETIC-bounds.csv", [row])
    parsed = read_return(path, home=home)
    findings = list(parsed.findings)
    assert parsed.readable, findings
    return findings + validate_rows(parsed.values, parsed.text, reference, None, engine="pandas")


def _ceiling_findings(findings: list, column: str) -> list:
    return [f for f in findings if f.rule == RULE and f.column == column]


def _numeral(number: int, style: str) -> str:
    """`number` as a submitter might write it."""
    if style == "commas":
        return f"{number:,}"
    if style == "zeros":
        return f"000{number}"
    if style == "decimal":
        return f"{number}.0"
    if style == "plus":
        return f"+{number}"
    return str(number)


_near_ceilings = st.sampled_from([10**7, 2 * 10**7, 2**53, 10**30]).flatmap(
    lambda ceiling: st.integers(ceiling - 2, ceiling + 2)
)
_numbers = st.one_of(
    st.integers(0, 10**8), _near_ceilings, st.integers(10**15, 10**400), st.integers(0, 10**400).map(lambda n: n * 7)
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    number=_numbers,
    style=st.sampled_from(["plain", "commas", "zeros", "decimal", "plus"]),
    column=st.sampled_from([FLOW, STOCK, POPULATION]),
)
def test_a_count_above_its_ceiling_is_an_error_naming_file_row_and_column(
    number, style, column, bounds_home, reference, first_row
):
    numeral = _numeral(number, style)
    row = dict(first_row, **{column: numeral})
    findings = _findings_of(bounds_home, reference, row)  # never raises, however long the numeral
    population = number if column == POPULATION else int(first_row[POPULATION])
    ceiling = population if column == STOCK and population <= ceiling_limit(POPULATION) else ceiling_limit(column)
    above = _ceiling_findings(findings, column)
    if number > ceiling:
        [finding] = above
        assert (finding.file, finding.row, finding.severity) == ("SYNTHETIC-bounds.csv", 2, "error")
        assert finding.value == submitted_figure(numeral)  # as submitted: no float's rounding, no 1e+30
        assert f"above its ceiling of {ceiling:,}" in finding.message
    else:
        assert above == []


@pytest.mark.parametrize(
    "numeral, quoted",
    [
        (str(2**53 + 1), "9007199254740993"),  # a float would say ...992
        ("1" + "0" * 30, "1" + "0" * 30),  # DuckDB's integer conversion failed on it for every authority
        ("1" * 400, "111111111111... (400 digits)"),  # pandas read it as blank: published as x
    ],
)
def test_the_numerals_that_broke_the_pipeline_are_error_findings(numeral, quoted, bounds_home, reference, first_row):
    [finding] = _ceiling_findings(_findings_of(bounds_home, reference, dict(first_row, contacts=numeral)), FLOW)
    assert finding.value == quoted and finding.message == f"contacts is {quoted}: above its ceiling of 10,000,000"


def test_a_stock_is_bounded_by_its_own_rows_child_population(bounds_home, reference, first_row):
    population = int(first_row[POPULATION])
    assert _ceiling_findings(_findings_of(bounds_home, reference, dict(first_row, cla=str(population))), STOCK) == []
    [finding] = _ceiling_findings(_findings_of(bounds_home, reference, dict(first_row, cla=str(population + 1))), STOCK)
    assert finding.message == f"cla is {population + 1}: above its ceiling of {population:,} (population_0_17)"
    # No population given: the population's own ceiling bounds the stock.
    assert indicators_by_column()[STOCK].ceiling == POPULATION
    blank = dict(first_row, population_0_17="", cla=str(2 * 10**7 + 1))
    [finding] = _ceiling_findings(_findings_of(bounds_home, reference, blank), STOCK)
    assert "above its ceiling of 20,000,000 (population_0_17)" in finding.message


@pytest.mark.xdist_group("dagster")
def test_a_run_holds_back_only_the_authority_above_a_ceiling_and_publishes_the_rest(home, example_rows, capsys):
    """10^30 once crashed the whole release on DuckDB's integer conversion, for every authority."""
    from pipelines.cli import main

    october = [row for row in example_rows if row["period"] == "2024-10"]
    huge, fine = october[0]["la_code"], october[1]["la_code"]
    october[0] = dict(october[0], contacts="1" + "0" * 30, referrals="1" * 400)
    write_return(home.landing / "SYNTHETIC-october.csv", october)

    assert main(["--home", str(home.root), "run", "--quiet"]) == 1  # findings, not a failed run
    out = capsys.readouterr().out
    assert "published 1 month(s)" in out and f"2024-10 {huge}:" in out
    messages = warehouse_scalar(
        home,
        "SELECT list(file || ':' || \"row\" || ' [' || \"column\" || '] ' || message ORDER BY \"column\") "
        "FROM findings WHERE rule = ?",
        [RULE],
    )
    assert messages == [
        f"SYNTHETIC-october.csv:2 [contacts] contacts is 1{'0' * 30}: above its ceiling of 10,000,000",
        "SYNTHETIC-october.csv:2 [referrals] referrals is 111111111111... (400 digits): above its ceiling of 10,000,000",
    ]
    published = "".join(path.read_text(encoding="utf-8") for path in home.publish.rglob("*.csv"))
    assert fine in published and "1" * 20 not in published and "e+" not in published and "inf" not in published
