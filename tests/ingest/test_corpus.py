"""The corpus of messy and hostile files (tests/ingest/corpus/, made by make_corpus.py): each file's
exact verdict from `csc-returns validate` and every finding it must produce, in one table."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pipelines.cli import main
from pipelines.exit_codes import FINDINGS, OK
from pipelines.ingest.readers import UNREADABLE_RULES

CORPUS = Path(__file__).with_name("corpus")
ACCEPTED, HELD_BACK, REFUSED = "accepted", "held back", "refused"

# file -> (verdict, [(rule, severity, row, cell, column)], words the first finding's message must hold)
CASES = {
    "standard.csv": (ACCEPTED, [], ""),
    "excel-utf8-bom-crlf.csv": (ACCEPTED, [], ""),
    "excel-windows-1252-title-row.csv": (ACCEPTED, [("encoding_guessed", "warning", None, None, None)], "Windows-1252"),
    "excel-unicode-text-utf16.csv": (ACCEPTED, [], ""),
    "trailing-empty-columns-and-rows.csv": (ACCEPTED, [], ""),
    "quoted-thousands.csv": (ACCEPTED, [], ""),
    "title-rows.xlsx": (ACCEPTED, [], ""),
    "notes-sheet-first.xlsx": (ACCEPTED, [], ""),
    "date-period-and-percent-format.xlsx": (ACCEPTED, [], ""),
    "wide-dashboard.csv": (ACCEPTED, [("wide_column_ignored", "warning", None, "D3", None)], "'Target' is not a month"),
    "wide-dashboard.xlsx": (ACCEPTED, [("wide_column_ignored", "warning", None, "Dashboard!D3", None)], "'Target'"),
    "formula-without-value.xlsx": (
        HELD_BACK,
        [("formula_without_value", "error", 3, "return!AH3", "cla_rate_per_10k")],
        "'=W3/D3*10000' saved without its value",
    ),
    "symbols.csv": (HELD_BACK, [("invalid_value", "error", 3, None, "cla")], "'N/A' is not allowed"),
    "ragged-row.csv": (
        HELD_BACK,
        [
            ("ragged_row", "error", 3, None, None),
            ("mandatory_missing", "error", 3, None, "cin"),
            ("mandatory_missing", "error", 3, None, "cp_plans"),
            ("mandatory_missing", "error", 3, None, "cla"),
        ],
        "row has 5 cells but the header has 34",
    ),
    "header-only.csv": (HELD_BACK, [("no_data_rows", "error", 1, None, None)], "no returns under it"),
    "empty.csv": (REFUSED, [("file_unreadable", "error", None, None, None)], "empty"),
    "binary.csv": (REFUSED, [("file_unreadable", "error", None, None, None)], "NUL bytes"),
    "utf16-without-bom.csv": (
        REFUSED,
        [("file_unreadable", "error", None, None, None)],
        "UTF-16 without a byte-order mark",
    ),
    "notes.txt": (REFUSED, [("file_unreadable", "error", None, None, None)], "send CSV or XLSX"),
    "broken.xlsx": (REFUSED, [("file_unreadable", "error", None, None, None)], "not a zip file"),
    "cell-too-long.csv": (
        REFUSED,
        [("limit_exceeded", "error", None, None, None)],
        "row 2, column 34 holds 2,000 characters",
    ),
    "too-many-columns.csv": (REFUSED, [("limit_exceeded", "error", None, None, None)], "more than 500 cells"),
    "zip-bomb-small.xlsx": (REFUSED, [("limit_exceeded", "error", None, None, None)], "inflate to 120.0 MB"),
}


def test_every_corpus_file_has_a_case():
    assert sorted(p.name for p in CORPUS.iterdir()) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_corpus_verdict_and_findings(name, home, capsys):
    verdict, expected, words = CASES[name]
    landed = home.landing / name
    shutil.copyfile(CORPUS / name, landed)  # the name a steward would see

    status = main(["--home", str(home.root), "validate", "--json", str(landed)])

    report = json.loads(capsys.readouterr().out)
    findings = report["findings"]
    assert [(f["rule"], f["severity"], f["row"], f["cell"], f["column"]) for f in findings] == expected
    assert all(f["file"] == name and "\n" not in f["message"] for f in findings)
    if words:
        assert words in findings[0]["message"]
    refused = any(f["rule"] in UNREADABLE_RULES for f in findings)
    held_back = any(f["severity"] == "error" for f in findings)
    assert (REFUSED if refused else HELD_BACK if held_back else ACCEPTED) == verdict
    assert status == (FINDINGS if held_back else OK)
    if verdict != REFUSED:
        assert report["files"] == [{"file": str(landed), "rows": 2 if "header-only" not in name else 0}]
