"""What a data home produced, as plain files that can be compared: a recorded before/after check.

    .venv/bin/python bench/fingerprint.py HOME OUT        # write HOME's fingerprint into folder OUT
    .venv/bin/python bench/fingerprint.py --compare A B   # compare two fingerprints; exit 1 when they differ

A fingerprint holds, for a home after a run:

- `publish/`: every published file, byte for byte, but for the day the returns arrived (the
  release's `as_of`, taken from the clock when a file lands), which becomes `<arrival-date>`, and
  for `manifest.json`, whose hashes and sizes are restated for the files so changed;
- `warehouse/*.csv`: the findings, returns, accepted figures and the private disclosure record,
  every column but the clock's (`recorded_at`, `received_at`, `validated_at`), rows sorted;
- `datadocs/<month>/<page>.txt`: the text a steward reads on each Great Expectations page of the
  month (the index, each suite's expectations and each suite's validation result), without GX's
  timestamps, run names and batch fingerprints, which change on every run.

Refactors that must not change results are checked by fingerprinting a home before and after
(`docs/performance.md` says which homes were compared).
"""

from __future__ import annotations

import argparse
import filecmp
import hashlib
import html
import json
import re
import shutil
import sys
from pathlib import Path

TABLES = {
    "findings": "SELECT * EXCLUDE (waiver_id) FROM findings",
    "returns": "SELECT * FROM returns",
    "indicator_values": "SELECT * FROM indicator_values",
    "disclosed_figures": "SELECT * EXCLUDE (recorded_at, release) FROM disclosed_figures",
    "received_files": "SELECT * EXCLUDE (received_at, arrival) FROM received_files",
}
# GX writes these on every run: times, run names, its load-time marker and a hash of the batch.
_VOLATILE = [
    (re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z?"), "<time>"),
    (re.compile(r"\d{8}T\d{6}\.\d+Z"), "<time>"),
    (re.compile(r"pandas_data_fingerprint \w+"), "pandas_data_fingerprint <hash>"),
    (re.compile(r"site_[0-9a-f]{12}"), "site_<folder hash>"),  # named by the folder's path
]


_VALUE_TUPLE = re.compile(r"\(('[^']*'(?:, '[^']*')+)\)")


def _sorted_tuple(match: re.Match) -> str:
    return "(" + ", ".join(sorted(match.group(1).split(", "))) + ")"


def page_text(path: Path) -> str:
    """The visible text of a GX page, one run's volatile details replaced. A multicolumn expectation's
    unexpected value is shown as a tuple in an order that varies between processes: sorted here."""
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.S | re.I)
    text = html.unescape(re.sub(r"<[^>]+>", " ", text))
    for pattern, replacement in _VOLATILE:
        text = pattern.sub(replacement, text)
    text = re.sub(r"\s+", " ", text).strip()
    return _VALUE_TUPLE.sub(_sorted_tuple, text) + "\n"


def _data_docs(reports: Path, out: Path) -> None:
    for month_folder in sorted(p for p in (reports / "gx").glob("*") if p.is_dir() and p.name != "static"):
        target = out / "datadocs" / month_folder.name
        target.mkdir(parents=True, exist_ok=True)
        for page in sorted(month_folder.rglob("*.html")):
            relative = page.relative_to(month_folder)
            if relative.parts[0] == "static":
                continue
            if relative.parts[0] == "validations":  # validations/<suite>/<run>/<time>/<page>: by suite
                name = f"validations-{relative.parts[1]}"
            else:
                name = "-".join(relative.with_suffix("").parts)
            (target / f"{name}.txt").write_text(page_text(page), encoding="utf-8")


def _arrival_dates(connection) -> list[str]:
    return sorted(
        {
            str(day)
            for (day,) in connection.execute("SELECT DISTINCT CAST(received_at AS DATE) FROM received_files").fetchall()
        },
        reverse=True,
    )


def fingerprint(home: Path, out: Path) -> None:
    import duckdb

    shutil.rmtree(out, ignore_errors=True)
    (out / "warehouse").mkdir(parents=True)
    connection = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        dates = _arrival_dates(connection)
        for name, query in TABLES.items():
            frame = connection.execute(f"{query} ORDER BY ALL NULLS FIRST").df()
            frame.to_csv(out / "warehouse" / f"{name}.csv", index=False)
    finally:
        connection.close()
    for path in sorted(p for p in (home / "publish").rglob("*") if p.is_file()):
        target = out / "publish" / path.relative_to(home / "publish")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(_without_dates(path.read_bytes(), dates))
    manifest = out / "publish" / "manifest.json"
    if manifest.exists():
        _restate_manifest(manifest, out / "publish")
    _data_docs(home / "reports", out)


def _without_dates(data: bytes, dates: list[str]) -> bytes:
    for day in dates:
        data = data.replace(day.encode(), b"<arrival-date>")
    return data


def _restate_manifest(manifest: Path, folder: Path) -> None:
    """The manifest's sha256 and size of each file, restated for the file as fingerprinted: the
    served bytes carry the arrival date, so their hashes change with the day a run is made."""
    document = json.loads(manifest.read_text(encoding="utf-8"))
    for entry in document["files"]:
        data = (folder / entry["path"]).read_bytes()
        entry["sha256"], entry["bytes"] = hashlib.sha256(data).hexdigest(), len(data)
    manifest.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def compare(first: Path, second: Path) -> list[str]:
    """One line per file that differs, or that only one fingerprint has."""
    differences: list[str] = []

    def walk(comparison: filecmp.dircmp, prefix: str = "") -> None:
        differences.extend(f"only in {first}: {prefix}{name}" for name in comparison.left_only)
        differences.extend(f"only in {second}: {prefix}{name}" for name in comparison.right_only)
        _, mismatch, errors = filecmp.cmpfiles(
            comparison.left, comparison.right, comparison.common_files, shallow=False
        )
        differences.extend(f"differs: {prefix}{name}" for name in mismatch + errors)
        for name, sub in sorted(comparison.subdirs.items()):
            walk(sub, f"{prefix}{name}/")

    walk(filecmp.dircmp(first, second))
    return sorted(differences)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", action="store_true", help="compare fingerprints A and B")
    parser.add_argument("first", type=Path, metavar="HOME_OR_A")
    parser.add_argument("second", type=Path, metavar="OUT_OR_B")
    args = parser.parse_args(argv)
    if not args.compare:
        fingerprint(args.first, args.second)
        return 0
    differences = compare(args.first, args.second)
    for line in differences:
        print(line)
    print(f"{len(differences)} difference(s)")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
