"""Every authority's Annex A workbook for a national 6 months, derived (issue 19's goal: 153
workbooks as Excel writes them, about 3.5 million rows, in <= 60 s with the whole process tree
under 2 GB on 2 cores), beside the time openpyxl alone takes to read them.

SYNTHETIC: a few distinct workbooks are generated (`pipelines/demo/annex_a_synthetic.py`, date
cells and shared strings as openpyxl's write-only mode writes them) and copied under 153 made-up
authority codes (the code and extract date are read from each file's name). Two worker
processes each read a workbook's bytes, pseudonymise with an ephemeral key and derive its
months; the parent gathers the rows. openpyxl's read-only reading is timed on a few workbooks
and scaled to 153 (one process), since reading them all that way takes about eight minutes.

    .venv/bin/python bench/annex_a_national.py [workbooks] [distinct]
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd

from pipelines.demo.annex_a_synthetic import synthetic_annex_a, workbook_bytes

CHILDREN = 4600  # about 23,000 rows a workbook: 153 of them about 3.5 million
EXTRACT = "2024-01-31"


def derive_one(path: str) -> tuple[pd.DataFrame, int]:
    from pipelines.derive.months import derive_return
    from pipelines.ingest.annex_a import read_annex_a
    from pipelines.ingest.pseudonyms import ephemeral_key

    read = read_annex_a(Path(path).read_bytes(), Path(path).name, ephemeral_key())
    return derive_return([read]).rows, sum(len(rows) for rows in read.lists.values())


def openpyxl_rows(path: Path) -> int:
    import openpyxl

    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    rows = sum(1 for sheet in workbook.worksheets for _ in sheet.iter_rows(values_only=True))
    workbook.close()
    return rows


def peak_mib(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 153
    distinct = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    with tempfile.TemporaryDirectory() as folder:
        books = [
            workbook_bytes(synthetic_annex_a(seed, children=CHILDREN), front_sheet=False) for seed in range(distinct)
        ]
        paths = []
        for n in range(count):
            path = Path(folder) / f"E06{n + 1:06d}_annex_a_{EXTRACT}_SYNTHETIC.xlsx"
            path.write_bytes(books[n % distinct])
            paths.append(path)
        size = sum(p.stat().st_size for p in paths) / 1e6
        started = time.perf_counter()
        with ProcessPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(derive_one, [str(p) for p in paths], chunksize=4))
        seconds = time.perf_counter() - started
        rows = pd.concat([r for r, _ in results], ignore_index=True)
        read = sum(n for _, n in results)
        parent, child = peak_mib(resource.RUSAGE_SELF), peak_mib(resource.RUSAGE_CHILDREN)
        print(f"{count} SYNTHETIC workbooks ({size:.0f} MB), {read:,} rows read, {len(rows)} authority-months derived")
        print(f"derived in {seconds:.1f} s with 2 processes (goal <= 60 s)")
        print(
            f"peak memory: parent {parent:.0f} MiB, largest worker {child:.0f} MiB; "
            f"the tree at most {parent + 2 * child:.0f} MiB (goal < 2048)"
        )
        sample = paths[: min(3, count)]
        started = time.perf_counter()
        sampled = sum(openpyxl_rows(p) for p in sample)
        per_book = (time.perf_counter() - started) / len(sample)
        print(
            f"openpyxl read-only alone: {per_book:.1f} s a workbook ({sampled // len(sample):,} rows), "
            f"about {per_book * count:.0f} s for {count} in one process (scaled from {len(sample)})"
        )


if __name__ == "__main__":
    main()
