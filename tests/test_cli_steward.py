"""The steward's command line against a real data home: a real run (Dagster, DuckDB, GX) over
real published figures with planted mistakes, then `status`, `findings`, `waive list/revoke`,
and the progress a run shows on a pipe, on a terminal (pty) and with `--quiet`.

The figures are the official ones from ../shared/reference (never copied into the repository);
the mistakes planted in them, and the one column-less finding, are SYNTHETIC.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import pty
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from pipelines.cli import main
from pipelines.exit_codes import LOCKED
from pipelines.home import DataHome
from pipelines.store.status import FINDINGS_EXPORT_COLUMNS
from pipelines.store.warehouse import connect
from schemas.month import consecutive_ranges
from tests.conftest import REPO, write_return
from tests.validate.conftest import POPULATION, REGISTER, reference_folder, shape_real_returns

pytestmark = pytest.mark.xdist_group("cli_steward")

MONTH = "2022-03"
CLI = [sys.executable, "-m", "pipelines.cli"]


def _plant_mistakes(month: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """SYNTHETIC mistakes in real returns; {la_code: the mistake}."""
    month = month.reset_index(drop=True).copy()
    complete = month[(month["cla_rate_per_10k"] != "") & (month["cp_plans"] != "x")].index
    rate, negative, population = complete[3], complete[10], complete[20]
    month.loc[rate, "cla_rate_per_10k"] = str(round(float(month.loc[rate, "cla_rate_per_10k"]) * 10, 1))
    month.loc[negative, "cp_plans"] = "-5"
    month.loc[population, "population_0_17"] = str(int(month.loc[population, "population_0_17"]) * 100)
    planted = {
        month.loc[rate, "la_code"]: "rate per 100,000",
        month.loc[negative, "la_code"]: "negative count",
        month.loc[population, "la_code"]: "population x100",
    }
    return month, planted


def _env(dagster_home: Path) -> dict[str, str]:
    """A Dagster instance of the test's own, configured as a data home's."""
    from pipelines.orchestration.runner import INSTANCE_TEMPLATE

    dagster_home.mkdir(exist_ok=True)
    shutil.copy(INSTANCE_TEMPLATE, dagster_home / "dagster.yaml")
    return {**os.environ, "DAGSTER_HOME": str(dagster_home), "PYTHONPATH": str(REPO)}


def _run_on_a_terminal(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    """Run the CLI with standard error on a pseudo-terminal and standard output on a pipe."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [*CLI, *args], stdout=subprocess.PIPE, stderr=terminal, stdin=subprocess.DEVNULL, env=env, cwd=REPO
    )
    os.close(terminal)
    screen = []
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        screen.append(chunk)
    out = process.stdout.read().decode()
    process.wait()
    os.close(controller)
    return process.returncode, out, b"".join(screen).decode(errors="replace")


@pytest.fixture(scope="module")
def real_run(tmp_path_factory):
    """A data home after `csc-returns run` (a subprocess on pipes) over a real month with planted mistakes."""
    reference = reference_folder()
    root = tmp_path_factory.mktemp("steward")
    home = DataHome(root / "home").ensure()
    env = _env(root / "dagster")
    imported = subprocess.run(
        [*CLI, "--home", str(home.root), "reference", "import", str(reference / REGISTER), str(reference / POPULATION)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
    )
    assert imported.returncode == 0, imported.stderr
    returns = shape_real_returns(reference)
    month, planted = _plant_mistakes(returns[returns["period"] == MONTH])
    month.to_csv(home.landing / "SYNTHETIC-mistakes-in-real-figures-2022-03.csv", index=False)
    done = subprocess.run([*CLI, "--home", str(home.root), "run"], capture_output=True, text=True, env=env, cwd=REPO)
    return {"home": home, "env": env, "planted": planted, "run": done, "import": imported, "root": root}


def _cli(home: DataHome, *args: str, capsys) -> tuple[int, str, str]:
    status = main(["--home", str(home.root), *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _copy(real_run, name: str) -> DataHome:
    """A copy of the run's home to change (shutil keeps the files' times, as a backup would)."""
    copy = DataHome(real_run["root"] / name)
    shutil.copytree(real_run["home"].root, copy.root)
    return copy


def test_run_on_a_pipe_prints_one_plain_line_per_month_and_exits_1_when_returns_are_held_back(real_run):
    done = real_run["run"]
    assert done.returncode == 1, done.stderr  # FINDINGS: the pipeline worked, returns were held back
    progress = done.stderr.strip().splitlines()
    assert len(progress) == 1 and progress[0].startswith("[1/1 months, ") and f"] {MONTH}: published" in progress[0]
    assert "\x1b[" not in done.stderr and "━" not in done.stderr  # no bar, no terminal codes on a pipe
    assert "published 1 month(s)" in done.stdout and "[1/1" not in done.stdout
    imported = real_run["import"].stderr.strip().splitlines()
    assert [line.split("] ")[1] for line in imported] == [f"{REGISTER}: imported", f"{POPULATION}: imported"]


def test_status_json_lists_every_held_back_authority_with_its_first_error(real_run, capsys):
    home = real_run["home"]
    status, out, _ = _cli(home, "status", "--json", capsys=capsys)
    report = json.loads(out)

    assert status == 0 and report["pending_files"] == []
    [month] = report["months"]
    with connect(home) as connection:
        held = dict(
            connection.execute(
                "SELECT la_code, errors FROM returns WHERE period = ? AND status = 'held_back'", [MONTH]
            ).fetchall()
        )
        counts = connection.execute(
            "SELECT count(*), count(*) FILTER (WHERE status = 'accepted') FROM returns WHERE period = ?", [MONTH]
        ).fetchone()
        # Oracle in SQL: the first unwaived error of each held-back return by row, then column.
        first = dict(
            connection.execute(
                """SELECT la_code, arg_min(message, ("row", "column")) FROM findings
               WHERE period = ? AND severity = 'error' AND NOT coalesce(waived, FALSE) GROUP BY la_code""",
                [MONTH],
            ).fetchall()
        )
    assert set(real_run["planted"]) <= set(held)
    assert {h["la_code"]: (h["errors"], h["first_error"]) for h in month["held_back"]} == {
        code: (errors, first[code]) for code, errors in held.items()
    }
    assert (month["received"], month["accepted"]) == counts
    assert month["validated_at"] and month["released_at"]
    assert list(month) == ["month", "received", "accepted", "held_back", "waivers", "validated_at", "released_at"]


def test_findings_csv_has_one_row_per_stored_finding_with_the_documented_columns(real_run, capsys):
    home = real_run["home"]
    status, out, _ = _cli(home, "findings", "--month", MONTH, "--format", "csv", capsys=capsys)
    rows = list(csv.DictReader(io.StringIO(out)))

    with connect(home) as connection:
        stored = connection.execute(
            """SELECT file, "row", la_code, "column", message FROM findings WHERE period = ?""", [MONTH]
        ).fetchall()
        errors = connection.execute(
            "SELECT count(*) FROM findings WHERE period = ? AND severity = 'error'", [MONTH]
        ).fetchone()[0]
    assert status == 0 and out.splitlines()[0].split(",") == FINDINGS_EXPORT_COLUMNS
    assert sorted(
        (r["file"], int(r["row"]), r["authority"], r["column"] or None, r["message"]) for r in rows
    ) == sorted(stored)
    assert {r["waived"] for r in rows} == {"False"}
    for code in real_run["planted"]:
        assert any(r["authority"] == code and r["severity"] == "error" for r in rows)

    _, only_errors, _ = _cli(
        home, "findings", "--month", MONTH, "--severity", "error", "--format", "json", capsys=capsys
    )
    assert len(json.loads(only_errors)) == errors
    one = next(iter(real_run["planted"]))
    _, of_one, _ = _cli(home, "findings", "--month", MONTH, "--la-code", one, "--format", "json", capsys=capsys)
    assert {f["authority"] for f in json.loads(of_one)} == {one}


def test_waive_list_and_revoke_keep_the_whole_history_and_validation_follows_it(real_run, capsys):
    from pipelines.steps.monthly import validate_month

    home = _copy(real_run, "waivers")
    rate_authority = next(code for code, mistake in real_run["planted"].items() if mistake == "rate per 100,000")
    grant = [
        "waive",
        "--rule",
        "derived_inconsistent",
        "--la-code",
        rate_authority,
        "--month",
        MONTH,
        "--column",
        "cla_rate_per_10k",
        "--reason",
        "SYNTHETIC: board agreed",
        "--who",
        "A. Steward",
    ]

    assert _cli(home, *grant, capsys=capsys)[0] == 0
    assert rate_authority not in validate_month(home, MONTH, engine="pandas").held_back
    status, out, _ = _cli(home, "waive", "list", "--json", capsys=capsys)
    [waiver] = json.loads(out)
    assert status == 0 and (waiver["state"], waiver["who"], waiver["reason"]) == (
        "open",
        "A. Steward",
        "SYNTHETIC: board agreed",
    )

    status, out, _ = _cli(
        home,
        "waive",
        "revoke",
        str(waiver["waiver_id"]),
        "--reason",
        "granted on the wrong figure",
        "--who",
        "B. Lead",
        capsys=capsys,
    )
    assert status == 0 and "revoked" in out
    assert rate_authority in validate_month(home, MONTH, engine="pandas").held_back
    assert _cli(home, *grant, capsys=capsys)[0] == 0  # granted again: a second record, the first kept

    _, out, _ = _cli(home, "waive", "list", "--month", MONTH, "--la-code", rate_authority, "--json", capsys=capsys)
    history = json.loads(out)
    assert [(w["state"], w["revoked_by"], w["revoked_reason"]) for w in history] == [
        ("revoked", "B. Lead", "granted on the wrong figure"),
        ("open", None, None),
    ]
    assert history[0]["revoked_at"] >= history[0]["created_at"]
    _, out, _ = _cli(home, "status", "--month", MONTH, "--json", capsys=capsys)
    assert [w["waiver_id"] for w in json.loads(out)["months"][0]["waivers"]] == [w["waiver_id"] for w in history]
    _, text, _ = _cli(home, "status", "--month", MONTH, capsys=capsys)
    assert "revoked by B. Lead" in text and '"granted on the wrong figure"' in text


def test_a_finding_with_no_column_is_waived_without_column(real_run, capsys):
    from pipelines.store.waivers import apply_waivers

    home = _copy(real_run, "columnless")
    code = next(iter(real_run["planted"]))
    with connect(home) as connection:
        sha256 = connection.execute(
            "SELECT sha256 FROM returns WHERE la_code = ? AND period = ?", [code, MONTH]
        ).fetchone()[0]
        # SYNTHETIC: a warning about the return as a whole, as a rule with no column would store it.
        connection.execute(
            """INSERT INTO findings (rule, severity, la_code, period, "column", value, expected, message, file, "row",
                                     sha256, family, waived)
               VALUES ('referrals_exceed_contacts', 'warning', ?, ?, NULL, NULL, NULL, 'SYNTHETIC whole-return query',
                       'SYNTHETIC.csv', 2, ?, 'consistency', FALSE)""",
            [code, MONTH, sha256],
        )

    status, out, _ = _cli(
        home,
        "waive",
        "--rule",
        "referrals_exceed_contacts",
        "--la-code",
        code,
        "--month",
        MONTH,
        "--reason",
        "SYNTHETIC: explained",
        "--who",
        "A. Steward",
        capsys=capsys,
    )
    assert status == 0 and "(no column)" in out
    with connect(home) as connection:
        findings = apply_waivers(
            connection, connection.execute("SELECT * FROM findings WHERE period = ?", [MONTH]).df()
        )
    columnless = findings[findings["message"] == "SYNTHETIC whole-return query"]
    assert columnless["waived"].tolist() == [True]
    assert not findings[(findings["rule"] == "referrals_exceed_contacts") & findings["column"].notna()]["waived"].any()


@pytest.mark.parametrize(
    "args, says",
    [
        (["status", "--month", "2022-13"], "--month 2022-13: not a month written YYYY-MM"),
        (["status", "--month", "2021-03"], "--month 2021-03: no returns stored for this month"),
        (["findings", "--month", "2021-03"], "--month 2021-03: no returns stored for this month"),
        (["findings", "--month", MONTH, "--la-code", "E06099999"], "--la-code E06099999: not an authority"),
        (["waive", "list", "--la-code", "E06099999"], "--la-code E06099999: not an authority"),
        (["waive", "revoke", "999", "--reason", "x", "--who", "y"], "no waiver 999"),
        (
            [
                "waive",
                "--rule",
                "derived_inconsistent",
                "--la-code",
                "E06099999",
                "--month",
                MONTH,
                "--column",
                "cla",
                "--reason",
                "x",
                "--who",
                "y",
            ],
            "--la-code E06099999: not an authority",
        ),
        (
            [
                "waive",
                "--rule",
                "stock_jump",
                "--la-code",
                "E06000001",
                "--month",
                MONTH,
                "--reason",
                "x",
                "--who",
                "y",
            ],
            "no finding stock_jump on E06000001 2022-03 (no column)",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(real_run, capsys, args, says):
    status, out, err = _cli(real_run["home"], *args, capsys=capsys)
    assert status == 2 and out == "" and err.count("\n") == 1 and err.startswith(says)


def test_an_unwaivable_finding_is_refused_in_one_line(real_run, capsys):
    home = _copy(real_run, "unwaivable")
    code = next(code for code, mistake in real_run["planted"].items() if mistake == "negative count")
    status, _, err = _cli(
        home,
        "waive",
        "--rule",
        "negative_count",
        "--la-code",
        code,
        "--month",
        MONTH,
        "--column",
        "cp_plans",
        "--reason",
        "x",
        "--who",
        "y",
        capsys=capsys,
    )
    assert status == 2 and err.count("\n") == 1 and "cannot be waived" in err


def test_a_file_landed_and_not_run_is_pending(real_run, capsys):
    home = _copy(real_run, "pending")
    (home.landing / "SYNTHETIC-late.csv").write_text("la_code,period\nE06000001,2022-04\n")
    _, out, _ = _cli(home, "status", "--json", capsys=capsys)
    assert json.loads(out)["pending_files"] == ["SYNTHETIC-late.csv"]


def test_a_file_archived_by_a_killed_run_is_still_pending(real_run, capsys):
    """A run killed after archiving a resubmission and before validating its month: the file was
    taken in but not run, so `status` lists it as pending (not as neither stored nor pending)."""
    from pipelines.steps.monthly import archive_landing

    home = _copy(real_run, "killed")
    landed = home.landing / "SYNTHETIC-mistakes-in-real-figures-2022-03.csv"
    resubmitted = pd.read_csv(landed, dtype=str, keep_default_na=False).head(3)
    resubmitted.to_csv(home.landing / "SYNTHETIC-resubmission-2022-03.csv", index=False)
    archive_landing(home)  # the run's first step, then the run is killed

    _, out, _ = _cli(home, "status", "--json", capsys=capsys)
    assert json.loads(out)["pending_files"] == ["SYNTHETIC-resubmission-2022-03.csv"]
    _, out, _ = _cli(home, "status", capsys=capsys)
    assert "landed, not yet run (1): SYNTHETIC-resubmission-2022-03.csv" in out


def test_a_new_home_says_so_plainly(tmp_path, capsys):
    home = DataHome(tmp_path / "new").ensure()
    (home.landing / "SYNTHETIC-first.csv").write_text("la_code,period\n")

    status, out, _ = _cli(home, "status", capsys=capsys)
    assert status == 0 and out.startswith(f"nothing has been run in {home.root} yet")
    assert "landed, not yet run (1): SYNTHETIC-first.csv" in out
    assert json.loads(_cli(home, "status", "--json", capsys=capsys)[1]) == {
        "months": [],
        "pending_files": ["SYNTHETIC-first.csv"],
    }
    status, out, _ = _cli(home, "findings", "--month", MONTH, capsys=capsys)
    assert status == 0 and out.startswith("nothing has been run") and out.count("\n") == 1
    status, out, _ = _cli(home, "waive", "list", capsys=capsys)
    assert status == 0 and out == "0 open, 0 revoked\n"


def test_run_json_on_a_terminal_shows_a_bar_and_keeps_standard_output_json(real_run):
    home = _copy(real_run, "terminal")
    status, out, screen = _run_on_a_terminal(
        ["--home", str(home.root), "run", "--month", MONTH, "--json"], real_run["env"]
    )
    summary = json.loads(out)
    with connect(home) as connection:
        held = [
            code
            for (code,) in connection.execute(
                "SELECT la_code FROM returns WHERE period = ? AND status = 'held_back' ORDER BY 1", [MONTH]
            ).fetchall()
        ]
    assert status == 1 and summary["exit_code"] == 1
    assert (summary["months"], summary["published"], summary["failed"]) == ([MONTH], [MONTH], [])
    assert [h["la_code"] for h in summary["held_back"]] == held and all(h["first_error"] for h in summary["held_back"])
    assert "━" in screen and "1/1" in screen and "months" in screen  # rich's bar, months done of total
    assert "received_returns" in screen  # the stage: the Dagster step under way


def test_quiet_shows_no_progress_on_a_terminal(tmp_path):
    reference = reference_folder()
    env = _env(tmp_path / "dagster")
    home = str(tmp_path / "home")
    register = str(reference / REGISTER)

    status, out, screen = _run_on_a_terminal(["--home", home, "reference", "import", register], env)
    assert status == 0 and "━" in screen and "1/1" in screen and "register: 153 authorities" in out
    status, out, screen = _run_on_a_terminal(["--home", home, "reference", "import", register, "--quiet"], env)
    assert status == 0 and screen == "" and "register: 153 authorities" in out
    status, out, screen = _run_on_a_terminal(["--home", home, "run", "--quiet"], env)
    assert status == 0 and screen == "" and out.startswith("no returns for a completed month")


@contextlib.contextmanager
def _held_open_by_another_program(database: Path) -> Iterator[None]:
    """A program outside the pipeline (a DuckDB shell, a BI tool) holding `database` read-write."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True); time.sleep(120)",
            str(database),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield
    finally:
        holder.kill()
        holder.wait()


def test_a_reader_is_answered_from_the_snapshot_while_a_writer_holds_the_warehouse(real_run, capsys):
    home = _copy(real_run, "busy")
    quiet = _cli(home, "status", capsys=capsys)
    with _held_open_by_another_program(home.warehouse):
        busy = _cli(home, "status", capsys=capsys)
    # The reader never waits for a writer: it reads the snapshot the last write left (docs/architecture.md).
    assert busy == quiet and busy[0] == 0 and busy[2] == ""


def test_a_snapshot_held_by_another_program_makes_every_reader_say_busy_in_one_line(real_run, capsys):
    """The readers' one busy answer (exit 75): only a program outside the pipeline holding the
    snapshot read-write can cause it."""
    home = _copy(real_run, "snapshot-held")
    with _held_open_by_another_program(home.warehouse_snapshot):
        for command in (["status"], ["findings", "--month", MONTH], ["waive", "list"]):
            status, out, err = _cli(home, *command, capsys=capsys)
            assert status == LOCKED and out == "", command
            assert err.count("\n") == 1 and err.startswith(f"{home.warehouse} is busy"), command


def test_a_failed_step_exits_3_with_the_step_and_its_error(tmp_path, example_rows, monkeypatch, capsys):
    monkeypatch.setenv("DAGSTER_HOME", _env(tmp_path / "dagster")["DAGSTER_HOME"])
    home = DataHome(tmp_path / "home").ensure()  # no register imported: the release cannot be built
    month = example_rows[0]["period"]
    write_return(home.landing / "SYNTHETIC-example.csv", [r for r in example_rows if r["period"] == month])

    status, out, err = _cli(home, "run", "--month", month, "--json", "--quiet", capsys=capsys)
    summary = json.loads(out)
    assert status == 3 and summary["exit_code"] == 3 and err == ""
    assert summary["published"] == [] and [f["month"] for f in summary["failed"]] == [month]
    assert summary["failed"][0]["error"].split(":")[0] in {"received_returns", "indicator_values", "open_data_release"}


def test_a_failed_range_run_names_its_step_and_error_for_every_month(tmp_path, example_rows, monkeypatch, capsys):
    """A range runs in Dagster's command line, another process: its failure still comes back as
    the step and the first line of its error (the jobs' failure hook tags the run with it)."""
    monkeypatch.setenv("DAGSTER_HOME", _env(tmp_path / "dagster")["DAGSTER_HOME"])
    home = DataHome(tmp_path / "home").ensure()  # no register imported: the release cannot be built
    months = sorted({row["period"] for row in example_rows})
    assert consecutive_ranges(months) == [(months[0], months[1])]  # one range: one run, in Dagster's command line
    write_return(home.landing / "SYNTHETIC-example.csv", example_rows)

    status, out, err = _cli(home, "run", "--json", "--quiet", capsys=capsys)
    summary = json.loads(out)
    assert status == 3 and err == "" and summary["months"] == months and summary["published"] == []
    failures = {f["month"]: f["error"] for f in summary["failed"]}
    assert sorted(failures) == months and len(set(failures.values())) == 1
    step, _, error = failures[months[0]].partition(": ")
    assert step in {"received_returns", "indicator_values", "open_data_release"} and error.strip()
