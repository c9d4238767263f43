"""The command line as an analyst uses it: fast, precise, exit codes that scripts can trust."""

from __future__ import annotations

import json
import subprocess
import sys

from pipelines.cli import main
from pipelines.exit_codes import FINDINGS, LOCKED, USAGE
from tests.conftest import REFERENCE, requires_shared, write_return


def test_validate_passes_a_good_return(tmp_path, example_rows, capsys):
    path = write_return(tmp_path / "good.csv", example_rows)

    assert main(["--home", str(tmp_path / "h"), "validate", str(path)]) == 0
    assert "0 error(s)" in capsys.readouterr().out


def test_validate_json_lists_findings_and_exits_1_on_errors(tmp_path, example_rows, capsys):
    bad = write_return(tmp_path / "bad.csv", [dict(example_rows[0], cla_rate_per_10k="125")])
    missing = tmp_path / "nowhere.csv"

    status = main(["--home", str(tmp_path / "h"), "validate", str(bad), str(missing), "--json"])

    report = json.loads(capsys.readouterr().out)
    assert status == 1
    assert [f["file"] for f in report["files"]] == [str(bad)]
    errors = {(f["rule"], f["column"], f["row"]) for f in report["findings"] if f["severity"] == "error"}
    assert ("derived_inconsistent", "cla_rate_per_10k", 2) in errors
    assert any(f["rule"] == "file_unreadable" and f["file"] == str(missing) for f in report["findings"])
    inconsistent = next(f for f in report["findings"] if f["rule"] == "derived_inconsistent")
    assert inconsistent["message"] == "cla_rate_per_10k is 125 but 529 / 28,630 x 10,000 = 184.8"


def test_validate_uses_the_register_in_the_data_home(home, example_rows, capsys):
    path = write_return(home.root / "r.csv", [dict(example_rows[0], la_code="E06000999")])

    assert main(["--home", str(home.root), "validate", str(path)]) == 1
    assert "unknown_authority" in capsys.readouterr().out


def test_reference_import_rejects_unknown_layouts_in_one_line(tmp_path, capsys):
    odd = tmp_path / "odd.csv"
    odd.write_text("a,b\n1,2\n")

    assert main(["--home", str(tmp_path / "h"), "reference", "import", str(odd), "--quiet"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("odd.csv:")


def test_reference_import_of_official_files(tmp_path, capsys):
    requires_shared(REFERENCE)
    files = [str(REFERENCE / "la_register_2025.csv"), str(REFERENCE / "ons_population_0_17_2012_to_2024.csv")]

    assert main(["--home", str(tmp_path / "h"), "reference", "import", *files]) == 0
    out = capsys.readouterr().out
    assert "register: 153 authorities" in out and "populations:" in out


def _cold_validate_imports_none_of(tmp_path, example_rows, modules: list[str]) -> None:
    """`csc-returns validate` of a one-row return, in a new process on a new home, succeeds
    without importing any of `modules` (what it must not pay for at start-up)."""
    path = write_return(tmp_path / "good.csv", example_rows[:1])
    probe = (
        "import sys; from pipelines.cli import main; status = main(['--home', sys.argv[2], 'validate', sys.argv[1]]);"
        f"sys.exit(10 + status if any(m in sys.modules for m in {modules!r}) else status)"
    )
    done = subprocess.run([sys.executable, "-c", probe, str(path), str(tmp_path / "h")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_cold_validate_does_not_import_great_expectations_or_dagster(tmp_path, example_rows):
    _cold_validate_imports_none_of(tmp_path, example_rows, ["great_expectations", "dagster"])


def test_a_steward_overrides_an_error_and_a_resubmission_with_new_figures_is_checked_afresh(home, example_rows, capsys):
    from pipelines.steps.monthly import archive_landing, validate_month

    october = [r for r in example_rows if r["period"] == "2024-10"]
    write_return(home.landing / "october.csv", [dict(october[0], cla_rate_per_10k="187"), october[1]])
    archive_landing(home)
    assert validate_month(home, "2024-10", engine="pandas").held_back == ["E06000009"]

    waive = [
        "--home",
        str(home.root),
        "waive",
        "--rule",
        "derived_inconsistent",
        "--la-code",
        "E06000009",
        "--month",
        "2024-10",
        "--column",
        "cla_rate_per_10k",
        "--who",
        "j.steward",
        "--reason",
        "rate rounded by the case system; board agreed",
    ]
    assert main(waive) == 0
    assert "waiver 1 recorded" in capsys.readouterr().out
    overridden = validate_month(home, "2024-10", engine="pandas")
    assert overridden.held_back == [] and overridden.findings["waived"].all()

    write_return(home.landing / "october-v2.csv", [dict(october[0], cla="540", cla_rate_per_10k="187")])
    archive_landing(home)
    resubmitted = validate_month(home, "2024-10", engine="pandas")
    assert resubmitted.held_back == ["E06000009"]  # different figures: the waiver does not carry over


def test_waiving_a_finding_that_does_not_exist_says_so_in_one_line(home, capsys):
    status = main(
        [
            "--home",
            str(home.root),
            "waive",
            "--rule",
            "stock_jump",
            "--la-code",
            "E06000009",
            "--month",
            "2024-10",
            "--column",
            "cla",
            "--reason",
            "x",
            "--who",
            "steward",
        ]
    )
    assert status == USAGE and capsys.readouterr().err.count("\n") == 1


def test_run_reports_months_it_cannot_process_instead_of_dropping_them(home, example_rows, capsys):
    write_return(home.landing / "future.csv", [dict(example_rows[0], period="2099-01")])

    assert main(["--home", str(home.root), "run"]) == 0
    out = capsys.readouterr().out
    assert "not processed: 2099-01 in future.csv is not a completed month" in out


def test_a_month_with_every_return_held_back_exits_1_not_run_failed(home, example_rows, capsys):
    """Every return of the month fails the rule book: nothing to publish is the data's verdict
    (FINDINGS), not a failed run (RUN_FAILED). SYNTHETIC referrals above contacts."""
    october = [
        dict(row, referrals=str(int(row["contacts"]) + 100)) for row in example_rows if row["period"] == "2024-10"
    ]
    write_return(home.landing / "october.csv", october)

    assert main(["--home", str(home.root), "run", "--quiet", "--json"]) == FINDINGS
    summary = json.loads(capsys.readouterr().out)
    assert summary["failed"] == [] and summary["held_back_entirely"] == ["2024-10"]
    assert {held["la_code"] for held in summary["held_back"]} == {row["la_code"] for row in october}
    assert summary["exit_code"] == FINDINGS and summary["published"] == []


def test_run_rejects_a_month_outside_the_partitions_in_one_line(home, capsys):
    assert main(["--home", str(home.root), "run", "--month", "2099-01"]) == USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("--month 2099-01: not a completed month")


def test_a_locked_warehouse_is_one_line_not_a_traceback(home, example_rows, capsys):
    import duckdb

    write_return(home.landing / "october.csv", example_rows)
    holder = duckdb.connect(str(home.warehouse))  # another process would hold the same lock
    try:
        status = subprocess.run(
            [sys.executable, "-m", "pipelines.cli", "--home", str(home.root), "run"], capture_output=True, text=True
        )
    finally:
        holder.close()
    assert status.returncode == LOCKED  # busy: try again later, as a held writer lock says
    assert status.stderr.count("\n") == 1 and "warehouse.duckdb" in status.stderr and "Traceback" not in status.stderr


def test_validate_on_a_home_without_a_warehouse_does_not_import_duckdb(tmp_path, example_rows):
    """DuckDB (and the store stage) is for reading history: a new home has none (cold start time);
    pandera's hypothesis extra is never used (schemas/lean_pandera.py)."""
    _cold_validate_imports_none_of(tmp_path, example_rows, ["duckdb", "hypothesis"])
