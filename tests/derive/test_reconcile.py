"""A typed return against the return derived from child-level records: each count that differs is a
finding naming the figure, both values and the list; within the tolerance a warning."""

from __future__ import annotations

import csv
import json

import pandas as pd

from pipelines.cli import main
from pipelines.demo.annex_a_synthetic import synthetic_annex_a, workbook_bytes
from pipelines.derive.reconcile import Tolerance, reconcile


def _derived(**figures) -> pd.DataFrame:
    return pd.DataFrame([{"la_code": "E06000009", "period": "2017-12", "extract_date": "2018-01-31", **figures}])


def _typed(**figures) -> pd.DataFrame:
    return pd.DataFrame([{"la_code": "E06000009", "period": "2017-12", "file": "return.csv", "row": 2, **figures}])


def test_a_count_that_differs_is_an_error_naming_the_figure_both_values_and_the_list():
    [finding] = reconcile(_typed(cla=537, contacts=900), _derived(cla=535, contacts=900))
    assert finding.severity == "error" and finding.rule == "child_level_reconciliation"
    assert (
        finding.message
        == "cla is 537 but list 8 gives 535 children looked after at 31 December 2017 (extract of 2018-01-31)"
    )
    assert (finding.la_code, finding.period, finding.column, finding.value, finding.expected) == (
        "E06000009",
        "2017-12",
        "cla",
        "537",
        "535",
    )
    assert (finding.file, finding.row) == ("return.csv", 2)


def test_within_the_tolerance_a_warning_and_blanks_are_not_compared():
    tolerances = {"contacts": Tolerance(absolute=5), "cin": Tolerance(relative=0.01)}
    findings = reconcile(
        _typed(contacts=904, cin=1011, referrals=None, cp_plans=40),
        _derived(contacts=900, cin=1000, referrals=70, cp_plans=None),
        tolerances,
    )
    assert [(f.column, f.severity) for f in findings] == [("contacts", "warning"), ("cin", "error")]
    assert "within the tolerance" in findings[0].message
    assert "lists 6, 7 and 8 gives 1000 children in need at 31 December 2017" in findings[1].message
    assert reconcile(_typed(cin=1000), _derived(cin=1000)) == []
    assert reconcile(_typed(cin=1000).assign(la_code="E06000006"), _derived(cin=999)) == []


def test_validate_given_a_typed_return_and_the_workbook_reconciles_them(tmp_path, capsys):
    synthetic = synthetic_annex_a(31, children=120)
    workbook = tmp_path / synthetic.file_name
    workbook.write_bytes(workbook_bytes(synthetic))
    december = synthetic.truth["2023-12"]
    typed = {"la_code": synthetic.la_code, "period": "2023-12", "population_0_17": 30000, **december}
    typed["cla"] = december["cla"] + 2  # typed from the wrong report
    path = tmp_path / "return.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(typed))
        writer.writeheader()
        writer.writerow({k: "" if v is None else v for k, v in typed.items()})
    main(["--home", str(tmp_path / "h"), "validate", str(path), str(workbook), "--json"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    reconciled = [f for f in findings if f["rule"] == "child_level_reconciliation"]
    assert [(f["column"], f["value"], f["expected"], f["severity"]) for f in reconciled] == [
        ("cla", str(december["cla"] + 2), str(december["cla"]), "error")
    ]
    assert reconciled[0]["message"].startswith(
        f"cla is {december['cla'] + 2} but list 8 gives {december['cla']} children looked after at 31 December 2023"
    )
