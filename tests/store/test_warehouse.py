"""Storage: held-back returns stay out of the warehouse and the lake; storing again replaces."""

from __future__ import annotations

import pyarrow.parquet as pq

from pipelines.steps.monthly import archive_landing, validate_month
from pipelines.store.month import store_accepted
from pipelines.validate.month import HELD_BACK
from tests.conftest import warehouse_scalar, write_return


def test_errors_hold_a_return_back_and_the_rest_are_stored_in_duckdb_and_parquet(home, example_rows):
    rows = [r for r in example_rows if r["period"] == "2024-11"]
    rows[1] = dict(rows[1], cla_rate_per_10k="1083.2")  # Halton: a rate per 100,000
    write_return(home.landing / "november.csv", rows)
    archive_landing(home)

    result = validate_month(home, "2024-11", engine="pandas")
    stored = store_accepted(home, "2024-11")
    store_accepted(home, "2024-11")

    assert result.held_back == ["E06000006"] and result.accepted == ["E06000009"]
    assert warehouse_scalar(home, "SELECT status FROM returns WHERE la_code = 'E06000006'") == HELD_BACK
    assert list(stored["la_code"]) == ["E06000009"]
    assert warehouse_scalar(home, "SELECT count(*) FROM indicator_values") == 1
    lake = pq.read_table(home.lake / "indicator_values" / "period=2024-11" / "part-0.parquet").to_pandas()
    assert list(lake["la_code"]) == ["E06000009"]
    finding = result.findings.query("severity == 'error'").iloc[0]
    assert (finding["la_code"], finding["column"], finding["file"], finding["row"]) == (
        "E06000006",
        "cla_rate_per_10k",
        "november.csv",
        3,
    )
