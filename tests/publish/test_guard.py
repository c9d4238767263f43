"""The publication guard: only the current accepted returns, with no unwaived error, may be published."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.steps.monthly import archive_landing, validate_month
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
    assert str(refused.value) == (
        "2024-10: nothing published; 1 reason(s), first E06000009: "
        "the stored figures are not the current accepted return: run the whole month again"
    )
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
month_state = st.fixed_dictionaries(
    {
        "stored": st.tuples(*(maybe_sha for _ in AUTHORITIES)),
        "returned": st.tuples(*(st.tuples(maybe_sha, st.sampled_from(["accepted", "held_back"])) for _ in AUTHORITIES)),
        "findings": st.lists(
            st.tuples(
                st.sampled_from([*AUTHORITIES, None]),
                st.sampled_from(["error", "warning"]),
                st.sampled_from([True, False, None]),
                st.sampled_from(["2024-10", "2024-11"]),
            ),
            max_size=6,
        ),
    }
)


def _store_state(connection, month: str, state) -> None:
    for code, sha in zip(AUTHORITIES, state["stored"]):
        if sha:
            connection.execute(
                "INSERT INTO indicator_values (la_code, period, period_start, sha256) VALUES (?, ?, ?, ?)",
                [code, month, pd.Timestamp(f"{month}-01").date(), sha],
            )
    for n, (code, (sha, status)) in enumerate(zip(AUTHORITIES, state["returned"])):
        if sha:
            connection.execute(
                'INSERT INTO returns (la_code, period, sha256, file, "row", arrival, status, '
                "errors, warnings) VALUES (?, ?, ?, ?, ?, 1, ?, 0, 0)",
                [code, month, sha, f"{code}.csv", n + 2, status],
            )
    for n, (code, severity, waived, period) in enumerate(state["findings"]):
        connection.execute(
            'INSERT INTO findings (rule, severity, la_code, period, message, file, "row", waived) '
            "VALUES ('negative_count', ?, ?, ?, ?, 'x.csv', ?, ?)",
            [severity, code, period, f"finding {n} of {month}", n + 2, waived],
        )


def _rows(frame):
    return sorted(tuple(None if pd.isna(v) else v for v in row) for row in frame.itertuples(index=False))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(state=month_state)
def test_the_guard_in_pandas_gives_the_rows_the_sql_gave(home, state):
    from pipelines.publish.guard import month_blockers
    from pipelines.store.warehouse import connect

    month = "2024-10"
    with connect(home) as connection:
        for table in ("findings", "returns", "indicator_values"):
            connection.execute(f"DELETE FROM {table}")
        _store_state(connection, month, state)
        got = month_blockers(connection, month)
        expected = connection.execute(ORACLE, {"month": month}).df()

    assert _rows(got) == _rows(expected)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(october=month_state, november=month_state)
def test_the_guard_asked_for_several_months_at_once_gives_each_month_its_own_rows(home, october, november):
    """One read of each table for all the months, and each month's blockers are its own (SYNTHETIC)."""
    from pipelines.publish.guard import month_blockers_by_month
    from pipelines.store.warehouse import connect

    with connect(home) as connection:
        for table in ("findings", "returns", "indicator_values"):
            connection.execute(f"DELETE FROM {table}")
        _store_state(connection, "2024-10", october)
        _store_state(connection, "2024-11", november)
        got = month_blockers_by_month(connection, ["2024-10", "2024-11", "2024-12"])
        for month in ("2024-10", "2024-11", "2024-12"):
            assert _rows(got[month]) == _rows(connection.execute(ORACLE, {"month": month}).df()), month
    assert got["2024-12"].empty and list(got["2024-12"].columns) == list(got["2024-10"].columns)


# A release-only run (the release asset alone, as a steward materialises it in the UI) after the
# month was run whole: it must refuse when anything the month's validation read has changed since.
# Real Dagster materialisations on a test instance, a real warehouse, real published files.
def _dagster(home):
    import dagster as dg

    from pipelines.orchestration.definitions import defs
    from pipelines.orchestration.resources import pipeline_resources

    # The release writes: it holds the home's writer lock through warehouse_writer, as in the code location.
    resources = pipeline_resources(str(home.root))
    quiet = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
    run_config = {**quiet, "resources": {"data_home": {"config": {"path": str(home.root)}}}}

    def run_whole_month(instance, month: str):
        return defs.resolve_job_def("monthly_release").execute_in_process(
            partition_key=month, instance=instance, run_config=run_config, raise_on_error=False
        )

    def release_only(instance, month: str):
        from assets.release import open_data_release

        return dg.materialize(
            [open_data_release], partition_key=month, instance=instance, resources=resources, raise_on_error=False
        )

    return run_whole_month, release_only


def _failure(result) -> str:
    [failure] = [e for e in result.all_events if e.is_step_failure]
    return failure.event_specific_data.user_failure_data.description


@pytest.fixture
def instance():
    import dagster as dg

    with dg.instance_for_test() as test_instance:
        yield test_instance


def _published(home) -> dict[str, bytes]:
    return {
        p.relative_to(home.publish).as_posix(): p.read_bytes() for p in sorted(home.publish.rglob("*")) if p.is_file()
    }


@pytest.mark.xdist_group("dagster")
def test_a_release_only_run_refuses_after_a_new_arrival_for_the_month(home, example_rows, instance):
    run_whole_month, release_only = _dagster(home)
    october = [r for r in example_rows if r["period"] == "2024-10"]
    write_return(home.landing / "october.csv", october)
    assert run_whole_month(instance, "2024-10").success
    assert release_only(instance, "2024-10").success  # nothing changed: publishing again is allowed

    # A corrected October arrives and is archived by the next run of another month (every run archives
    # the landing folder), so October's stored verdict is about a file that is no longer the latest.
    write_return(home.landing / "october-resent.csv", [dict(october[0], cla="530", cla_rate_per_10k="185.1")])
    write_return(home.landing / "november.csv", [r for r in example_rows if r["period"] == "2024-11"])
    assert run_whole_month(instance, "2024-11").success
    published = _published(home)

    refused = release_only(instance, "2024-10")
    assert not refused.success
    message = _failure(refused)
    assert "\n" not in message
    assert message == (
        "2024-10: nothing published; 1 reason(s), first: validated before a change: a file arrived "
        "for 2024-10 after its validation (october-resent.csv): run the whole month again"
    )
    assert _published(home) == published

    assert run_whole_month(instance, "2024-10").success  # run whole again: validated, stored, published
    assert release_only(instance, "2024-10").success


@pytest.mark.xdist_group("dagster")
def test_a_release_only_run_refuses_after_a_waiver_is_granted_or_revoked(home, example_rows, instance):
    from pipelines.store.waivers import add_waiver, revoke_waiver
    from pipelines.store.warehouse import connect

    run_whole_month, release_only = _dagster(home)
    write_return(home.landing / "october.csv", [r for r in example_rows if r["period"] == "2024-10"])
    assert run_whole_month(instance, "2024-10").success
    before = _published(home)

    with connect(home) as connection:
        sha256 = connection.execute("SELECT sha256 FROM returns WHERE la_code = 'E06000009'").fetchone()[0]
        waiver = add_waiver(
            connection,
            rule="stock_jump",
            la_code="E06000009",
            period="2024-10",
            column="cla",
            value="537",
            sha256=sha256,
            reason="SYNTHETIC: a steward's waiver",
            who="steward",
        )
    refused = release_only(instance, "2024-10")
    assert not refused.success and _published(home) == before
    assert _failure(refused).endswith(
        f"first: validated before a change: waiver {waiver} granted after its validation: run the whole month again"
    )

    assert run_whole_month(instance, "2024-10").success  # validated with the waiver
    with connect(home) as connection:
        assert revoke_waiver(connection, waiver, who="steward", reason="granted in error")
    refused = release_only(instance, "2024-10")
    assert not refused.success
    assert _failure(refused).endswith(f"waiver {waiver} revoked after its validation: run the whole month again")


@pytest.mark.xdist_group("dagster")
def test_a_release_only_run_refuses_after_reference_data_is_re_imported_with_other_content(
    home, example_rows, instance, tmp_path
):
    from pipelines import demo
    from pipelines.reference import import_demo_reference, import_reference

    run_whole_month, release_only = _dagster(home)
    write_return(home.landing / "october.csv", [r for r in example_rows if r["period"] == "2024-10"])
    assert run_whole_month(instance, "2024-10").success

    import_demo_reference(home)  # the same files again: nothing the validation read has changed
    assert release_only(instance, "2024-10").success

    revised = pd.read_csv(demo.POPULATION, dtype=str)
    revised.loc[revised.index[-1], "population_estimate"] = str(int(revised["population_estimate"].iloc[-1]) + 1)
    revised.to_csv(tmp_path / "population-revised.csv", index=False)  # SYNTHETIC revision of one estimate
    import_reference(tmp_path / "population-revised.csv", home)

    refused = release_only(instance, "2024-10")
    assert not refused.success
    assert _failure(refused) == (
        "2024-10: nothing published; 1 reason(s), first: validated before a change: "
        "reference data re-imported after its validation (populations.csv): "
        "run the whole month again"
    )
    assert run_whole_month(instance, "2024-10").success
