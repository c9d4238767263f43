"""A resubmission runs its month; the later months whose history rules read it are checked against it
and run again only where that changes their validation. Either way the warehouse and the published
files must end exactly as running every month from the resubmission on would leave them (SYNTHETIC
demo returns)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from orchestration_support import land, run_config, warehouse_tables

from pipelines.cli import main
from pipelines.exit_codes import FINDINGS, OK
from pipelines.home import DataHome
from pipelines.orchestration.runner import RunSummary, run_months
from pipelines.publish.ees import GEOGRAPHY_COLUMNS, TIME_COLUMNS
from pipelines.publish.files import release_file
from pipelines.reference import import_demo_reference
from pipelines.steps.monthly import months_validated_differently

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("dagster")]
MONTHS = [str(p) for p in pd.period_range("2023-04", "2025-03", freq="M")]
RESUBMITTED, AUTHORITY = "2024-02", "E06000009"  # Blackpool, whose rolling sums run through the year after
AFTER = MONTHS[MONTHS.index(RESUBMITTED) + 1 : MONTHS.index(RESUBMITTED) + 13]


@pytest.fixture(scope="module")
def history(tmp_path_factory, demo_files) -> Path:
    """A data home holding the 24 demo months, run once; each test works on a copy."""
    root = tmp_path_factory.mktemp("history") / "home"
    home = DataHome(root).ensure()
    import_demo_reference(home)
    for month in MONTHS:
        land(home, demo_files[month])
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("DAGSTER_HOME", raising=False)  # the instance inside the home: copied with it
        assert main(["--home", str(root), "run"]) in (OK, FINDINGS)
    return root


def _copy(history: Path, target: Path) -> DataHome:
    shutil.copytree(history, target, symlinks=True)
    return DataHome(target)


def _resubmission(demo_files, folder: Path, correct: Callable[[pd.DataFrame], None]) -> Path:
    rows = pd.read_csv(demo_files[RESUBMITTED], dtype=str)
    row = rows[rows["la_code"] == AUTHORITY].copy()
    correct(row)
    path = folder / f"SYNTHETIC-blackpool-{RESUBMITTED}-corrected.csv"
    row.to_csv(path, index=False)
    return path


def _published(home: DataHome) -> dict[str, bytes]:
    return {str(p.relative_to(home.publish)): p.read_bytes() for p in sorted(home.publish.rglob("*")) if p.is_file()}


def _narrowed_and_whole(history, demo_files, tmp_path, monkeypatch, correct) -> tuple[RunSummary, DataHome, DataHome]:
    """The resubmission run as `run` runs it (narrowed), and with every month from it on run again."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    resubmission = _resubmission(demo_files, tmp_path, correct)
    narrowed, whole = _copy(history, tmp_path / "narrowed"), _copy(history, tmp_path / "whole")
    land(narrowed, resubmission)
    land(whole, resubmission)
    summary = run_months(narrowed, None)
    run_months(whole, [month for month in MONTHS if month >= RESUBMITTED])
    return summary, narrowed, whole


def _assert_the_same(narrowed: DataHome, whole: DataHome) -> None:
    expected, actual = warehouse_tables(whole), warehouse_tables(narrowed)
    for name in expected:
        pd.testing.assert_frame_equal(actual[name], expected[name], obj=name)


def _months_whose_findings_differ(before: DataHome, after: DataHome) -> set[str]:
    old, new = (warehouse_tables(home)["findings"] for home in (before, after))
    differing = pd.concat([old, new]).drop_duplicates(keep=False)
    return set(differing["period"])


def _printed_figures(home: DataHome, month: str) -> pd.Series:
    """Every cell the month's release prints as a number, by its row's time and geography and its column."""
    frame = pd.read_csv(home.publish / release_file(month), dtype=str, keep_default_na=False)
    keys = [c for c in (*TIME_COLUMNS, *GEOGRAPHY_COLUMNS) if c in frame.columns]
    cells = frame.set_index(keys).stack()
    return cells[pd.to_numeric(cells.str.replace(",", ""), errors="coerce").notna()]


def test_a_correction_the_later_months_do_not_feel_runs_its_month_alone(history, demo_files, tmp_path, monkeypatch):
    def one_more_child_looked_after(row: pd.DataFrame) -> None:
        cla = int(row["cla"].iloc[0]) + 1
        row["cla"] = str(cla)
        row["cla_rate_per_10k"] = f"{cla / int(row['population_0_17'].iloc[0]) * 10_000:.1f}"

    summary, narrowed, whole = _narrowed_and_whole(
        history, demo_files, tmp_path, monkeypatch, one_more_child_looked_after
    )
    assert summary.failed == {}
    assert summary.months == [RESUBMITTED] and summary.published == [RESUBMITTED]
    assert summary.unchanged == AFTER
    _assert_the_same(narrowed, whole)
    assert _published(narrowed) == _published(whole)  # the months after it republished unchanged, byte for byte


def _a_hundred_more_contacts(row: pd.DataFrame) -> None:
    """In the month and in its own twelve-month sum, not in the sums typed in the months after it."""
    contacts = int(row["contacts"].iloc[0]) + 100
    row["contacts"] = str(contacts)
    row["contacts_12m"] = str(int(row["contacts_12m"].iloc[0]) + 100)
    row["contacts_to_referral_percent"] = f"{int(row['referrals'].iloc[0]) / contacts * 100:.1f}"


def test_a_correction_that_breaks_later_rolling_sums_runs_the_months_it_changes(
    history, demo_files, tmp_path, monkeypatch
):
    """A hundred more contacts in the month and in its own twelve-month sum, not in the sums typed in
    the months after it: a later month's rolling-sum rule now fails and holds it back, which changes
    the history of the months after that (checked in turn, past the first twelve)."""

    summary, narrowed, whole = _narrowed_and_whole(history, demo_files, tmp_path, monkeypatch, _a_hundred_more_contacts)
    assert summary.failed == {}
    _assert_the_same(narrowed, whole)
    # Exactly the months whose validation a run of everything after it changes are run, besides it.
    changed = _months_whose_findings_differ(DataHome(history), whole) - {RESUBMITTED}
    assert len(changed) >= 2
    assert summary.months == [RESUBMITTED, *sorted(changed)] and summary.published == summary.months
    assert {(month, AUTHORITY) for month in changed} <= {(h["month"], h["la_code"]) for h in summary.held_back}
    assert not set(summary.unchanged) & set(summary.months)
    # The month after the first twelve reads a month run again: checked in the second round.
    assert MONTHS[-1] not in AFTER and MONTHS[-1] in summary.unchanged + summary.months
    # Suppression may differ (the attacker's choices follow what was published when), the figures never.
    for month in MONTHS:
        left, right = _printed_figures(narrowed, month), _printed_figures(whole, month)
        both = left.index.intersection(right.index)
        assert len(both) and (left[both] == right[both]).all(), month

    # Landed while automation runs: the sensor's run of the month alone, then the history sensor
    # asks for exactly the months `run` ran besides it.
    sensed = _copy(history, tmp_path / "sensed")
    land(sensed, _resubmission(demo_files, tmp_path, _a_hundred_more_contacts))
    assert _history_sensor_requests(sensed, tmp_path) == sorted(changed)


def _history_sensor_requests(home: DataHome, tmp_path: Path) -> list[str]:
    """The months the history sensor asks to run after a run of the resubmitted month alone (as the
    landing sensor starts it: in Dagster, holding the writer lock itself)."""
    import dagster as dg

    from pipelines.orchestration.definitions import defs
    from pipelines.orchestration.resources import DataHomeResource
    from pipelines.orchestration.runner import project_instance
    from pipelines.orchestration.sensors import HISTORY_SENSOR

    with project_instance(home) as instance:
        result = defs.resolve_job_def("monthly_release").execute_in_process(
            partition_key=RESUBMITTED, instance=instance, run_config=run_config(home)
        )
        assert result.success
        run = instance.get_run_by_id(result.run_id)
        [success] = instance.all_logs(result.run_id, of_type=dg.DagsterEventType.RUN_SUCCESS)
        context = dg.build_run_status_sensor_context(
            sensor_name=HISTORY_SENSOR,
            dagster_event=success.dagster_event,
            dagster_instance=instance,
            dagster_run=run,
            resources={"data_home": DataHomeResource(path=str(tmp_path / "elsewhere"))},
        )
        requests = defs.resolve_sensor_def(HISTORY_SENSOR)(context) or []
    assert all(request.run_key and result.run_id in request.run_key for request in requests)
    return [request.partition_key for request in requests]


def test_the_check_sees_a_stored_history_finding_that_a_validation_would_not_make(history, tmp_path):
    """The check compares cell by cell: a history finding stored that validating again would not make
    (as a stale one would be) makes its month, and only it, one to run again."""
    from pipelines.store.warehouse import connect

    home = _copy(history, tmp_path / "home")
    assert months_validated_differently(home, AFTER) == []
    stale = AFTER[3]
    with connect(home) as connection:  # the writer: the readers' snapshot follows
        connection.execute(
            'INSERT INTO findings (rule, severity, la_code, period, "column", value, expected, message, family) '
            "VALUES ('stock_jump', 'warning', ?, ?, 'cla', '900', '496', 'cla moved from 496 to 900 in a month', "
            "'continuity')",
            [AUTHORITY, stale],
        )
    assert months_validated_differently(home, AFTER) == [stale]
    with connect(home) as connection:
        connection.execute("DELETE FROM findings WHERE rule = 'stock_jump' AND period = ?", [stale])
    assert months_validated_differently(home, AFTER) == []


def test_a_month_whose_inputs_changed_runs_again_with_every_month_after_it(history, demo_files, tmp_path):
    """A month whose validation's inputs changed since (here a file arrived for it, archived but not yet
    run) is run again, and so is every month after it: they read it as it will be. The months before it
    are checked as usual."""
    from pipelines.steps.monthly import archive_landing

    home = _copy(history, tmp_path / "home")
    moved = AFTER[4]
    land(home, demo_files[moved], name=f"SYNTHETIC-{moved}-sent-again.csv")
    assert sum(archived.new for archived in archive_landing(home)) == 1
    assert months_validated_differently(home, AFTER) == AFTER[4:]
