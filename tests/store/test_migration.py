"""A warehouse built before the catalogue gained an indicator migrates, and the next run publishes it."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipelines.demo import generate_rows
from pipelines.home import DataHome
from pipelines.home.environment import CATALOGUE as CATALOGUE_ENV
from pipelines.reference import import_demo_reference
from schemas.catalogue import CATALOGUE_PATH, all_columns
from tests.conftest import REPO, write_return

CLI = Path(sys.executable).with_name("csc-returns")
NEW = "placement_moves"  # a SYNTHETIC new indicator: a monthly count
NEW_ROW = f"{NEW},Placement moves of children looked after,count,flow,,,,,,,low,no,0,10000000\n"


def _run(home: DataHome, dagster_home: Path, catalogue: Path | None) -> subprocess.CompletedProcess:
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home)}
    env.pop(CATALOGUE_ENV, None)
    if catalogue:
        env[CATALOGUE_ENV] = str(catalogue)
    return subprocess.run(
        [str(CLI), "--home", str(home.root), "run"], capture_output=True, text=True, env=env, cwd=REPO, timeout=600
    )


def _columns(home: DataHome, table: str) -> list[str]:
    with duckdb.connect(str(home.warehouse), read_only=True) as connection:
        return [
            name
            for (name,) in connection.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
                [table],
            ).fetchall()
        ]


@pytest.mark.slow
def test_a_new_indicator_migrates_an_existing_warehouse_and_is_published(tmp_path):
    home = DataHome(tmp_path / "home").ensure()
    import_demo_reference(home)
    dagster_home = tmp_path / "dagster"
    dagster_home.mkdir()
    rows = generate_rows()
    may = [r for r in rows if r["period"] == "2024-05"]
    write_return(home.landing / "SYNTHETIC-2024-05.csv", may)

    first = _run(home, dagster_home, catalogue=None)
    assert first.returncode == 0, first.stderr
    assert NEW not in _columns(home, "returns") and NEW not in _columns(home, "indicator_values")

    catalogue = tmp_path / "indicators.csv"
    catalogue.write_text(CATALOGUE_PATH.read_text(encoding="utf-8") + NEW_ROW, encoding="utf-8")
    june = [dict(r, **{NEW: 20 + i}) for i, r in enumerate(r for r in rows if r["period"] == "2024-06")]
    write_return(home.landing / "SYNTHETIC-2024-06.csv", june, [*all_columns(), NEW])

    second = _run(home, dagster_home, catalogue)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "Traceback" not in second.stderr
    for table in ("returns", "indicator_values"):
        assert _columns(home, table)[-1] == NEW
    with duckdb.connect(str(home.warehouse), read_only=True) as connection:
        stored = dict(
            connection.execute(f"SELECT la_code, {NEW} FROM indicator_values WHERE period = '2024-06'").fetchall()
        )
        before = connection.execute(
            f"SELECT count(*), count({NEW}) FROM indicator_values WHERE period = '2024-05'"
        ).fetchone()
        changes = connection.execute('SELECT "table", "column" FROM schema_changes ORDER BY 1').fetchall()
    assert stored == {r["la_code"]: float(r[NEW]) for r in june}
    assert before == (len(may), 0)  # the month stored before keeps its figures; the new one is unknown there
    assert changes == [("indicator_values", NEW), ("returns", NEW)]

    published = {}
    for path in home.publish.rglob("*.csv"):
        if path.name.endswith(".meta.csv") or "releases" in path.parts:
            continue
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                if row.get("geographic_level") == "Local authority" and row.get("time_identifier") == "June":
                    published[row["new_la_code"]] = row.get(NEW)
    assert published == {r["la_code"]: str(r[NEW]) for r in june}
    meta = "".join(p.read_text(encoding="utf-8") for p in home.publish.rglob("*.meta.csv"))
    assert NEW in meta

    third = _run(home, dagster_home, catalogue)  # migrating again changes nothing
    assert third.returncode == 0, third.stderr
    with duckdb.connect(str(home.warehouse), read_only=True) as connection:
        assert connection.execute("SELECT count(*) FROM schema_changes").fetchone()[0] == 2
