"""What the descriptions of the folder share: the published data files, each release's metadata,
and a JSON document written as every description is (sorted keys, two-space indent, UTF-8)."""

from __future__ import annotations

import json
from pathlib import Path

from pipelines.publish.files import DATA_SUFFIX, RELEASE_METADATA, RELEASES_FOLDER, REVISIONS_FILE, is_meta_file
from pipelines.publish.folder import write_file


def json_bytes(document: dict) -> bytes:
    """The bytes of `json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False)` and a newline.

    With an indent, the standard library encodes in Python, node by node, and the data package
    holds the same schema for every monthly file: here a container met again at the same depth
    (the same object) is encoded once.
    """
    encoded: dict[tuple[int, int], str] = {}

    def encode(value: object, level: int) -> str:
        if not isinstance(value, dict | list | tuple) or not value:
            return json.dumps(value, ensure_ascii=False)
        key = (id(value), level)
        if key not in encoded:
            inner, outer = "\n" + "  " * (level + 1), "\n" + "  " * level
            if isinstance(value, dict):
                items = [
                    f"{inner}{json.dumps(k, ensure_ascii=False)}: {encode(v, level + 1)}"
                    for k, v in sorted(value.items())
                ]
                encoded[key] = "{" + ",".join(items) + outer + "}"
            else:
                encoded[key] = "[" + ",".join(inner + encode(item, level + 1) for item in value) + outer + "]"
        return encoded[key]

    if not _string_keys(document):
        return (json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
    return (encode(document, 0) + "\n").encode("utf-8")


def _string_keys(value: object) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _string_keys(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return all(_string_keys(item) for item in value)
    return True


def write_json(folder: Path, path: str, document: dict) -> list[str]:
    """Write the document as `path`; [path] when its bytes changed."""
    return [path] if write_file(folder / path, json_bytes(document)) else []


def relative(folder: Path, path: Path) -> str:
    return path.relative_to(folder).as_posix()


def data_files(folder: Path) -> list[str]:
    """EES data files in the folder (the time series and each release), without their metadata."""
    return sorted(
        relative(folder, p)
        for p in folder.rglob(f"*{DATA_SUFFIX}")
        if not is_meta_file(p.name) and p.name != REVISIONS_FILE
    )


def release_metadata(folder: Path) -> dict[str, dict]:
    """Each release's metadata (as_of date, notes) by month, read from its release.json."""
    releases = {}
    for path in sorted(folder.glob(f"{RELEASES_FOLDER}/*/{RELEASE_METADATA}")):
        releases[path.parent.name] = json.loads(path.read_text(encoding="utf-8"))
    return releases
