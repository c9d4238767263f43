"""A range of months validated in one pass gives what validating the months one after the other gives.

One pass (`check_months`: the rule book and each GX suite once over every month's rows, the
history settled over the range) must find, accept, hold back, store and report exactly what a
run per month, in calendar order, each reading the accepted months stored before it, does:
the same findings, statuses, stored tables and Data Docs pages. SYNTHETIC returns of the five
demo authorities, with a wrong month held back, a waived error (so the month counts as history)
and a rolling sum that does not agree.
"""

from __future__ import annotations

import shutil

import pytest

from bench.fingerprint import compare, fingerprint
from pipelines.demo import generate_rows
from pipelines.steps.monthly import archive_landing, store_accepted_months, validate_months
from pipelines.store.waivers import waive_finding
from pipelines.store.warehouse import connect
from schemas.catalogue import all_columns
from schemas.month import Month
from tests.conftest import write_return

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore")]
FIRST, COUNT = "2023-04", 15
MONTHS = [str(Month.parse(FIRST) + k) for k in range(COUNT)]
HELD, WAIVED, ROLLING = ("E06000008", MONTHS[4]), ("E06000007", MONTHS[7]), ("E10000017", MONTHS[13])


def _rows() -> list[dict]:
    """SYNTHETIC months of the demo authorities with three planted mistakes."""
    rows = generate_rows(first_month=FIRST, months=COUNT)
    for row in rows:
        key = (row["la_code"], row["period"])
        if key == HELD:  # a rate per 100,000: an error, the month held back
            row["cla_rate_per_10k"] = round(float(row["cla_rate_per_10k"]) * 10, 1)
        if key == WAIVED:  # a doubled stock with its rate kept: an error the steward waives, a jump either side
            row["cla"] = int(row["cla"]) * 2
        if key == ROLLING:  # a rolling sum that does not agree with its months: held back, no cascade
            row["contacts_12m"] = int(row["contacts_12m"]) + 7
    return rows


@pytest.fixture(scope="module")
def received(tmp_path_factory):
    """A home with the months landed and archived (some in one file, the rest a file a month), and
    the waiver of the doubled stock's rate recorded."""
    from pipelines.home import DataHome
    from pipelines.reference import import_demo_reference

    folder = tmp_path_factory.mktemp("range")
    home = DataHome(folder / "home").ensure()
    import_demo_reference(home)
    rows = _rows()
    write_return(
        home.landing / "SYNTHETIC-first-months.csv", [r for r in rows if r["period"] < MONTHS[6]], all_columns()
    )
    for month in MONTHS[6:]:
        write_return(home.landing / f"SYNTHETIC-{month}.csv", [r for r in rows if r["period"] == month], all_columns())
    archive_landing(home)
    scratch = DataHome(folder / "scratch")
    shutil.copytree(home.root, scratch.root)
    [month] = validate_months(scratch, [WAIVED[1]], engine="pandas")
    findings = month.findings
    wrong = findings[(findings["la_code"] == WAIVED[0]) & (findings["rule"] == "derived_inconsistent")]
    assert len(wrong) == 1
    with connect(home) as connection:
        waive_finding(connection, wrong.iloc[0], reason="SYNTHETIC: checked with the authority", who="test")
    return folder, home


@pytest.mark.parametrize("engine", ["pandas", "gx"])
def test_a_range_in_one_pass_is_the_months_one_after_the_other(received, engine):
    from pipelines.home import DataHome

    folder, home = received
    one_by_one, in_one_pass = DataHome(folder / f"one-by-one-{engine}"), DataHome(folder / f"one-pass-{engine}")
    for copy in (one_by_one, in_one_pass):
        shutil.copytree(home.root, copy.root)
    by_month = {}
    for month in MONTHS:
        [by_month[month]] = validate_months(one_by_one, [month], engine=engine, write_report=engine == "gx")
        store_accepted_months(one_by_one, [month])
    together = validate_months(in_one_pass, MONTHS, engine=engine, write_report=engine == "gx")
    store_accepted_months(in_one_pass, MONTHS)

    for validation in together:
        alone = by_month[validation.month]
        assert validation.findings.equals(alone.findings), validation.month
        assert validation.returns.equals(alone.returns), validation.month
        assert validation.files == alone.files
    fingerprint(one_by_one.root, folder / f"fingerprint-one-by-one-{engine}")
    fingerprint(in_one_pass.root, folder / f"fingerprint-one-pass-{engine}")
    assert compare(folder / f"fingerprint-one-by-one-{engine}", folder / f"fingerprint-one-pass-{engine}") == []
    if engine == "gx":  # every month's pages: the index, three suites' expectations and their results, targets'
        pages = sorted(p.name for p in (folder / f"fingerprint-one-pass-{engine}" / "datadocs" / MONTHS[0]).iterdir())
        assert "validations-rolling_sums.txt" in pages and "validations-target_bands.txt" in pages

    status = {(r.la_code, r.period): r.status for v in together for r in v.returns.itertuples()}
    assert status[HELD] == status[ROLLING] == "held_back" and status[WAIVED] == "accepted"
    findings = {v.month: v.findings for v in together}
    after_waived = findings[MONTHS[8]]
    assert "stock_jump" in set(
        after_waived.loc[after_waived["la_code"] == WAIVED[0], "rule"]
    )  # it read the waived month
    after_rolling = findings[MONTHS[14]]
    assert after_rolling[after_rolling["la_code"] == ROLLING[0]].empty  # no cascade from the month held back
