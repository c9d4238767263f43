"""Which reader for Annex A workbooks: python-calamine against openpyxl's read-only mode, on a
SYNTHETIC workbook of about 25,000 rows over the lists (date cells, shared strings, as openpyxl
writes them). Prints the best of three reads of every sheet's cell values from the bytes, then
the best of three fresh `csc-returns validate WORKBOOK --json` processes (goal: <= 2 s).

    .venv/bin/python bench/annex_a_reader.py [children]
"""

from __future__ import annotations

import io
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pipelines.demo.annex_a_synthetic import synthetic_annex_a, workbook_bytes


def read_with_calamine(data: bytes) -> int:
    import python_calamine

    workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    return sum(len(workbook.get_sheet_by_name(name).to_python()) for name in workbook.sheet_names)


def read_with_openpyxl(data: bytes) -> int:
    import openpyxl

    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    rows = sum(1 for sheet in workbook.worksheets for _ in sheet.iter_rows(values_only=True))
    workbook.close()
    return rows


def best_of_three(read, data: bytes) -> tuple[float, int]:
    times, rows = [], 0
    for _ in range(3):
        started = time.perf_counter()
        rows = read(data)
        times.append(time.perf_counter() - started)
    return min(times), rows


def main() -> None:
    children = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    data = workbook_bytes(synthetic_annex_a(7, children=children))
    print(f"SYNTHETIC workbook: {len(data) / 1e6:.1f} MB")
    for name, read in (("python-calamine", read_with_calamine), ("openpyxl read-only", read_with_openpyxl)):
        seconds, rows = best_of_three(read, data)
        print(f"{name:20} {rows:>7,} rows  {seconds:6.2f} s")
    with tempfile.TemporaryDirectory() as folder:
        workbook = Path(folder) / "E06000009_annex_a_2024-01-31_SYNTHETIC.xlsx"
        workbook.write_bytes(data)
        command = [
            sys.executable,
            "-m",
            "pipelines.cli",
            "--home",
            str(Path(folder) / "home"),
            "validate",
            str(workbook),
            "--json",
        ]
        times = []
        for _ in range(3):
            started = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            times.append(time.perf_counter() - started)
        print(f"fresh `csc-returns validate WORKBOOK --json`: {min(times):.2f} s (goal <= 2 s)")


if __name__ == "__main__":
    main()
