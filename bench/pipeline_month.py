"""Benchmark: a regional team's month for every English authority, end to end.

Builds a temporary data home with the official register and populations (from
../shared/reference when present, else the bundled five-authority demo subset), lands one
SYNTHETIC regional collection file per month for every authority, and times as whole
processes, each several times:

  validate   csc-returns validate <one month's file>         (the analyst's check)
  run        csc-returns run --month <month>                 (archive, rules with GX, store, publish)

Re-running a month replaces it, so repeated runs measure the same work. Prints median, min and
max wall seconds and peak resident memory (the child's ru_maxrss).

    .venv/bin/python bench/pipeline_month.py --runs 5
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipelines.demo import POPULATION, REGISTER, generate_rows, read_names, read_populations  # noqa: E402
from schemas.catalogue import all_columns  # noqa: E402

OFFICIAL = REPO.parent / "shared" / "reference"
CLI = str(Path(sys.executable).with_name("csc-returns"))


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB) of one run of `command` as a child process."""
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) not in (0, 1):  # 1: findings with errors, still a valid run
        error = process.stderr.read().decode() if process.stderr else ""
        raise SystemExit(f"{' '.join(command)} failed: {error[-500:]}")
    return wall, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--month", default="2024-06")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="csc-bench-"))
    home, dagster_home = work / "home", work / "dagster"
    dagster_home.mkdir(parents=True)
    env = {**os.environ, "CSC_HOME": str(home), "DAGSTER_HOME": str(dagster_home)}
    if OFFICIAL.exists():
        register, population = OFFICIAL / "la_register_2025.csv", OFFICIAL / "ons_population_0_17_2012_to_2024.csv"
    else:
        register, population = REGISTER, POPULATION
    subprocess.run(
        [CLI, "reference", "import", str(register), str(population)], env=env, check=True, stdout=subprocess.DEVNULL
    )

    names, populations = read_names(register), read_populations(population)
    needed = {int(args.month[:4]) - 1, int(args.month[:4])}
    profiles = {code: 1.0 for code in names if all((code, year) in populations for year in needed)}
    rows = [r for r in generate_rows(profiles, names, populations, first_month=args.month, months=1)]
    landing = home / "landing"
    landing.mkdir(parents=True, exist_ok=True)
    month_file = landing / f"SYNTHETIC-england-{args.month}.csv"
    with month_file.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=all_columns())
        writer.writeheader()
        writer.writerows(rows)

    commands = {
        "validate": [CLI, "validate", str(month_file)],
        "run": [CLI, "run", "--month", args.month],
    }
    print(f"{len(rows)} authorities, month {args.month}, reference: {register.parent}")
    print(f"{'command':<10} {'runs':>4} {'median s':>9} {'min s':>7} {'max s':>7} {'peak RSS MiB':>13}")
    for name, command in commands.items():
        timed(command, env)  # warm-up: file cache, byte code, first archive of the file
        walls, peaks = zip(*(timed(command, env) for _ in range(args.runs)))
        print(
            f"{name:<10} {args.runs:>4} {statistics.median(walls):>9.2f} {min(walls):>7.2f} {max(walls):>7.2f}"
            f" {max(peaks):>13.0f}"
        )


if __name__ == "__main__":
    main()
