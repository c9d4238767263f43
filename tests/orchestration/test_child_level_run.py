"""A real Dagster run over a month covered by a SYNTHETIC Annex A workbook in the landing folder:
the derived return is validated, stored and published by the existing assets, and no SYNTHETIC
ID, date of birth or staff name reaches the warehouse, the lake, the reports, the release or
Dagster's own storage (its event log decoded from SQLite)."""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest
from orchestration_support import run_config

from pipelines.demo.annex_a_synthetic import synthetic_annex_a, workbook_bytes
from pipelines.home import DataHome
from pipelines.reference import import_demo_reference
from pipelines.steps.child_level import explain_differences
from tests.identifying_search import found, identifying_values, stored_text

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("dagster")]
MONTH = "2023-12"


def test_a_month_derived_from_a_workbook_is_materialised_and_nothing_identifying_is_kept(tmp_path):
    from pipelines.orchestration.definitions import defs

    home = DataHome(tmp_path / "home").ensure()
    import_demo_reference(home)
    synthetic = synthetic_annex_a(51, children=250)
    (home.landing / synthetic.file_name).write_bytes(workbook_bytes(synthetic, messy=True, seed=51))
    job = defs.resolve_job_def("monthly_release")
    (tmp_path / "dagster").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster")) as instance:
        result = job.execute_in_process(partition_key=MONTH, instance=instance, run_config=run_config(home))
        assert result.success
        for asset in ("received_returns", "derived_months", "indicator_values", "open_data_release"):
            assert MONTH in instance.get_materialized_partitions(dg.AssetKey(asset)), asset
        derived = instance.get_latest_materialization_event(dg.AssetKey("derived_months"))
        assert derived is not None and derived.asset_materialization is not None
        metadata = derived.asset_materialization.metadata
        assert metadata["derived_returns"].value == 1 and metadata["current"].value == 1
        assert synthetic.file_name in metadata["workbooks"].value
    with duckdb.connect(str(home.warehouse), read_only=True) as connection:
        [(cla, status)] = connection.execute(
            "select v.cla, r.status from indicator_values v join returns r using (la_code, period) where period = ?",
            [MONTH],
        ).fetchall()
    assert (cla, status) == (synthetic.truth[MONTH]["cla"], "accepted")

    ids, others = identifying_values(synthetic.lists)
    everything = stored_text(home.root, tmp_path / "dagster")
    assert "received_returns" in everything and "E06000009" in everything  # the search reads what is stored
    assert found(ids, others, everything) == []


def test_a_typed_return_differing_from_its_records_fails_the_reconciliation_check_and_is_held_back(tmp_path):
    from pipelines.orchestration.definitions import defs
    from tests.conftest import write_return

    home = DataHome(tmp_path / "home").ensure()
    import_demo_reference(home)
    synthetic = synthetic_annex_a(51, children=250)
    typed = {k: ("" if v is None else v) for k, v in synthetic.truth[MONTH].items()}
    typed.update(la_code="E06000009", la_name="Blackpool", period=MONTH, population_0_17=28630)
    typed["cla"] = synthetic.truth[MONTH]["cla"] + 3
    write_return(home.landing / "typed.csv", [typed])
    (home.landing / synthetic.file_name).write_bytes(workbook_bytes(synthetic))
    job = defs.resolve_job_def("monthly_release")
    (tmp_path / "dagster").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster")) as instance:
        job.execute_in_process(
            partition_key=MONTH, instance=instance, run_config=run_config(home), raise_on_error=False
        )
        key = dg.AssetCheckKey(dg.AssetKey("derived_months"), "reconciliation_rules")
        [record] = instance.event_log_storage.get_asset_check_execution_history(key, limit=10)
        evaluation = record.event.dagster_event.event_specific_data
        assert MONTH in instance.get_materialized_partitions(dg.AssetKey("derived_months"))
    assert record.status.value == "FAILED" and evaluation.partition == MONTH
    assert evaluation.metadata["errors"].value == 1
    assert evaluation.metadata["authorities_affected"].value == "E06000009"
    # The pseudonymous children counted in the derived figure, as `findings --explain` lists them.
    [behind] = evaluation.metadata["children_behind_differences"].value
    cla = synthetic.truth[MONTH]["cla"]
    assert (behind["la_code"], behind["figure"], behind["typed"], behind["derived"]) == (
        "E06000009",
        "cla",
        str(cla + 3),
        str(cla),
    )
    [explained] = explain_differences(home, MONTH)
    assert behind["children"] == [f"{child['pseudonym']} (list 8)" for child in explained["children"]]
    assert len(behind["children"]) == cla
    with duckdb.connect(str(home.warehouse), read_only=True) as connection:
        [(status,)] = connection.execute("select status from returns where period = ?", [MONTH]).fetchall()
    assert status == "held_back"
