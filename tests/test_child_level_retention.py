"""The retention purge of SYNTHETIC child-level workbooks (recorded, re-runnable, crash-safe, typed
returns never) and the owner's look-up of the child behind a pseudonym (to a terminal only, recorded
without the ID)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import duckdb
import pandas as pd
import pytest

from pipelines.demo.annex_a_synthetic import synthetic_annex_a, workbook_bytes
from pipelines.derive.settings import ChildLevelSettingsError
from pipelines.ingest.pseudonyms import home_key, pseudonyms
from pipelines.steps.monthly import archive_landing
from pipelines.steps.retention import look_up_child, lookups, purge, purged_files
from pipelines.store.received import month_files
from pipelines.store.warehouse import connect


@pytest.fixture(scope="module")
def synthetic():
    return synthetic_annex_a(43, children=60)


def _retain(home, days: int) -> None:
    (home.root / "child-level.toml").write_text(f"retention_days = {days}\n", encoding="utf-8")


def _land(home, synthetic) -> None:
    (home.landing / synthetic.file_name).write_bytes(workbook_bytes(synthetic))
    archive_landing(home)


def _land_typed_xlsx(home, rows) -> None:
    pd.DataFrame(rows).to_excel(home.landing / "typed_return.xlsx", index=False)
    archive_landing(home)


def _archived(home) -> list[str]:
    return sorted(p.suffix for p in home.archive.iterdir())


def test_nothing_is_purged_until_the_home_sets_a_retention_period(home, synthetic):
    _land(home, synthetic)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=5000)
    summary = purge(home, "steward", now=later)
    assert summary.purged == () and summary.lines()[0].startswith("no retention period set")
    assert _archived(home) == [".xlsx"]
    (home.root / "child-level.toml").write_text("retention_days = 0\n", encoding="utf-8")
    with pytest.raises(ChildLevelSettingsError, match="retention_days must be a whole number"):
        purge(home, "steward", now=later)


def test_a_workbook_past_retention_is_purged_and_recorded_one_within_kept_a_typed_return_never(
    home, synthetic, example_rows
):
    _land_typed_xlsx(home, example_rows)
    _land(home, synthetic)
    _retain(home, 30)
    size = (home.landing / synthetic.file_name).stat().st_size
    within = purge(home, "steward", now=dt.datetime.now(dt.UTC) + dt.timedelta(days=29))
    assert within.purged == () and len(list(home.archive.iterdir())) == 2
    [kept] = list(home.child_level_rows.iterdir())  # the pseudonymised rows drawn from the workbook

    summary = purge(home, "steward", now=dt.datetime.now(dt.UTC) + dt.timedelta(days=31))
    [purged] = summary.purged
    assert purged.file_name == synthetic.file_name
    remaining = list(home.archive.iterdir())
    assert len(remaining) == 1 and purged.sha256 not in remaining[0].name  # the typed return stays
    assert not (home.landing / synthetic.file_name).exists()  # its landing copy held the same bytes
    assert kept.name == purged.sha256 and list(home.child_level_rows.iterdir()) == []  # its rows purged too
    assert (home.landing / "typed_return.xlsx").exists()
    [record] = purged_files(home)
    assert record[1:5] == ("steward", synthetic.file_name, purged.sha256, size)
    assert record[6] == 30
    with connect(home) as connection:
        assert all(sha != purged.sha256 for month in synthetic.truth for sha, _, _ in month_files(connection, month))

    again = purge(home, "steward", now=dt.datetime.now(dt.UTC) + dt.timedelta(days=400))
    assert again.purged == () and again.finished == 0
    assert len(purged_files(home)) == 1 and len(list(home.archive.iterdir())) == 1


def _cli(home, *args, crash: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, CSC_CRASH_AT=crash or "")
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "--home", str(home.root), *args],
        capture_output=True,
        text=True,
        env=env,
    )


def test_a_purge_killed_between_record_and_deletion_is_finished_by_the_next(home, synthetic):
    _land(home, synthetic)
    _retain(home, 1)
    with duckdb.connect(str(home.warehouse)) as connection:
        connection.execute("UPDATE received_files SET received_at = received_at - INTERVAL 10 DAY")
    killed = _cli(home, "purge", "--who", "the schedule", crash="purge_recorded")
    assert killed.returncode == -9
    with duckdb.connect(str(home.warehouse), read_only=True) as connection:
        [(name, who)] = connection.execute("SELECT file_name, who FROM child_level_purges").fetchall()
    assert (name, who) == (synthetic.file_name, "the schedule")
    assert len(list(home.archive.iterdir())) == 1  # recorded, not yet deleted: the record says what will go
    finished = _cli(home, "purge", "--who", "steward")
    assert finished.returncode == 0, finished.stderr
    assert "finished deleting 1 file(s)" in finished.stdout
    assert list(home.archive.iterdir()) == [] and list(home.child_level_rows.iterdir()) == []
    assert len(purged_files(home)) == 1  # never recorded twice


def _pseudonym_of_first_child(home, synthetic) -> tuple[str, str]:
    child = str(synthetic.lists[8][0]["Child Unique ID"]) if synthetic.lists.get(8) else None
    child = child or str(next(iter(synthetic.lists.values()))[0]["Child Unique ID"])
    [pseudonym] = pseudonyms(home_key(home), synthetic.la_code, pd.Series([child], dtype="string"))
    return child, pseudonym


def test_the_owner_finds_the_child_behind_a_pseudonym_and_the_asking_is_recorded_without_the_id(home, synthetic):
    _land(home, synthetic)
    child, pseudonym = _pseudonym_of_first_child(home, synthetic)
    assert look_up_child(home, pseudonym, "A Steward", "cla differs in 2023-12") == child
    assert look_up_child(home, "0" * 32, "A Steward", "a typo") is None
    records = lookups(home)
    assert [(r[1], r[3], r[4], r[5]) for r in records] == [
        ("A Steward", "cla differs in 2023-12", pseudonym, True),
        ("A Steward", "a typo", "0" * 32, False),
    ]
    with duckdb.connect(str(home.warehouse), read_only=True) as connection:
        every_cell = connection.execute("SELECT * FROM child_lookups").fetchall()
    assert all(child not in str(cell) for row in every_cell for cell in row)


def test_the_look_up_refuses_a_key_others_can_read_a_pipe_and_a_home_whose_key_is_gone(home, synthetic):
    _land(home, synthetic)
    refused = _cli(home, "child-lookup", "--pseudonym", "0" * 32, "--who", "x", "--reason", "y")
    assert refused.returncode == 2 and "to a terminal only" in refused.stderr  # stdout is a pipe here
    home.child_level_key.unlink()  # made when the workbook was read: a home whose key is gone
    with pytest.raises(PermissionError, match="does not exist"):
        look_up_child(home, "0" * 32, "x", "y")
    _, pseudonym = _pseudonym_of_first_child(home, synthetic)
    home.child_level_key.chmod(0o640)
    with pytest.raises(PermissionError, match="can be read by others"):
        look_up_child(home, pseudonym, "x", "y")
    assert lookups(home) == []


def test_the_look_up_prints_the_id_to_the_owner_s_terminal(home, synthetic):
    import pty

    _land(home, synthetic)
    child, pseudonym = _pseudonym_of_first_child(home, synthetic)
    controller, terminal = pty.openpty()
    done = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "--home", str(home.root), "child-lookup"]
        + ["--pseudonym", pseudonym, "--who", "A Steward", "--reason", "cla differs"],
        stdout=terminal,
        stderr=subprocess.PIPE,
        text=True,
    )
    os.close(terminal)
    said = os.read(controller, 4096).decode()
    os.close(controller)
    assert done.returncode == 0, done.stderr
    assert said.strip() == child


@pytest.mark.slow
@pytest.mark.xdist_group("dagster")
def test_the_schedule_s_purge_job_calls_the_same_step(home, synthetic):
    import dagster as dg

    from pipelines.orchestration.definitions import defs

    _land(home, synthetic)
    _retain(home, 1)
    with duckdb.connect(str(home.warehouse)) as connection:
        connection.execute("UPDATE received_files SET received_at = received_at - INTERVAL 10 DAY")
    assert defs.resolve_schedule_def("child_level_purge_schedule").job_name == "purge_child_level"
    config = {"resources": {"data_home": {"config": {"path": str(home.root)}}}}
    with dg.instance_for_test() as instance:
        job = defs.resolve_job_def("purge_child_level")
        first = job.execute_in_process(instance=instance, run_config=config, tags={"csc/trigger": "schedule"})
        again = job.execute_in_process(instance=instance, run_config=config, tags={"csc/trigger": "schedule"})
    assert first.output_for_node("purge_past_retention") == 1
    assert again.output_for_node("purge_past_retention") == 0
    [record] = purged_files(home)
    assert record[1] == "the monthly schedule" and list(home.archive.iterdir()) == []


def test_the_demo_workbook_is_labelled_synthetic_and_differs_from_the_typed_return_in_one_figure(tmp_path):
    import python_calamine

    from pipelines.demo import RECONCILIATION_EXAMPLE, annex_a_typed_counts, demo_annex_a, write_demo_annex_a

    synthetic = demo_annex_a()
    path = write_demo_annex_a(tmp_path, synthetic)
    assert "SYNTHETIC" in path.name
    sheets = python_calamine.CalamineWorkbook.from_path(str(path)).sheet_names
    assert sheets and all(name.startswith("SYNTHETIC") for name in sheets)
    typed = annex_a_typed_counts(synthetic)
    differences = [
        (period, name)
        for period, figures in synthetic.truth.items()
        for name, value in figures.items()
        if value is not None and typed[(synthetic.la_code, period)][name] != value
    ]
    assert differences == [RECONCILIATION_EXAMPLE[:2]]
