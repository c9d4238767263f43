"""The publication guard: only the current accepted returns, with no unwaived error, may be published."""
from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


def _store_october(home, example_rows) -> list[dict]:
    """SYNTHETIC October returns received, validated and their accepted figures stored."""
    october = [r for r in example_rows if r["period"] == "2024-10"]
    write_return(home.landing / "v1.csv", october)
    archive_landing(home)
    validate_month(home, "2024-10", engine="pandas")
    store_accepted(home, "2024-10")
    return october


def test_publishing_refuses_what_the_guard_blocks_whatever_runs_it(home, example_rows):
    """A release-only run (no blocking check before it) still publishes nothing the guard blocks."""
    from pipelines.publish.release import PublishingError, publish_month

    october = _store_october(home, example_rows)
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


def test_an_unwaived_error_on_a_stored_figure_blocks_publication_and_a_waived_one_does_not(home, example_rows):
    from pipelines.publish.guard import publication_blockers
    from pipelines.store.warehouse import connect

    _store_october(home, example_rows)
    with connect(home) as connection:  # an error on a stored figure: a state validation never leaves
        connection.execute("""INSERT INTO findings (rule, severity, la_code, period, "column", message, waived)
                              VALUES ('stock_jump', 'error', 'E06000009', '2024-10', 'cla', 'cla moved', FALSE)""")
    blockers = publication_blockers(home, "2024-10")
    assert list(zip(blockers["la_code"], blockers["rule"])) == [("E06000009", "stock_jump")]

    with connect(home) as connection:
        connection.execute("UPDATE findings SET waived = TRUE WHERE rule = 'stock_jump'")
    assert publication_blockers(home, "2024-10").empty


# The guard once ran as one SQL query; it now runs in pandas over the stored tables. The SQL stays
# here as the oracle (it gave no order, so the comparison is of the rows, not their order).
ORACLE = """
    SELECT f.la_code, f.period, f."column", f.value, f.expected, f.message, f.rule, f.file, f."row", f.cell, f.waived
    FROM findings f JOIN indicator_values v ON f.la_code = v.la_code AND f.period = v.period
    WHERE f.period = $month AND f.severity = 'error' AND NOT coalesce(f.waived, FALSE)
    UNION ALL
    SELECT s.la_code, $month, NULL, NULL, NULL,
           'the stored figures are not the current accepted return: run the whole month again',
           'stale_indicator_values', r.file, r."row", NULL, FALSE
    FROM (SELECT la_code FROM (
            (SELECT la_code, sha256 FROM indicator_values WHERE period = $month
             EXCEPT SELECT la_code, sha256 FROM returns WHERE period = $month AND status = 'accepted')
            UNION
            (SELECT la_code, sha256 FROM returns WHERE period = $month AND status = 'accepted'
             EXCEPT SELECT la_code, sha256 FROM indicator_values WHERE period = $month))
          GROUP BY la_code) s
    LEFT JOIN returns r ON r.la_code = s.la_code AND r.period = $month"""
AUTHORITIES = ("E06000009", "E06000006", "E06000007")
maybe_sha = st.sampled_from([None, "a" * 64, "b" * 64])  # None: no row
month_state = st.fixed_dictionaries({
    "stored": st.tuples(*(maybe_sha for _ in AUTHORITIES)),
    "returned": st.tuples(*(st.tuples(maybe_sha, st.sampled_from(["accepted", "held_back"])) for _ in AUTHORITIES)),
    "findings": st.lists(st.tuples(st.sampled_from([*AUTHORITIES, None]), st.sampled_from(["error", "warning"]),
                                   st.sampled_from([True, False, None]), st.sampled_from(["2024-10", "2024-11"])),
                         max_size=6),
})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(state=month_state)
def test_the_guard_in_pandas_gives_the_rows_the_sql_gave(home, state):
    from pipelines.publish.guard import month_blockers
    from pipelines.store.warehouse import connect

    month = "2024-10"
    with connect(home) as connection:
        for table in ("findings", "returns", "indicator_values"):
            connection.execute(f"DELETE FROM {table}")
        for n, (code, sha) in enumerate(zip(AUTHORITIES, state["stored"])):
            if sha:
                connection.execute("INSERT INTO indicator_values (la_code, period, period_start, sha256) "
                                   "VALUES (?, ?, DATE '2024-10-01', ?)", [code, month, sha])
        for n, (code, (sha, status)) in enumerate(zip(AUTHORITIES, state["returned"])):
            if sha:
                connection.execute('INSERT INTO returns (la_code, period, sha256, file, "row", arrival, status, '
                                   "errors, warnings) VALUES (?, ?, ?, ?, ?, 1, ?, 0, 0)",
                                   [code, month, sha, f"{code}.csv", n + 2, status])
        for n, (code, severity, waived, period) in enumerate(state["findings"]):
            connection.execute('INSERT INTO findings (rule, severity, la_code, period, message, file, "row", waived) '
                               "VALUES ('negative_count', ?, ?, ?, ?, 'x.csv', ?, ?)",
                               [severity, code, period, f"finding {n}", n + 2, waived])
        got = month_blockers(connection, month)
        expected = connection.execute(ORACLE, {"month": month}).df()

    def rows(frame):
        return sorted(tuple(None if pd.isna(v) else v for v in row) for row in frame.itertuples(index=False))

    assert rows(got) == rows(expected)
