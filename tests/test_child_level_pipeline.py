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
from pipelines.steps.child_level import explain_differences, read_versions, state_landed_workbooks
from pipelines.steps.monthly import archive_landing, store_accepted_months, validate_months
from pipelines.steps.retention import look_up_child
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
    # The pseudonymised rows are kept under the home's key, made on first use: owner-only both.
    assert stat.S_IMODE(home.child_level_key.stat().st_mode) == 0o600
    [kept] = list(home.child_level_rows.iterdir())
    assert kept.name == archived.name.split(".")[0]
    assert stat.S_IMODE(home.child_level_rows.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in kept.iterdir()} == {0o600}


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


def test_the_steward_lists_the_children_behind_a_difference_and_they_are_nowhere_else(home, synthetic):
    import json
    import subprocess
    import sys

    months = _typed_and_workbook(home, synthetic, 3)
    validate_months(home, months, engine="pandas")
    store_accepted_months(home, months)
    cla = synthetic.truth["2023-12"]["cla"]
    [explained] = explain_differences(home, "2023-12")
    assert (explained["figure"], explained["typed"], explained["derived"]) == ("cla", str(cla + 3), str(cla))
    assert explained["extract_date"] == "2024-01-31" and explained["workbook"] == synthetic.file_name
    children = [child["pseudonym"] for child in explained["children"]]
    assert len(children) == len(set(children)) == cla  # each child counted in the derived figure, once
    assert {child["list"] for child in explained["children"]} == {8}
    # Beside them, the children list 8 leaves out at that month's end though their period had started, and why.
    left_out = [child["pseudonym"] for child in explained["left_out"]]
    assert left_out and not set(left_out) & set(children)
    assert {child["why"] for child in explained["left_out"]} <= {
        "short breaks (legal status V3 or V4)",
        "18 or over at the month's end",
        "ended on the month's last day",
        "end date unreadable",
        "date of birth unreadable",
    }
    # The same list from the command line (text and JSON), never in the warehouse, lake or reports.
    said = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "--home", str(home.root), "findings", "--month", "2023-12"]
        + ["--explain", "--format", "json"],
        capture_output=True,
        text=True,
    )
    assert said.returncode == 0, said.stderr
    assert json.loads(said.stdout) == [explained]
    text = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipelines.cli",
            "--home",
            str(home.root),
            "findings",
            "--month",
            "2023-12",
            "--explain",
        ],
        capture_output=True,
        text=True,
    ).stdout
    assert f"E06000009 2023-12 [cla]: typed {cla + 3}, derived {cla}" in text and children[-1] in text
    # Pseudonyms are kept in the owner-only rows alone: in no other file of the home, decoded or not.
    kept_rows = home.child_level_rows.name
    assert all(child in stored_text(home.root) for child in children[:3])  # the search reads the kept rows
    outside = stored_text(home.root, leave_out=("archive", "landing", kept_rows))
    assert "E06000009" in outside and not [child for child in children + left_out if child in outside]

    # Each is a child of list 8 of the workbook: the owner's look-up (reading the archive) finds its ID
    # (and records the pseudonym asked, in child_lookups, by design).
    list_8_ids = {str(row["Child Unique ID"]).strip() for row in synthetic.lists[8]}
    assert look_up_child(home, children[0], "A Steward", "SYNTHETIC: cla differs") in list_8_ids


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


def test_a_workbook_stating_neither_authority_nor_date_is_given_them_by_the_operator(home, synthetic):
    import subprocess
    import sys

    (home.landing / "annex_a.xlsx").write_bytes(workbook_bytes(synthetic, front_sheet=False))
    [archived] = archive_landing(home)  # first seen without them: kept, nothing derived
    assert archived.periods == ()
    # `run --la-code --extract-date` gives them (the step it calls first), and the version is read again.
    given = state_landed_workbooks(home, "E06000009", synthetic.extract_date)
    assert given == ["annex_a.xlsx"]
    [archived] = archive_landing(home)
    assert archived.periods == tuple(synthetic.truth) and archived.readable
    validate_months(home, list(synthetic.truth), engine="pandas")
    store_accepted_months(home, list(synthetic.truth))
    assert _stored(home)[("E06000009", "2023-12")]["cla"] == synthetic.truth["2023-12"]["cla"]
    with duckdb.connect(str(home.warehouse), read_only=True) as connection:
        rules = [r for (r,) in connection.sql("select rule from findings where period is null").fetchall()]
    assert "child_level_authority_unknown" not in rules  # the file's own findings replaced
    # A workbook that states both is not given them; the command line refuses a date it cannot read.
    (home.landing / synthetic.file_name).write_bytes(workbook_bytes(synthetic))
    assert "annex_a.xlsx" in state_landed_workbooks(home, "E06000009", synthetic.extract_date)
    assert synthetic.file_name not in state_landed_workbooks(home, "E06000009", synthetic.extract_date)
    refused = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "--home", str(home.root), "run", "--extract-date", "31/01/2024"],
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 2 and "is not a date written YYYY-MM-DD" in refused.stderr


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


def test_the_operator_s_key_outside_the_home_is_the_one_made_and_used(home, synthetic, tmp_path):
    from pipelines.home import use_child_level_key_file

    outside = tmp_path / "secrets" / "csc.key"
    use_child_level_key_file(outside)  # as the edges do with $CSC_CHILD_LEVEL_KEY
    try:
        _land(home, synthetic)
        assert home.child_level_key == outside and stat.S_IMODE(outside.stat().st_mode) == 0o600
        assert not (home.root / "keys").exists()
        [kept] = list(home.child_level_rows.iterdir())
        assert kept.is_dir()
    finally:
        use_child_level_key_file(None)
    assert home.child_level_key == home.root / "keys" / "child-level.key"


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


def test_the_pool_s_processes_use_the_operator_s_key_not_one_of_the_home(home, tmp_path):
    """Workbooks read by the pool's processes (started afresh) are pseudonymised under the key the
    edge named, as this process reads them: no key is made in the home."""
    from pipelines.home import use_child_level_key_file

    outside = tmp_path / "secrets" / "csc.key"
    use_child_level_key_file(outside)
    try:
        names = [f"E0600000{n}_annex_a_2024-01-31_SYNTHETIC.xlsx" for n in range(1, 5)]
        for n, name in enumerate(names):
            data = workbook_bytes(synthetic_annex_a(n, la_code=name[:9], children=40), front_sheet=False)
            (home.landing / name).write_bytes(data)
        archived = archive_landing(home)  # four workbooks: read by the pool of two
        assert len(archived) == 4 and outside.exists()
        assert not (home.root / "keys").exists()
        assert len(list(home.child_level_rows.iterdir())) == 4
    finally:
        use_child_level_key_file(None)
