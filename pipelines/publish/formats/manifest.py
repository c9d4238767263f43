"""`manifest.json`, written last: every other file's path, sha256, size and row count, so a mirror can
verify a download, and the attacker's audit of each month released (`disclosure_audits`: its
summary, never a figure; a month keeps its latest release's). Every file is hashed; a row count is taken from the previous manifest where the
file's hash is the one it listed (the same bytes have the same rows), else counted."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from pipelines.publish.ees import parse_table
from pipelines.publish.files import MANIFEST
from pipelines.publish.formats.descriptions import relative, write_json
from pipelines.publish.formats.publication import Publication

name = "manifest"


def files(month: str) -> list[str]:
    return [MANIFEST]


def write(folder: Path, publication: Publication) -> list[str]:
    listed, audits = _previous(folder / MANIFEST)
    audits.update({released.month: released.audit for released in publication.months})
    entries = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST):
        data = path.read_bytes()
        name, digest = relative(folder, path), hashlib.sha256(data).hexdigest()
        before = listed.get(name)
        if path.suffix != ".csv":
            rows = None
        elif before is not None and before.get("sha256") == digest and isinstance(before.get("rows"), int):
            rows = before["rows"]
        else:
            rows = len(parse_table(data, digest)[1])
        entries.append({"path": name, "sha256": digest, "bytes": len(data), "rows": rows})
    return write_json(folder, MANIFEST, {"files": entries, "disclosure_audits": dict(sorted(audits.items()))})


def _previous(path: Path) -> tuple[dict[str, dict], dict[str, dict]]:
    """The previous release's entries by path, and its audits by month (none when there is no readable
    manifest)."""
    try:
        previous = json.loads(path.read_text(encoding="utf-8"))
        files = {entry["path"]: entry for entry in previous["files"]}
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return {}, {}
    audits = previous.get("disclosure_audits")
    return files, dict(audits) if isinstance(audits, dict) else {}
