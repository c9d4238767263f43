"""The publication guard: only the current accepted returns, with no unwaived error, may be published."""
from __future__ import annotations

import pytest

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


def test_publishing_refuses_what_the_guard_blocks_whatever_runs_it(home, example_rows):
    """A release-only run (no blocking check before it) still publishes nothing the guard blocks."""
    from pipelines.publish.release import PublishingError, publish_month

    october = [r for r in example_rows if r["period"] == "2024-10"]
    write_return(home.landing / "v1.csv", october)
    archive_landing(home)
    validate_month(home, "2024-10", engine="pandas")
    store_accepted(home, "2024-10")
    write_return(home.landing / "v2.csv", [dict(october[0], cla="530", cla_rate_per_10k="185.1")])
    archive_landing(home)
    validate_month(home, "2024-10", engine="pandas")  # the stored figures are no longer current

    with pytest.raises(PublishingError) as refused:
        publish_month(home, "2024-10")
    assert str(refused.value) == ("2024-10: nothing published; 1 reason(s), first E06000009: "
                                  "the stored figures are not the current accepted return: run the whole month again")
    assert not home.publish.exists() or not any(home.publish.iterdir())

    store_accepted(home, "2024-10")
    assert publish_month(home, "2024-10").screen_passed
