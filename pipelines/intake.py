"""Intake: archive every landed file untouched, then assemble a month's current returns.

The archive (`<home>/archive/<sha256><suffix>`) is the source of truth; the landing folder is
only an inbox. A file's arrival number orders submissions: for each authority and month the
row from the latest arrival supersedes earlier ones, and every file stays archived.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipelines.home import DataHome
from pipelines.reading import ParsedReturn, empty_frame, read_return
from pipelines.warehouse import connect, replace_rows
from schemas.catalogue import PERIOD_PATTERN
from schemas.findings import Finding, concat_findings, findings_frame
from schemas.rules import RULES
from schemas.structure import structure_findings

# Files still being written by a copy tool or Excel's lock files are not returns (yet).
_IGNORED_PREFIXES = (".", "~$")
_IGNORED_SUFFIXES = (".part", ".tmp", ".crdownload", ".partial")


@dataclass(frozen=True)
class ArchivedFile:
    sha256: str
    file_name: str
    periods: tuple[str, ...]
    readable: bool
    new: bool


@dataclass
class ReceivedMonth:
    month: str
    values: pd.DataFrame  # current rows, one per authority, with sha256 and arrival
    text: pd.DataFrame
    findings: list[Finding]  # reading and structure findings for the current rows and their files


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def landed_files(home: DataHome) -> list[Path]:
    if not home.landing.exists():
        return []
    files = [p for p in home.landing.iterdir() if p.is_file()
             and not p.name.startswith(_IGNORED_PREFIXES) and not p.name.lower().endswith(_IGNORED_SUFFIXES)]
    return sorted(files, key=lambda p: (p.stat().st_mtime_ns, p.name))


def archive_path(home: DataHome, sha256: str, file_name: str) -> Path:
    return home.archive / f"{sha256}{Path(file_name).suffix.lower()}"


def _copy_into_archive(source: Path, target: Path) -> None:
    if target.exists():
        return
    temporary = target.with_name(target.name + ".incoming")
    shutil.copyfile(source, temporary)
    os.replace(temporary, target)


def parse_archived(home: DataHome, sha256: str, file_name: str) -> ParsedReturn:
    parsed = read_return(archive_path(home, sha256, file_name), display_name=file_name)
    if parsed.readable:
        parsed.findings.extend(structure_findings(parsed.values))
    return parsed


def _unplaced_rows(values: pd.DataFrame) -> set[int]:
    """Rows naming no authority or no valid month: they belong to their file, not to a month."""
    if values.empty:
        return set()
    placed = values["la_code"].notna() & values["period"].str.fullmatch(PERIOD_PATTERN).fillna(False)
    return set(values.loc[~placed, "row"])


def _file_level(findings: list[Finding], parsed: ParsedReturn) -> list[Finding]:
    """Findings about the whole file (no row, or the header) or about rows no month can hold."""
    unplaced = _unplaced_rows(parsed.values)
    return [f for f in findings if f.row is None or f.row == 1 or f.row in unplaced]


def archive_landing(home: DataHome, files: list[Path] | None = None) -> list[ArchivedFile]:
    """Archive and register each landed file once (by sha256); idempotent."""
    home.ensure()
    archived = []
    with connect(home) as connection:
        for path in files if files is not None else landed_files(home):
            sha256 = sha256_of(path)
            known = connection.execute("SELECT periods, readable FROM received_files WHERE sha256 = ?", [sha256]).fetchone()
            if known:
                archived.append(ArchivedFile(sha256, path.name, tuple(known[0]), known[1], new=False))
                continue
            _copy_into_archive(path, archive_path(home, sha256, path.name))
            parsed = parse_archived(home, sha256, path.name)
            stated = parsed.values["period"].dropna()
            periods = sorted(set(stated[stated.str.fullmatch(PERIOD_PATTERN)])) if parsed.readable else []
            connection.execute(
                "INSERT INTO received_files VALUES (?, ?, ?, ?, nextval('arrival_seq'), ?, ?, ?)",
                [sha256, path.name, Path(path.name).suffix.lower(), path.stat().st_size,
                 dt.datetime.now(dt.timezone.utc).replace(tzinfo=None), periods, parsed.readable])
            file_findings = _file_level(parsed.findings, parsed)
            frame = findings_frame(file_findings).assign(sha256=sha256, period=None)
            frame["family"] = frame["rule"].map(lambda r: RULES[r].family if r in RULES else "structure")
            replace_rows(connection, "findings", frame, "sha256 = ? AND period IS NULL", [sha256])
            archived.append(ArchivedFile(sha256, path.name, tuple(periods), parsed.readable, new=True))
    return archived


def received_month(home: DataHome, month: str) -> ReceivedMonth:
    with connect(home) as connection:
        files = connection.execute(
            "SELECT sha256, file_name, arrival FROM received_files WHERE list_contains(periods, ?) ORDER BY arrival",
            [month]).fetchall()
    value_frames, text_frames, file_findings = [], [], []
    for sha256, file_name, arrival in files:
        parsed = parse_archived(home, sha256, file_name)
        in_month = parsed.values["period"].eq(month).fillna(False).to_numpy()
        value_frames.append(parsed.values[in_month].assign(sha256=sha256, arrival=arrival))
        text_frames.append(parsed.text[in_month])
        file_findings.extend((sha256, f) for f in parsed.findings if f.period == month)
    if not value_frames:
        empty = empty_frame()
        return ReceivedMonth(month, empty.assign(sha256=None, arrival=None), empty, [])
    values = pd.concat(value_frames, ignore_index=True)
    text = pd.concat(text_frames, ignore_index=True)
    # The latest arrival wins; within one file the last row wins (both rows carry duplicate_return).
    current = values.dropna(subset=["la_code"]).drop_duplicates("la_code", keep="last").index
    current_keys = set(zip(values.loc[current, "sha256"], values.loc[current, "row"]))
    findings = [f for sha256, f in file_findings if (sha256, f.row) in current_keys]
    return ReceivedMonth(month, values.loc[current].reset_index(drop=True), text.loc[current].reset_index(drop=True), findings)
