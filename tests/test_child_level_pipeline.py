"""A SYNTHETIC Annex A workbook landed like any file: archived untouched (owner-only), its months
derived and validated, stored and kept like a typed return's; a typed return of the same authority
and month is preferred; nothing identifying reaches the warehouse, the lake or the reports."""

from __future__ import annotations

import datetime as dt
import stat

import duckdb
import pytest

from pipelines.demo.annex_a_synthetic import synthetic_annex_a, workbook_bytes
from pipelines.ingest.arrivals import contents_of, read_contents
from pipelines.steps.child_level import read_versions
from pipelines.steps.monthly import archive_landing, store_accepted_months, validate_months
from pipelines.steps.steward import waive
from tests.conftest import write_return
from tests.identifying_search import found, identifying_values, stored_text


@pytest.fixture(scope="module")
def synthetic():
    return synthetic_annex_a(41, children=250)


def _land(home, synthetic, **options) -> list[str]:
    (home.landing / synthetic.file_name).write_bytes(workbook_bytes(synthetic, **options))
    [archived] = [a for a in archive_landing(home) if a.file_name == synthetic.file_name]
    return list(archived.periods)


def _stored(home) -> dict[tuple[str, str], dict]:
    with duckdb.connect(str(home.warehouse), read_only=True) as connection:
        frame = connection.sql("select * from indicator_values").df()
    return {(row["la_code"], row["period"]): row for row in frame.to_dict("records")}


def test_a_workbook_lands_and_its_derived_months_are_validated_and_stored(home, synthetic):
    months = _land(home, synthetic)
    assert months == list(synthetic.truth)
    [archived] = list(home.archive.iterdir())
    assert archived.read_bytes() == (home.landing / synthetic.file_name).read_bytes()
    assert stat.S_IMODE(archived.stat().st_mode) == 0o600
    validations = validate_months(home, months, engine="pandas")
    assert [v.accepted for v in validations] == [["E06000009"]] * len(months)
    store_accepted_months(home, months)
    stored = _stored(home)
    for period, figures in synthetic.truth.items():
        row = stored[("E06000009", period)]
        for figure, value in figures.items():
            assert row[figure] != row[figure] if value is None else row[figure] == value, (period, figure)
        assert row["population_0_17"] == 28630  # the demo reference's Blackpool estimate
        assert row["cla_rate_per_10k"] == pytest.approx(round(figures["cla"] / 28630 * 10000, 1))
    assert not (home.root / "keys").exists()  # nothing pseudonymised is kept yet: no key made


def test_nothing_identifying_reaches_the_warehouse_the_lake_or_the_reports(home, synthetic):
    months = _land(home, synthetic, messy=True, seed=4)
    validate_months(home, months, engine="pandas")
    store_accepted_months(home, months)
    ids, others = identifying_values(synthetic.lists)
    assert len(ids | others) > 100
    everything = stored_text(home.root)
    assert "E06000009" in everything  # the search reads what is stored
    assert found(ids, others, everything) == []


def _typed_and_workbook(home, synthetic, cla_off_by: int) -> list[str]:
    """A SYNTHETIC typed December (every count the workbook's but cla), then the workbook."""
    typed = dict(synthetic.truth["2023-12"], la_code="E06000009", la_name="Blackpool", period="2023-12")
    typed = {k: ("" if v is None else v) for k, v in typed.items()}
    typed.update(population_0_17=28630, cla=synthetic.truth["2023-12"]["cla"] + cla_off_by)
    write_return(home.landing / "typed.csv", [typed])
    archive_landing(home)
    return _land(home, synthetic)  # the workbook arrives after the typed return


def _reconciled(validations, month="2023-12"):
    found = next(v for v in validations if v.month == month).findings
    return found[found["rule"] == "child_level_reconciliation"]


def test_a_typed_return_differing_from_its_records_is_held_back_until_waived(home, synthetic, example_rows):
    months = _typed_and_workbook(home, synthetic, 3)
    validations = validate_months(home, months, engine="pandas")
    store_accepted_months(home, months)
    cla = synthetic.truth["2023-12"]["cla"]
    reconciled = _reconciled(validations)
    assert reconciled[["column", "value", "expected", "severity", "family"]].values.tolist() == [
        ["cla", str(cla + 3), str(cla), "error", "reconciliation"]
    ]
    assert reconciled["message"].iloc[0] == (
        f"cla is {cla + 3} but list 8 gives {cla} children looked after at 31 December 2023 (extract of 2024-01-31)"
    )
    december = next(v for v in validations if v.month == "2023-12")
    assert december.held_back == ["E06000009"]  # the typed return is current, and held back
    assert ("E06000009", "2023-12") not in _stored(home)
    assert _stored(home)[("E06000009", "2023-11")]["cla"] == synthetic.truth["2023-11"]["cla"]

    # The steward waives it with the existing `waive` (same audit trail); the next run accepts the typed figure.
    [waiver_id] = waive(
        home, "child_level_reconciliation", "E06000009", "2023-12", "cla", "SYNTHETIC: checked", "tester"
    )
    validations = validate_months(home, ["2023-12"], engine="pandas")
    store_accepted_months(home, ["2023-12"])
    assert _reconciled(validations)["waived"].tolist() == [True]
    assert _stored(home)[("E06000009", "2023-12")]["cla"] == cla + 3
    assert waiver_id > 0


def test_within_the_homes_tolerance_a_difference_is_a_warning_and_the_typed_return_accepted(home, synthetic):
    (home.root / "child-level.toml").write_text("[reconciliation.tolerance]\ncla = { absolute = 3 }\n")
    months = _typed_and_workbook(home, synthetic, 3)
    validations = validate_months(home, months, engine="pandas")
    store_accepted_months(home, months)
    assert _reconciled(validations)["severity"].tolist() == ["warning"]
    assert _stored(home)[("E06000009", "2023-12")]["cla"] == synthetic.truth["2023-12"]["cla"] + 3


def test_the_home_may_publish_the_derived_return_and_each_difference_is_a_warning_on_it(home, synthetic):
    (home.root / "child-level.toml").write_text('[reconciliation]\npublish = "derived"\n')
    months = _typed_and_workbook(home, synthetic, 3)
    validations = validate_months(home, months, engine="pandas")
    store_accepted_months(home, months)
    reconciled = _reconciled(validations)
    assert reconciled["severity"].tolist() == ["warning"]
    assert _stored(home)[("E06000009", "2023-12")]["cla"] == synthetic.truth["2023-12"]["cla"]


def test_a_workbook_naming_no_authority_is_kept_with_one_finding_and_nothing_derived(home, synthetic):
    (home.landing / "annex_a.xlsx").write_bytes(workbook_bytes(synthetic, front_sheet=False))
    [archived] = archive_landing(home)
    assert not archived.readable and archived.periods == ()
    assert len(list(home.archive.iterdir())) == 1
    with duckdb.connect(str(home.warehouse), read_only=True) as connection:
        rules = [r for (r,) in connection.sql("select rule from findings").fetchall()]
    assert "file_unreadable" in rules and "child_level_authority_unknown" in rules


def test_the_landing_sensor_sees_the_months_a_workbook_covers(home, synthetic):
    path = home.landing / synthetic.file_name
    path.write_bytes(workbook_bytes(synthetic))
    contents = read_contents(path, home)
    assert contents.readable and contents.months == tuple(synthetic.truth)
    assert synthetic.extract_date == dt.date(2024, 1, 31)


def test_an_unreadable_cell_holds_back_every_month_of_the_workbook_until_a_corrected_one_arrives(home, synthetic):
    import io

    import openpyxl

    good = workbook_bytes(synthetic)
    workbook = openpyxl.load_workbook(io.BytesIO(good))
    workbook["List_1"]["F5"] = "31/02/2023"  # no such day: a contact left out of some month's count
    buffer = io.BytesIO()
    workbook.save(buffer)
    (home.landing / synthetic.file_name).write_bytes(buffer.getvalue())
    [archived] = archive_landing(home)
    months = list(archived.periods)
    validations = validate_months(home, months, engine="pandas")
    assert [v.held_back for v in validations] == [["E06000009"]] * len(months)
    errors = validations[0].findings[validations[0].findings["severity"] == "error"]
    assert errors[["rule", "cell", "column"]].values.tolist() == [
        ["child_level_unreadable_cell", "List_1!F5", "Date of Contact"]
    ]
    (home.landing / synthetic.file_name).write_bytes(good)  # the authority sends the workbook again, corrected
    archive_landing(home)
    assert [v.accepted for v in validate_months(home, months, engine="pandas")] == [["E06000009"]] * len(months)


def test_a_workbook_missing_a_list_is_held_back_with_the_list_named(home, synthetic):
    import dataclasses

    without_plans = dataclasses.replace(synthetic, lists={n: r for n, r in synthetic.lists.items() if n != 7})
    months = _land(home, without_plans)
    validations = validate_months(home, months, engine="pandas")
    assert [v.held_back for v in validations] == [["E06000009"]] * len(months)
    findings = validations[0].findings
    errors = findings[findings["severity"] == "error"]
    assert sorted(zip(errors["rule"], errors["column"])) == [
        ("mandatory_missing", "cin"),
        ("mandatory_missing", "cp_plans"),
    ]
    [missing] = findings.loc[findings["rule"] == "child_level_list_missing", "message"]
    assert "list 7 (child protection plans)" in missing


def test_among_workbooks_the_latest_extract_decides_a_month_whichever_arrived_last(home, synthetic):
    later = synthetic_annex_a(42, children=250, extract_date=dt.date(2024, 2, 29))
    _land(home, later)  # the February extract arrives first...
    months = _land(home, synthetic)  # ...then the January one, covering five of the same months
    validate_months(home, months + ["2024-02"], engine="pandas")
    store_accepted_months(home, months + ["2024-02"])
    stored = _stored(home)
    assert stored[("E06000009", "2023-08")]["contacts"] == synthetic.truth["2023-08"]["contacts"]
    for period in ("2023-09", "2023-12", "2024-01", "2024-02"):
        assert stored[("E06000009", period)]["contacts"] == later.truth[period]["contacts"], period


def test_many_workbooks_landed_at_once_are_read_by_the_pool_as_one_by_one(home):
    """Five SYNTHETIC workbooks landed together (one a copy of another: the same version) are read
    by archive_landing's pool of two processes; each reads to what it reads to alone."""
    names = [f"E0600000{n}_annex_a_2024-01-31_SYNTHETIC.xlsx" for n in range(1, 6)]
    books = [
        workbook_bytes(synthetic_annex_a(n, la_code=names[n][:9], children=60), front_sheet=False) for n in range(4)
    ]
    for name, data in zip(names, [*books, books[0]]):
        (home.landing / name).write_bytes(data)
    archived = {a.file_name: a for a in archive_landing(home)}
    assert set(archived) == set(names)
    versions = [(archived[name].sha256, name) for name in names[:4]]
    pooled = read_versions(home, versions, workers=2)
    alone = read_versions(home, versions, workers=1)
    for version in versions:
        assert pooled[version].values.equals(alone[version].values)
        assert pooled[version].findings == alone[version].findings
        assert archived[version[1]].periods == contents_of(alone[version]).months
    months = archived[names[0]].periods
    assert len(months) == 6 and archived[names[4]].periods == months  # the copy: as its version was read
