"""Generated documentation and calibrated bands stay in step with the code and the data."""

from __future__ import annotations

import importlib
import json
import math
import subprocess
import sys

import pandas as pd
from conftest import REPO

from pipelines.validate.lazy_imports import defer_import
from pipelines.validate.rules_page import render
from schemas.calibrate_bands import BANDS_PATH, bands_csv, calibrate
from schemas.catalogue import indicators_by_column
from schemas.rules import RULES


def test_docs_rules_md_is_up_to_date():
    committed = (REPO / "docs" / "rules.md").read_text(encoding="utf-8")
    assert committed == render(), "regenerate: python -m pipelines.validate.rules_page > docs/rules.md"


def test_every_rule_and_band_is_documented():
    page = render()
    for rule_id in RULES:
        assert f"`{rule_id}`" in page
    for column in pd.read_csv(BANDS_PATH)["column"]:
        assert f"`{column}`" in page


def test_committed_bands_are_what_calibration_on_the_reference_gives(real_reference_folder):
    assert BANDS_PATH.read_text(encoding="utf-8") == bands_csv(calibrate(real_reference_folder)), (
        "recalibrate: python -m schemas.calibrate_bands"
    )


def test_bands_admit_every_published_value_and_reject_unit_mistakes(real_reference_folder):
    from schemas.calibrate_bands import SOURCES, published_values

    bands = pd.read_csv(BANDS_PATH).set_index("column")
    assert list(bands.columns) == ["low", "high", "basis", "source", "method"]
    for source in SOURCES:
        low, high = bands.loc[source.column, ["low", "high"]]
        values = published_values(real_reference_folder, source.lait_indicator)
        assert values.between(low, high).all(), source.column
        if indicators_by_column()[source.column].unit == "rate_per_10k":
            # a rate per 100,000 from a typical authority lands outside the band
            assert values.median() * 10 > high, source.column


def test_fast_validation_does_not_import_great_expectations(tmp_path):
    """The command line's path: read and validate a return without GX (it costs seconds to import)."""
    script = f"""
import json, sys
from pathlib import Path
from pipelines.ingest.readers import read_return
from pipelines.validate.rulebook import validate_rows
path = Path({str(tmp_path / "one.csv")!r})
path.write_text("la_code,period,population_0_17,cin,cp_plans,cla,cla_rate_per_10k\\nE06000009,2024-11,28630,1748,247,529,184.8\\n")
parsed = read_return(path)
findings = validate_rows(parsed.values, parsed.text)
print(json.dumps({{"findings": len(findings), "gx": "great_expectations" in sys.modules}}))
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, check=True)
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome == {"findings": 0, "gx": False}


def test_expectations_module_imports_without_great_expectations():
    script = (
        "import sys, pipelines.validate.engines.gx_engine, pipelines.validate.rules_page; "
        "print('great_expectations' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, check=True)
    assert result.stdout.strip() == "False"


def test_great_expectations_loads_without_scipy_stats_until_something_uses_it():
    """GX imports scipy.stats for an expectation the rule book never runs: it stays unloaded (0.85 s of
    GX's import), and still loads in full the moment anything uses it."""
    script = """
import json, math, sys
import pipelines.validate.gx_docs, great_expectations
before = "scipy.stats._stats_py" in sys.modules
from scipy import stats
divergence = float(stats.entropy([0.5, 0.5], [0.9, 0.1]))
print(json.dumps({"loaded_before_use": before, "loaded_after_use": "scipy.stats._stats_py" in sys.modules,
                  "divergence": divergence, "expected": 0.5 * math.log(0.5 / 0.9) + 0.5 * math.log(0.5 / 0.1)}))
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, check=True)
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["loaded_before_use"] is False and outcome["loaded_after_use"] is True
    assert math.isclose(outcome["divergence"], outcome["expected"], rel_tol=1e-12)


def test_deferring_a_loaded_or_unknown_module_changes_nothing():
    loaded = importlib.import_module("scipy.sparse")
    defer_import("scipy.sparse")
    defer_import("scipy.no_such_module_here")
    defer_import("no_such_package_here.module")
    assert sys.modules["scipy.sparse"] is loaded and "scipy.no_such_module_here" not in sys.modules
    assert "no_such_package_here.module" not in sys.modules
