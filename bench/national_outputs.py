"""A national run's outputs, fingerprinted, so that two trees can be compared (issue 18).

    .venv/bin/python bench/national_outputs.py OUT                  # this tree
    PYTHONPATH=/other/tree .venv/bin/python bench/national_outputs.py OUT   # another tree (e.g. a worktree)
    .venv/bin/python bench/fingerprint.py --compare OUT_A/<case> OUT_B/<case>

Builds SYNTHETIC national homes (152 made-up authorities, every column, from the bench's own
generator) for fixed months, so that the outputs do not depend on today's date:

- `months24`: 24 months (2023-04 to 2025-03), one file per month, one `csc-returns run`;
- `history120`: 120 months (2015-04 to 2025-03) in ONE file, one `run`, then one authority's
  correction of 2023-04 landed and run again (its month and the 12 after it re-validated).

Each home is fingerprinted by `bench/fingerprint.py` into OUT/<case>. The command line of the
tree on `PYTHONPATH` (or this one) does the work, as `python -m pipelines.cli`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import pandas as pd  # noqa: E402

from bench.fingerprint import fingerprint  # noqa: E402
from bench.national import national_reference, write_rows  # noqa: E402
from pipelines.demo import generate_rows  # noqa: E402

FIRST_MONTH_120, FIRST_MONTH_24, CORRECTED_MONTH = "2015-04", "2023-04", "2023-04"


def _cli(env: dict[str, str], *args: str) -> None:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pipelines.cli", *args], env=env, capture_output=True, text=True)
    print(f"  {' '.join(args)}: exit {done.returncode} in {time.perf_counter() - started:.1f} s", flush=True)
    if done.returncode not in (0, 1):
        raise SystemExit(done.stderr[-2000:])


def _home(work: Path, name: str, register: Path, population: Path) -> dict[str, str]:
    home = work / name
    env = {**os.environ, "CSC_HOME": str(home / "home"), "DAGSTER_HOME": str(home / "dagster")}
    env.pop("CSC_PUBLISH_BASE_URL", None)
    (home / "dagster").mkdir(parents=True)
    _cli(env, "reference", "import", str(register), str(population), "--quiet")
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--only", default="months24,history120")
    args = parser.parse_args(argv)
    only = set(args.only.split(","))
    work = Path(tempfile.mkdtemp(prefix="csc-national-outputs-"))
    register, population, names, populations = national_reference(work / "reference")
    history = pd.DataFrame(
        generate_rows({code: 1.0 for code in names}, names, populations, first_month=FIRST_MONTH_120, months=120)
    )
    history["la_code"] = history["la_code"].astype(str)
    if "months24" in only:
        print("months24", flush=True)
        env = _home(work, "months24", register, population)
        landing = Path(env["CSC_HOME"]) / "landing"
        landing.mkdir(parents=True, exist_ok=True)
        for month, part in history[history["period"] >= FIRST_MONTH_24].groupby("period"):
            write_rows(landing / f"SYNTHETIC-england-{month}.csv", part.to_dict("records"))
        _cli(env, "run", "--quiet")
        fingerprint(Path(env["CSC_HOME"]), args.out / "months24")
    if "history120" in only:
        print("history120", flush=True)
        env = _home(work, "history120", register, population)
        landing = Path(env["CSC_HOME"]) / "landing"
        landing.mkdir(parents=True, exist_ok=True)
        write_rows(landing / "SYNTHETIC-england-120-months.csv", history.to_dict("records"))
        _cli(env, "run", "--quiet")
        row = history[history["period"] == CORRECTED_MONTH].head(1).copy()
        row["cla"] = row["cla"] + 1
        row["cla_rate_per_10k"] = [
            float(f"{c / p * 10_000 + 1e-9:.1f}") for c, p in zip(row["cla"], row["population_0_17"])
        ]
        write_rows(landing / f"SYNTHETIC-correction-{CORRECTED_MONTH}.csv", row.to_dict("records"))
        _cli(env, "run", "--quiet")
        fingerprint(Path(env["CSC_HOME"]), args.out / "history120")
    print(f"fingerprints in {args.out}; homes in {work}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
