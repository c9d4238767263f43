"""`csc-returns validate WORKBOOK --json` on a SYNTHETIC Annex A workbook: the derived return beside
its findings, in a process that imports neither Dagster nor Great Expectations and never makes the
home's pseudonym key."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import pytest

from pipelines.cli import main
from pipelines.demo.annex_a_synthetic import FIGURES, synthetic_annex_a, workbook_bytes


@pytest.fixture(scope="module")
def synthetic():
    return synthetic_annex_a(21, children=150)


def _truth_rows(synthetic) -> list[dict]:
    return [
        {"la_code": synthetic.la_code, "period": period, "extract_date": synthetic.extract_date.isoformat(), **figures}
        for period, figures in synthetic.truth.items()
    ]


def _without_sums(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if not k.endswith("_12m")} for row in rows]


def test_validate_json_prints_the_derived_return_beside_its_findings(tmp_path, synthetic, capsys):
    path = tmp_path / synthetic.file_name
    path.write_bytes(workbook_bytes(synthetic, messy=True, seed=3))
    assert main(["--home", str(tmp_path / "h"), "validate", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["files"] == [
        {"file": str(path), "rows": sum(len(r) for r in synthetic.lists.values()), "child_level": True}
    ]
    assert [f["rule"] for f in report["findings"]] == ["child_level_totals_row"] * 7
    assert _without_sums(report["rows"]) == _truth_rows(synthetic)
    assert set(report["rows"][0]) == {
        "la_code",
        "period",
        "extract_date",
        *FIGURES,
        "contacts_12m",
        "referrals_12m",
        "s47_enquiries_12m",
    }
    assert not (tmp_path / "h" / "keys").exists()


def test_the_authority_and_extract_date_from_the_options_when_the_workbook_states_neither(tmp_path, synthetic, capsys):
    path = tmp_path / "annex_a.xlsx"
    path.write_bytes(workbook_bytes(synthetic, front_sheet=False))
    assert main(["--home", str(tmp_path / "h"), "validate", str(path), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["rows"] == []
    assert [f["rule"] for f in report["findings"]] == [
        "child_level_authority_unknown",
        "child_level_extract_date_unknown",
    ]
    given = ["--la-code", synthetic.la_code, "--extract-date", synthetic.extract_date.isoformat()]
    assert main(["--home", str(tmp_path / "h"), "validate", str(path), "--json", *given]) == 0
    assert _without_sums(json.loads(capsys.readouterr().out)["rows"]) == _truth_rows(synthetic)


def test_an_extract_date_not_written_as_a_date_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["--home", str(tmp_path / "h"), "validate", "x.xlsx", "--extract-date", "31/01/2024"])
    assert stopped.value.code == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err


def test_a_fresh_validate_of_a_workbook_imports_neither_dagster_nor_great_expectations(tmp_path, synthetic):
    path = tmp_path / synthetic.file_name
    path.write_bytes(workbook_bytes(synthetic))
    probe = (
        "import sys, json; from pipelines.cli import main;"
        "status = main(['--home', sys.argv[2], 'validate', sys.argv[1], '--json']);"
        "sys.exit(10 + status if any(m in sys.modules for m in ('dagster', 'great_expectations')) else status)"
    )
    done = subprocess.run([sys.executable, "-c", probe, str(path), str(tmp_path / "h")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert _without_sums(json.loads(done.stdout)["rows"]) == _truth_rows(synthetic)
    assert synthetic.extract_date == dt.date(2024, 1, 31)


def test_validate_reconciles_within_the_home_s_tolerances(tmp_path, synthetic, capsys):
    from tests.conftest import write_return

    month = "2023-12"
    workbook = tmp_path / synthetic.file_name
    workbook.write_bytes(workbook_bytes(synthetic))
    typed = {k: ("" if v is None else v) for k, v in synthetic.truth[month].items()}
    typed.update(la_code=synthetic.la_code, la_name="Blackpool", period=month, population_0_17=28630)
    typed["cla"] = synthetic.truth[month]["cla"] + 2
    write_return(tmp_path / "typed.csv", [typed])
    home = tmp_path / "h"
    args = ["--home", str(home), "validate", str(tmp_path / "typed.csv"), str(workbook), "--json"]

    def reconciled() -> list[str]:
        report = json.loads(capsys.readouterr().out)
        return [f["severity"] for f in report["findings"] if f["rule"] == "child_level_reconciliation"]

    assert main(args) == 1 and reconciled() == ["error"]  # exact without the home's settings
    home.mkdir()
    (home / "child-level.toml").write_text("[reconciliation.tolerance]\ncla = { absolute = 2 }\n", encoding="utf-8")
    main(args)
    assert reconciled() == ["warning"]  # within the home's tolerance, as a run reconciles it
    (home / "child-level.toml").write_text("[reconciliation.tolerance]\nkids = { absolute = 2 }\n", encoding="utf-8")
    assert main(args) == 2
    said = capsys.readouterr().err.strip().splitlines()
    assert len(said) == 1 and "reconciliation.tolerance.kids: not a count the lists give" in said[0]
    assert not (home / "keys").exists()  # validate never makes the home's key
