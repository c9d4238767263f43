"""The command line as an analyst uses it: fast, precise, exit codes that scripts can trust."""
from __future__ import annotations

import json
import subprocess
import sys

from pipelines.cli import main
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

    assert main(["--home", str(tmp_path / "h"), "reference", "import", str(odd)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("odd.csv:")


def test_reference_import_of_official_files(tmp_path, capsys):
    requires_shared(REFERENCE)
    files = [str(REFERENCE / "la_register_2025.csv"), str(REFERENCE / "ons_population_0_17_2012_to_2024.csv")]

    assert main(["--home", str(tmp_path / "h"), "reference", "import", *files]) == 0
    out = capsys.readouterr().out
    assert "register: 153 authorities" in out and "populations:" in out


def test_cold_validate_does_not_import_great_expectations(tmp_path, example_rows):
    path = write_return(tmp_path / "good.csv", example_rows[:1])
    probe = ("import sys; from pipelines.cli import main; status = main(['--home', sys.argv[2], 'validate', sys.argv[1]]);"
             "sys.exit(10 + status if 'great_expectations' in sys.modules else status)")
    done = subprocess.run([sys.executable, "-c", probe, str(path), str(tmp_path / "h")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
