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
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from pipelines.home import DataHome
from pipelines.reading import ParsedReturn, empty_frame, read_return
from pipelines.warehouse import connect, replace_rows
from schemas.catalogue import PERIOD_PATTERN
from schemas.findings import ERROR, Finding, findings_frame
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


def _placed_rows(values: pd.DataFrame) -> set[int]:
    """Rows that name an authority and a valid month: a month can hold them."""
    if values.empty:
        return set()
    placed = values["la_code"].notna() & values["period"].str.fullmatch(PERIOD_PATTERN).fillna(False)
    return set(values.loc[placed, "row"])


def _file_level(findings: list[Finding], parsed: ParsedReturn) -> list[Finding]:
    """Findings about the whole file (no row, or the header) or about rows no month can hold."""
    placed = _placed_rows(parsed.values)
    return [f for f in findings if f.row is None or f.row == 1 or f.row not in placed]


def _header_findings(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.row is None or f.row == 1]


def archive_landing(home: DataHome, files: list[Path] | None = None) -> list[ArchivedFile]:
    """Archive and register each landed file version once; idempotent.

    A file version is its bytes and its extension. A name of the landing folder showing
    content it did not hold before is an arrival, even of bytes received earlier (an authority
    re-sending its first submission after a second): the arrival number orders supersession.
    """
    home.ensure()
    archived = []
    with connect(home) as connection:
        for path in files if files is not None else landed_files(home):
            try:
                sha256 = sha256_of(path)
            except FileNotFoundError:  # moved away between listing and reading: next time
                continue
            suffix = path.suffix.lower()
            seen = connection.execute("SELECT sha256 FROM landing_seen WHERE file_name = ?", [path.name]).fetchone()
            arrived = seen is None or seen[0] != sha256
            connection.execute("INSERT OR REPLACE INTO landing_seen VALUES (?, ?)", [path.name, sha256])
            known = connection.execute("SELECT periods, readable FROM received_files WHERE sha256 = ? AND suffix = ?",
                                       [sha256, suffix]).fetchone()
            if known:
                if arrived:
                    connection.execute("UPDATE received_files SET arrival = nextval('arrival_seq') "
                                       "WHERE sha256 = ? AND suffix = ?", [sha256, suffix])
                archived.append(ArchivedFile(sha256, path.name, tuple(known[0]), known[1], new=arrived))
                continue
            _copy_into_archive(path, archive_path(home, sha256, path.name))
            parsed = parse_archived(home, sha256, path.name)
            stated = parsed.values["period"].dropna()
            periods = sorted(set(stated[stated.str.fullmatch(PERIOD_PATTERN)])) if parsed.readable else []
            connection.execute(
                "INSERT INTO received_files VALUES (?, ?, ?, ?, nextval('arrival_seq'), ?, ?, ?)",
                [sha256, path.name, suffix, path.stat().st_size,
                 dt.datetime.now(dt.timezone.utc).replace(tzinfo=None), periods, parsed.readable])
            frame = findings_frame(_file_level(parsed.findings, parsed)).assign(sha256=sha256, period=None)
            frame["family"] = frame["rule"].map(lambda rule: RULES[rule].family)
            replace_rows(connection, "findings", frame, "sha256 = ? AND file = ? AND period IS NULL", [sha256, path.name])
            archived.append(ArchivedFile(sha256, path.name, tuple(periods), parsed.readable, new=True))
    return archived


def received_month(home: DataHome, month: str) -> ReceivedMonth:
    with connect(home) as connection:
        files = connection.execute(
            "SELECT sha256, file_name, arrival FROM received_files WHERE list_contains(periods, ?) ORDER BY arrival",
            [month]).fetchall()
    value_frames, text_frames, file_findings, header_findings = [], [], [], {}
    for sha256, file_name, arrival in files:
        parsed = parse_archived(home, sha256, file_name)
        in_month = parsed.values["period"].eq(month).fillna(False).to_numpy()
        value_frames.append(parsed.values[in_month].assign(sha256=sha256, arrival=arrival))
        text_frames.append(parsed.text[in_month])
        file_findings.extend((sha256, f) for f in parsed.findings if f.period == month)
        header_findings[sha256] = _header_findings(parsed.findings)
    if not value_frames:
        empty = empty_frame()
        return ReceivedMonth(month, empty.assign(sha256=None, arrival=None), empty, [])
    values = pd.concat(value_frames, ignore_index=True)
    text = pd.concat(text_frames, ignore_index=True)
    # The latest arrival wins; within one file the last row wins (both rows carry duplicate_return).
    current = values.dropna(subset=["la_code"]).drop_duplicates("la_code", keep="last").index
    current_keys = set(zip(values.loc[current, "sha256"], values.loc[current, "row"]))
    findings = [f for sha256, f in file_findings if (sha256, f.row) in current_keys]
    # A header problem (a column twice, a column not in the standard) concerns every return the
    # file gives this month: an error holds each of them back, a warning is said once per file.
    for sha256, header in header_findings.items():
        rows = values.loc[current][values.loc[current, "sha256"] == sha256]
        if rows.empty:
            continue
        for finding in header:
            if finding.severity == ERROR:
                findings += [replace(finding, la_code=code, period=month) for code in rows["la_code"]]
            else:
                findings.append(replace(finding, period=month))
    return ReceivedMonth(month, values.loc[current].reset_index(drop=True), text.loc[current].reset_index(drop=True), findings)
