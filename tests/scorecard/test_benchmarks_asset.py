"""The benchmarks asset through real Dagster materialisations and a real DuckDB file."""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pytest

from pipelines.demo import generate_rows
from pipelines.orchestration.definitions import defs
from pipelines.scorecard.benchmarks import BENCHMARK_COLUMNS, benchmarked_indicators
from pipelines.store.warehouse import connect
from tests.conftest import write_return

pytestmark = pytest.mark.xdist_group("dagster")
MONTHS = ("2024-04", "2024-05")


def _benchmarks_materialisation(result: dg.ExecuteInProcessResult) -> dg.AssetMaterialization:
    return next(
        m for m in result.get_asset_materialization_events() if m.asset_key == dg.AssetKey("benchmarks")
    ).materialization


def test_benchmarks_asset_writes_every_month_once_and_shows_the_boards_table(home, monkeypatch):
    monkeypatch.setenv("CSC_HOME", str(home.root))
    write_return(home.landing / "SYNTHETIC-april-may.csv", [r for r in generate_rows() if r["period"] in MONTHS])
    job = defs.resolve_job_def("monthly_release")
    with dg.instance_for_test() as instance:
        for month in MONTHS:
            result = job.execute_in_process(partition_key=month, instance=instance, raise_on_error=False)
            assert result.success
        shown = _benchmarks_materialisation(result).metadata["this_month"].value
        assert [c.name for c in shown.schema.columns] == BENCHMARK_COLUMNS
        # the board with targets is Blackpool's: its table for the month materialised
        assert {(r.data["la_code"], r.data["period"]) for r in shown.records} == {("E06000009", MONTHS[-1])}
        assert {r.data["indicator"] for r in shown.records} == {i.column for i in benchmarked_indicators()}
        # a blank is null, never the text of one; whole numbers stay whole
        bands = {r.data["band"] for r in shown.records}
        assert None in bands and bands <= {"A", "B", "C", "D", None}
        assert all(isinstance(r.data["quartile"], int) for r in shown.records)

        written = pd.read_csv(home.reports / "scorecard" / "benchmarks.csv", dtype={"period": str})
        assert written.columns.tolist() == BENCHMARK_COLUMNS
        assert (
            set(written["period"]) == set(MONTHS) and not written.duplicated(["la_code", "period", "indicator"]).any()
        )
        assert len(written) == 5 * len(MONTHS) * len(benchmarked_indicators())
        # five demo authorities are fewer than twenty: England and the North West from the demo's LAIT figures
        cla = written[written["indicator"] == "cla_rate_per_10k"]
        assert (cla["source"] == "LAIT 2022").all() and (cla["england"] == 70).all() and (cla["region"] == 97).all()
        assert (cla["neighbours_authorities"] == 4).all()
        page = (home.reports / "scorecard" / "scorecard.html").read_text(encoding="utf-8")
        assert 'class="england"' in page and 'class="neighbours"' in page

        before = (home.reports / "scorecard" / "benchmarks.csv").read_bytes()
        again = job.execute_in_process(partition_key=MONTHS[0], instance=instance, raise_on_error=False)
        assert again.success
        assert (home.reports / "scorecard" / "benchmarks.csv").read_bytes() == before  # re-running never duplicates
        with connect(home) as connection:
            assert connection.execute("SELECT count(*) FROM benchmarks").fetchone()[0] == len(written)

        # the threshold is the asset's config: five authorities are enough when a steward says so
        own = job.execute_in_process(
            partition_key=MONTHS[0],
            instance=instance,
            raise_on_error=False,
            run_config={"ops": {"benchmarks": {"config": {"min_authorities": 5}}}},
        )
        assert own.success
        rewritten = pd.read_csv(home.reports / "scorecard" / "benchmarks.csv", dtype={"period": str})
        assert (rewritten["source"] == "returns").all() and (rewritten["england_authorities"] == 5).all()
