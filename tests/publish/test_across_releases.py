"""The record of what each release disclosed: a release is named by what it disclosed, so recording it
again adds nothing, and a release published again unchanged does not open the warehouse to write."""

from __future__ import annotations

import hashlib

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.publish.release import publish_month
from pipelines.store.disclosed import DISCLOSED_COLUMNS, read_disclosed, release_name
from pipelines.store.warehouse import connect

from .synthetic import BLACKPOOL, HALTON, accept_returns

CELLS = st.tuples(
    st.sampled_from(["E06000009", "E06000006", "E12000002", "E92000001", "E06,quoted"]),
    st.sampled_from(["cla", "cla_started", "s47_enquiries", "population_0_17"]),
    st.integers(0, 10**7),
    st.booleans(),
)


def _named_by_pandas(figures: pd.DataFrame) -> str:
    """How a release was named before issue 18: pandas' CSV of its figures, by geography and indicator."""
    figures = figures[list(DISCLOSED_COLUMNS)].sort_values(["geography", "indicator"], ignore_index=True)
    return hashlib.sha256(figures.to_csv(index=False).encode()).hexdigest()


@settings(max_examples=200, deadline=None)
@given(st.lists(CELLS, max_size=30, unique_by=lambda cell: cell[:2]))
def test_a_release_keeps_the_name_it_had(cells):
    """SYNTHETIC figures: the names on the record stay what they were, so recording a release made
    before issue 18 again still adds nothing."""
    figures = pd.DataFrame(cells, columns=list(DISCLOSED_COLUMNS)).astype({"figure": "int64", "published": "bool"})
    assert release_name(figures) == _named_by_pandas(figures)


def test_a_release_published_again_unchanged_records_nothing_and_writes_no_warehouse(north_west_home):
    accept_returns(north_west_home, "2025-12", {BLACKPOOL: {"cla_started": 3}, HALTON: {}})
    publish_month(north_west_home, "2025-12")
    with connect(north_west_home, read_only=True) as connection:
        recorded = read_disclosed(connection, "2025-12")
    warehouse = north_west_home.warehouse.stat()

    publish_month(north_west_home, "2025-12")

    with connect(north_west_home, read_only=True) as connection:
        assert read_disclosed(connection, "2025-12").equals(recorded)
    assert north_west_home.warehouse.stat().st_mtime_ns == warehouse.st_mtime_ns
