"""The demo's outputs as recorded: the same returns in give the same files, findings and pages out.

`csc-returns demo` runs the whole pipeline on its SYNTHETIC returns; `bench/fingerprint.py` turns
the home into plain files (published files, warehouse tables, the text of every Data Docs page,
with the clock's values taken out), and their sha256 are compared with the record. A refactor
must leave them alone; after an intended change, review the difference and record it again:

    CSC_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/test_demo_outputs.py
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from bench.fingerprint import fingerprint
from pipelines.cli import main

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("dagster")]
RECORD = Path(__file__).with_name("snapshots") / "demo-outputs.json"


def _hashes(folder: Path) -> dict[str, str]:
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_the_demo_publishes_finds_and_reports_what_it_did_before(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("CSC_PUBLISH_BASE_URL", raising=False)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert main(["--home", str(tmp_path / "home"), "demo"]) == 0
    said = capsys.readouterr().out
    assert "held back 2 return(s)" in said  # the example's rate, and Blackpool's typed cla its records disagree with
    # The SYNTHETIC Annex A workbook: Blackpool's typed return differs from it in exactly one figure.
    assert "typed returns against child-level records: 1 difference(s) (child_level_reconciliation):" in said
    assert (
        "  2025-03 E06000009 (error): cla is 81 but list 8 gives 79 children looked after at 31 March 2025 "
        "(extract of 2025-03-31)"
    ) in said.splitlines()
    fingerprint(tmp_path / "home", tmp_path / "fingerprint")
    current = _hashes(tmp_path / "fingerprint")
    if os.environ.get("CSC_UPDATE_SNAPSHOTS"):
        RECORD.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    recorded = json.loads(RECORD.read_text(encoding="utf-8"))
    changed = sorted(name for name in recorded.keys() | current.keys() if recorded.get(name) != current.get(name))
    assert changed == [], (
        f"{len(changed)} output(s) of the demo changed, e.g. {changed[:8]}: compare with "
        "bench/fingerprint.py, then record again with CSC_UPDATE_SNAPSHOTS=1"
    )
