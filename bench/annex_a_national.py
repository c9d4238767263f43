"""Every authority's Annex A workbook for a national 6 months, derived by the pipeline (issue 19's
goal: 153 workbooks as Excel writes them, about 3.5 million rows, in <= 60 s with the whole
process tree under 2 GB on 2 cores), beside the time openpyxl alone takes to read them.

SYNTHETIC: a few distinct workbooks are generated (`pipelines/demo/annex_a_synthetic.py`, date
cells and shared strings as openpyxl's write-only mode writes them) and copied under 153 made-up
authority codes (the code and extract date are read from each file's name; each copy's ZIP
comment names its authority, so every file is a version of its own). They land in a new data
home and the pipeline's own step takes them in: `archive_landing` hashes and archives each,
reads the new versions (`steps/child_level.each_version_read`: a pool of two processes reading
ahead, each workbook read, pseudonymised with an ephemeral key and derived whole in one) and
registers each as it comes. The memory of the whole process tree (this process and every descendant) is the sum of
their resident sets, sampled every 50 ms from /proc; beside it, the bound no sampling can miss:
this process's peak plus two workers' each at the largest worker's peak. openpyxl's read-only
reading is timed on a few workbooks and scaled to 153 (one process), since reading them all that
way takes about eight minutes.

    .venv/bin/python bench/annex_a_national.py [workbooks] [distinct]
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

from pipelines.demo.annex_a_synthetic import synthetic_annex_a, workbook_bytes
from pipelines.home import DataHome
from pipelines.ingest.annex_a import read_annex_a
from pipelines.ingest.pseudonyms import ephemeral_key
from pipelines.steps.child_level import POOL_WORKERS
from pipelines.steps.monthly import archive_landing

CHILDREN = 4600  # about 23,000 rows a workbook: 153 of them about 3.5 million
EXTRACT = "2024-01-31"


def with_comment(data: bytes, comment: bytes) -> bytes:
    """The workbook with a ZIP comment (its end record's last field is the comment's length)."""
    assert data[-2:] == b"\x00\x00", "the workbook already has a comment"
    return data[:-2] + len(comment).to_bytes(2, "little") + comment


def descendants(pid: int) -> list[int]:
    found, pending = [], [pid]
    while pending:
        parent = pending.pop()
        try:
            for task in os.listdir(f"/proc/{parent}/task"):
                with open(f"/proc/{parent}/task/{task}/children") as handle:
                    children = [int(child) for child in handle.read().split()]
                found += children
                pending += children
        except OSError:  # ended meanwhile
            continue
    return found


def resident_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as handle:
            return next(int(line.split()[1]) for line in handle if line.startswith("VmRSS:"))
    except (OSError, StopIteration):
        return 0


class TreeMemory(threading.Thread):
    """The largest sum of resident sets over this process and its descendants, sampled."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_kib, self.most_processes, self.stopping = 0, 0, threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(0.05):
            tree = [os.getpid(), *descendants(os.getpid())]
            self.peak_kib = max(self.peak_kib, sum(resident_kib(pid) for pid in tree))
            self.most_processes = max(self.most_processes, len(tree))


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
        rows_of = [
            sum(
                len(rows)
                for rows in read_annex_a(book, f"E06000001_annex_a_{EXTRACT}.xlsx", ephemeral_key()).lists.values()
            )
            for book in books
        ]
        home = DataHome.resolve(Path(folder) / "home")
        home.ensure()
        paths = []
        for n in range(count):
            code = f"E06{n + 1:06d}"
            path = home.landing / f"{code}_annex_a_{EXTRACT}_SYNTHETIC.xlsx"
            path.write_bytes(with_comment(books[n % distinct], f"SYNTHETIC {code}".encode()))
            paths.append(path)
        size = sum(p.stat().st_size for p in paths) / 1e6
        rows = sum(rows_of[n % distinct] for n in range(count))
        cpu_before = os.times()
        memory = TreeMemory()
        memory.start()
        started = time.perf_counter()
        archived = archive_landing(home)
        seconds = time.perf_counter() - started
        memory.stopping.set()
        memory.join()
        cpu = os.times()
        own = (cpu.user - cpu_before.user) + (cpu.system - cpu_before.system)
        workers = (cpu.children_user - cpu_before.children_user) + (cpu.children_system - cpu_before.children_system)
        months = sum(len(file.periods) for file in archived if file.readable)
        print(
            f"{count} SYNTHETIC workbooks ({size:.0f} MB, {rows:,} rows over the lists), load {os.getloadavg()[0]:.1f}"
        )
        print(
            f"archive_landing: {len(archived)} archived, read and registered, {months} authority-months derived, "
            f"in {seconds:.1f} s with {POOL_WORKERS} worker processes (goal <= 60 s); CPU (user+sys) {own + workers:.0f} s: "
            f"this process {own:.0f} s, the workers {workers:.0f} s"
        )
        parent, child = peak_mib(resource.RUSAGE_SELF), peak_mib(resource.RUSAGE_CHILDREN)
        print(
            f"peak memory of the process tree ({memory.most_processes} processes at most): {memory.peak_kib / 1024:.0f} MiB "
            f"sampled; at most {parent + POOL_WORKERS * child:.0f} MiB (this process {parent:.0f} MiB + "
            f"{POOL_WORKERS} x the largest worker's {child:.0f} MiB) (goal < 2048)"
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
