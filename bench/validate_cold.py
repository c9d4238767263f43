"""Cold `csc-returns validate` of a one-row return: what a steward waits for at the prompt.

    .venv/bin/python bench/validate_cold.py [--runs 7]

Each run is a new process (nothing cached in memory; the OS file cache is warm after the first
run, as it is for a steward), against an empty data home. Reports the median and range of:
- the CLI end to end (`csc-returns validate FILE`),
- `python -c` reading and validating through `pipelines.validate.rulebook.validate_rows` directly,
- importing `pipelines.validate.rulebook` alone,
and whether the validation imported great_expectations (it must not: engine "pandas").
Outside `make test`: timings depend on the machine. Record results in docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYTHON = Path(sys.executable)
CLI = PYTHON.parent / "csc-returns"
# SYNTHETIC one-row return (Blackpool's real mid-2023 population; every other figure made up).
ONE_ROW = (
    "la_code,la_name,period,population_0_17,cin,cp_plans,cla,cin_rate_per_10k,cp_rate_per_10k,cla_rate_per_10k\n"
    "E06000009,Blackpool,2024-11,28630,1755,250,530,613.0,87.3,185.1\n"
)
DIRECT = """
import sys, time
t = time.perf_counter()
from pipelines.ingest.readers import read_return
from pipelines.validate.rulebook import validate_rows
parsed = read_return(sys.argv[1])
findings = validate_rows(parsed.values, parsed.text)
print("great_expectations" in sys.modules, len(findings))
"""
IMPORT_ONLY = "import pipelines.validate.rulebook"


def _time(command: list[str], env: dict) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO)
    return time.perf_counter() - start, result


def _summary(times: list[float]) -> dict:
    return {
        "median_s": round(statistics.median(times), 3),
        "min_s": round(min(times), 3),
        "max_s": round(max(times), 3),
        "runs": len(times),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="validate_cold_"))
    try:
        path = work / "one_row.csv"
        path.write_text(ONE_ROW, encoding="utf-8")
        load_before = os.getloadavg()[0]
        env = {**os.environ, "CSC_HOME": str(work / "home"), "PYTHONDONTWRITEBYTECODE": "0"}
        commands = {
            "python -c import pipelines.validate.rulebook": [str(PYTHON), "-c", IMPORT_ONLY],
            "python -c read_return + validate_rows": [str(PYTHON), "-c", DIRECT, str(path)],
        }
        if CLI.exists():
            commands["csc-returns validate FILE"] = [str(CLI), "validate", str(path)]
        results: dict[str, dict] = {}
        for name, command in commands.items():
            _time(command, env)  # warm the OS file cache and byte-code once, as a steward's machine has them
            times = []
            for _ in range(args.runs):
                elapsed, result = _time(command, env)
                if result.returncode not in (0, 1):
                    print(result.stderr, file=sys.stderr)
                    raise SystemExit(f"{name} failed with exit code {result.returncode}")
                times.append(elapsed)
            results[name] = _summary(times)
            if name.startswith("python -c read_return"):
                results[name]["great_expectations_imported"] = result.stdout.split()[0] == "True"
        report = {
            "machine": {
                "python": platform.python_version(),
                "platform": platform.platform(),
                "cpus": os.cpu_count(),
                "processor": platform.processor() or platform.machine(),
                "load_average_1m_before": round(load_before, 2),
                "load_average_1m_after": round(os.getloadavg()[0], 2),
            },
            "results": results,
        }
        print(json.dumps(report, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
