"""The layout holds: stage packages never import Dagster, validation cannot reach a database."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, write_return

PIPELINES = REPO / "pipelines"
STAGES = ("ingest", "validate", "store", "publish", "scorecard")
# Domain code beside the stages: the steps composing them, the data home, reference and demo data.
DOMAIN_MODULES = ("pipelines.steps", "pipelines.home", "pipelines.reference", "pipelines.demo")


def _run(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, cwd=REPO)


def test_the_top_of_pipelines_shows_the_stages_and_few_loose_modules():
    loose = sorted(p.name for p in PIPELINES.glob("*.py"))
    packages = {p.name for p in PIPELINES.iterdir() if (p / "__init__.py").exists()}
    assert len(loose) <= 8, loose
    assert set(STAGES) | {"orchestration"} <= packages


def test_domain_code_never_imports_dagster():
    script = f"""
import importlib, json, pkgutil, sys
names = list({DOMAIN_MODULES!r})
for stage in {STAGES!r}:
    package = importlib.import_module("pipelines." + stage)
    names += [m.name for m in pkgutil.walk_packages(package.__path__, package.__name__ + ".")]
for name in names:
    importlib.import_module(name)
print(json.dumps({{"modules": len(names), "dagster": sorted(m for m in sys.modules if m.split(".")[0] == "dagster")[:3]}}))
"""
    done = _run(script)
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome["modules"] > 20 and outcome["dagster"] == []


def test_a_month_is_validated_with_every_database_out_of_reach(home, example_rows, tmp_path):
    """check_month over real inputs in a process where importing DuckDB fails: it needs none."""
    october = [r for r in example_rows if r["period"] == "2024-10"]
    october[1] = dict(october[1], cla_rate_per_10k="1083.2")  # Halton: a rate per 100,000
    path = write_return(tmp_path / "october.csv", october)
    script = """
import json, sys
sys.modules["duckdb"] = None  # any attempt to open a warehouse raises ImportError
import pandas as pd
from pipelines.home import DataHome
from pipelines.ingest.readers import read_return
from pipelines.ingest.received import ReceivedFile, assemble_month
from pipelines.reference import load_reference
from pipelines.validate.month import MonthInputs, check_month
from pipelines.validate.waivers import WAIVER_KEY

received = assemble_month("2024-10", [ReceivedFile("a" * 64, "october.csv", 1, read_return(sys.argv[1]))])
waivers = pd.DataFrame(columns=[*WAIVER_KEY, "waiver_id", "reason", "created_at", "revoked_at"])
inputs = MonthInputs(received, pd.DataFrame(), load_reference(DataHome.resolve(sys.argv[2])), waivers)
result = check_month(inputs, engine="pandas")
errors = result.findings[result.findings["severity"] == "error"]
print(json.dumps({"accepted": result.accepted, "held_back": result.held_back,
                  "errors": sorted(zip(errors["la_code"], errors["rule"]))}))
"""
    done = _run(script, str(path), str(home.root))
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome == {"accepted": ["E06000009"], "held_back": ["E06000006"],
                       "errors": [["E06000006", "derived_inconsistent"]]}


def test_stage_packages_import_no_later_stage():
    """The data flows ingest -> validate -> store -> publish; a stage imports only earlier ones."""
    order = {stage: position for position, stage in enumerate(("ingest", "validate", "store", "publish"))}
    backwards = []
    for stage, position in order.items():
        for module in (PIPELINES / stage).rglob("*.py"):
            for line in Path(module).read_text(encoding="utf-8").splitlines():
                words = line.split()
                if len(words) >= 2 and words[0] in ("from", "import") and words[1].startswith("pipelines."):
                    target = words[1].split(".")[1]
                    if target in order and order[target] > position:
                        backwards.append(f"{module.relative_to(REPO)}: {line.strip()}")
    assert backwards == []
