"""Benchmarks kept up to date month by month are the benchmarks built whole, whatever changes between
runs: a resubmitted figure, a return no longer accepted, a month withdrawn or restored, the reference or
the threshold changed. SYNTHETIC figures through a real DuckDB warehouse."""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.demo import generate_rows
from pipelines.home import DataHome
from pipelines.reference import NEIGHBOURS_FILE, load_reference
from pipelines.scorecard.benchmarks import BENCHMARK_COLUMNS, BENCHMARKS_FILE, build_benchmarks
from pipelines.steps.monthly import refresh_benchmarks
from pipelines.store.benchmarks import export_benchmarks
from pipelines.store.month import accepted_history
from pipelines.store.warehouse import connect, replace_rows, replace_table, transaction
from schemas.catalogue import numeric_columns
from tests.conftest import import_demo_reference

ROWS = pd.DataFrame(generate_rows(months=6))  # SYNTHETIC: five demo authorities, six months
MONTHS = sorted(ROWS["period"].unique())
AUTHORITIES = sorted(ROWS["la_code"].unique())


def _accepted(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows as `indicator_values` holds them."""
    frame = rows[["la_code", "period", *numeric_columns()]].copy()
    frame.insert(2, "period_start", pd.to_datetime(frame["period"] + "-01").dt.date)
    frame.insert(3, "sha256", "SYNTHETIC")
    return frame


def _store_month(home: DataHome, month: str, rows: pd.DataFrame) -> None:
    with connect(home) as connection, transaction(connection):
        replace_rows(connection, "indicator_values", _accepted(rows), "period = ?", [month])


def _built_whole(home: DataHome, min_authorities: int, folder: Path) -> bytes:
    """The CSV of every accepted month's benchmarks built in one go, as the first run builds them."""
    reference = load_reference(home)
    with connect(home) as connection:
        history = accepted_history(connection)
    table = build_benchmarks(history, reference.register, reference.neighbours, reference.annual, min_authorities)
    with duckdb.connect() as memory:
        replace_table(memory, "benchmarks", table)
        return export_benchmarks(memory, BENCHMARK_COLUMNS, folder / BENCHMARKS_FILE).read_bytes()


def _new_home(root: Path) -> DataHome:
    home = DataHome(root / "home").ensure()
    import_demo_reference(home)
    with connect(home) as connection, transaction(connection):
        replace_rows(connection, "indicator_values", _accepted(ROWS), "true", [])
    return home


CHANGES = st.one_of(
    st.tuples(st.just("resubmit"), st.sampled_from(MONTHS), st.sampled_from(AUTHORITIES), st.integers(1, 400)),
    st.tuples(st.just("held back"), st.sampled_from(MONTHS), st.sampled_from(AUTHORITIES)),
    st.tuples(st.just("withdrawn"), st.sampled_from(MONTHS)),
    st.tuples(st.just("restored"), st.sampled_from(MONTHS)),
    st.tuples(st.just("threshold"), st.integers(1, 25)),
    st.tuples(st.just("neighbours"), st.integers(1, 30)),
    st.tuples(
        st.just("nothing"),
    ),
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(changes=st.lists(CHANGES, min_size=1, max_size=4))
def test_benchmarks_brought_up_to_date_equal_benchmarks_built_whole(changes):
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        home = _new_home(root)
        min_authorities = 20
        refresh_benchmarks(home, MONTHS[-1], min_authorities)
        for change in changes:
            kind = change[0]
            with connect(home) as connection:
                current = connection.execute("SELECT * FROM indicator_values").df()
            if kind == "resubmit":
                month, la_code, cla = change[1:]
                rows = current[current["period"] == month].copy()
                rows.loc[rows["la_code"] == la_code, "cla"] = cla
                _store_month(home, month, rows)
            elif kind == "held back":
                month, la_code = change[1:]
                rows = current[(current["period"] == month) & (current["la_code"] != la_code)]
                _store_month(home, month, rows)
            elif kind == "withdrawn":
                _store_month(home, change[1], current.iloc[0:0])
            elif kind == "restored":
                _store_month(home, change[1], ROWS[ROWS["period"] == change[1]])
            elif kind == "threshold":
                min_authorities = change[1]
            elif kind == "neighbours":  # the reference re-imported with some pairs fewer
                path = home.reference / NEIGHBOURS_FILE
                lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
                path.write_text("".join(lines[: max(1, len(lines) - change[1])]), encoding="utf-8")
            shown, rows_in_all, path = refresh_benchmarks(home, MONTHS[-1], min_authorities)
            expected = _built_whole(home, min_authorities, root)
            assert path.read_bytes() == expected, f"after {changes}"
            assert rows_in_all == expected.count(b"\n") - 1
            assert set(shown["period"]) <= {MONTHS[-1]}


def test_a_month_whose_figures_did_not_change_is_not_built_again(home):
    for month in MONTHS[:3]:
        _store_month(home, month, ROWS[ROWS["period"] == month])
    refresh_benchmarks(home, MONTHS[2])
    # A mark on the first month's stored rows: only building that month again would remove it.
    with connect(home) as connection:
        connection.execute("UPDATE benchmarks SET band = 'MARK' WHERE period = ?", [MONTHS[0]])
    resubmitted = ROWS[ROWS["period"] == MONTHS[1]].copy()
    resubmitted.loc[resubmitted.index[0], "cla"] += 7
    _store_month(home, MONTHS[1], resubmitted)
    shown, _, path = refresh_benchmarks(home, MONTHS[1])
    written = pd.read_csv(path, dtype={"period": str})
    assert (written.loc[written["period"] == MONTHS[0], "band"] == "MARK").all()
    assert "MARK" not in set(written.loc[written["period"] != MONTHS[0], "band"])
    cla = shown[(shown["indicator"] == "cla_rate_per_10k") & (shown["la_code"] == resubmitted.iloc[0]["la_code"])]
    population = resubmitted.iloc[0]["population_0_17"]
    assert cla["value"].iloc[0] == round(resubmitted.iloc[0]["cla"] / population * 10_000, 1)
    # the reference re-imported: every month is built again, the mark gone
    neighbours = home.reference / NEIGHBOURS_FILE
    neighbours.write_text(neighbours.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    _, _, path = refresh_benchmarks(home, MONTHS[1])
    assert "MARK" not in path.read_text(encoding="utf-8")


def test_a_home_from_before_benchmark_inputs_is_built_whole_once(home, tmp_path):
    """A warehouse with a `benchmarks` table and no record of what it was built from (every home before
    this): everything is built again, then kept up to date."""
    for month in MONTHS[:2]:
        _store_month(home, month, ROWS[ROWS["period"] == month])
    stale = pd.DataFrame({"la_code": ["E06000009"], "period": [MONTHS[0]], "indicator": ["cla_rate_per_10k"]})
    with connect(home) as connection, transaction(connection):
        replace_table(connection, "benchmarks", stale.reindex(columns=BENCHMARK_COLUMNS))
    _, rows, path = refresh_benchmarks(home, MONTHS[1])
    assert path.read_bytes() == _built_whole(home, 20, tmp_path) and rows > 1
