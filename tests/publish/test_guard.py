"""The publication guard: only the current accepted returns, with no unwaived error, may be published."""
from __future__ import annotations

from pipelines.steps import archive_landing, validate_month
from pipelines.store.month import store_accepted
from tests.conftest import write_return


def test_figures_that_are_not_the_current_accepted_return_block_publication(home, example_rows):
    from pipelines.publish.guard import publication_blockers

    october = [r for r in example_rows if r["period"] == "2024-10"]
    write_return(home.landing / "v1.csv", october)
    archive_landing(home)
    validate_month(home, "2024-10", engine="pandas")
    store_accepted(home, "2024-10")
    assert publication_blockers(home, "2024-10").empty

    write_return(home.landing / "v2.csv", [dict(october[0], cla="530", cla_rate_per_10k="185.1")])
    archive_landing(home)
    validate_month(home, "2024-10", engine="pandas")  # validated again, accepted figures not stored yet

    stale = publication_blockers(home, "2024-10")
    assert list(stale["rule"]) == ["stale_indicator_values"] and list(stale["la_code"]) == ["E06000009"]
    store_accepted(home, "2024-10")
    assert publication_blockers(home, "2024-10").empty
