"""Limits that hold: each an error finding within seconds, memory bounded, configurable in one place."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pytest

from pipelines.exit_codes import FINDINGS
from pipelines.ingest.limits import MB, Limits
from pipelines.ingest.readers import read_return
from tests.ingest.make_corpus import write_zip_bomb

REPO = Path(__file__).resolve().parents[2]
GB = 1024 * MB
# Runs the command as its only child and reports the child's peak memory (Linux: ru_maxrss in KiB).
MEASURE = """
import json, resource, subprocess, sys, time
started = time.monotonic()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(json.dumps({"status": done.returncode, "seconds": time.monotonic() - started, "out": done.stdout,
                  "err": done.stderr, "peak_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


def _measured_validate(home: Path, path: Path) -> dict:
    command = [
        sys.executable,
        "-c",
        MEASURE,
        str(Path(sys.executable).with_name("csc-returns")),
        "--home",
        str(home),
        "validate",
        "--json",
        str(path),
    ]
    return json.loads(subprocess.run(command, capture_output=True, text=True, check=True, cwd=REPO).stdout)


def test_a_900_mb_zip_bomb_is_answered_within_20_seconds_under_1_gb(tmp_path):
    bomb = write_zip_bomb(tmp_path / "return.xlsx", 900 * MB, level=1)  # 4 MB on disk, streamed
    assert bomb.stat().st_size < 10 * MB

    measured = _measured_validate(tmp_path / "home", bomb)

    assert measured["status"] == FINDINGS, measured["err"]
    [finding] = json.loads(measured["out"])["findings"]
    assert finding["rule"] == "limit_exceeded" and "900.0 MB" in finding["message"]
    assert measured["seconds"] < 20
    assert measured["peak_kib"] * 1024 < GB


@pytest.mark.slow
def test_the_worst_csv_within_the_limits_stays_under_1_gb(tmp_path):
    """The most cells a file within the size limit can hold (two characters each, the widest rows
    allowed): the reader and every rule over it, in one `csc-returns validate`."""
    limits = Limits()
    row = ",".join(["12"] * limits.max_columns) + "\n"
    header = (
        ",".join(["la_code", "period", "population_0_17", *(f"c{i}" for i in range(limits.max_columns - 3))]) + "\n"
    )
    path = tmp_path / "widest.csv"
    path.write_text(header + row * ((limits.max_file_bytes - len(header)) // len(row)))

    measured = _measured_validate(tmp_path / "home", path)

    assert measured["status"] == FINDINGS, measured["err"]
    assert measured["peak_kib"] * 1024 < GB


def test_a_40_mb_csv_is_refused_at_once_without_reading_it(tmp_path):
    path = tmp_path / "big.csv"
    with path.open("wb") as handle:
        handle.write(b"la_code,period,population_0_17,cla\n")
        line = b"E06000009,2024-10,28630,529\n"
        handle.write(line * (40 * MB // len(line)))

    started = time.monotonic()
    parsed = read_return(path)

    assert time.monotonic() - started < 1
    [finding] = parsed.findings
    assert finding.rule == "limit_exceeded" and "max_file_bytes" in finding.message and not parsed.readable


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_rows_over_the_limit_are_refused_and_the_limit_is_configurable(tmp_path, suffix, monkeypatch):
    rows = [["la_code", "period", "population_0_17", "cla"]] + [
        ["E06000009", f"2024-{m:02d}", "28630", "529"] for m in range(1, 7)
    ]
    path = tmp_path / f"six-months{suffix}"
    if suffix == ".csv":
        path.write_text("\n".join(",".join(r) for r in rows) + "\n")
    else:
        workbook = openpyxl.Workbook()
        for row in rows:
            workbook.active.append(row)
        workbook.save(path)
    assert read_return(path).readable

    monkeypatch.setenv("CSC_LIMIT_MAX_ROWS", "5")
    [finding] = read_return(path).findings

    assert finding.rule == "limit_exceeded" and "more than 5 rows (max_rows)" in finding.message


def test_limits_from_the_environment_take_whole_numbers_only():
    limits = Limits.from_env(
        {"CSC_LIMIT_MAX_COLUMNS": "40", "CSC_LIMIT_MAX_ROWS": "lots", "CSC_LIMIT_MAX_CELL_CHARS": "0"}
    )

    assert limits.max_columns == 40
    assert (limits.max_rows, limits.max_cell_chars) == (Limits().max_rows, Limits().max_cell_chars)


def test_a_workbook_over_the_uncompressed_limit_is_refused_before_openpyxl_reads_it(tmp_path):
    workbook = openpyxl.Workbook()
    workbook.active.append(["la_code", "period", "population_0_17"])
    path = tmp_path / "small.xlsx"
    workbook.save(path)

    [finding] = read_return(path, limits=Limits(max_uncompressed_bytes=1000)).findings

    assert finding.rule == "limit_exceeded" and "max_uncompressed_bytes" in finding.message
