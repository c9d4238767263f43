"""An Annex A workbook landed like any file: archived, then read as the return derived from it.

The workbook's archived bytes are read once (`ingest/annex_a.py`), its months derived
(`derive/months.py`), and the derived counts completed as a typed return is: the authority's
name from the register, its child population from the home's reference data (the mid-year
estimate of the financial year's start, as the population rule reads it), percentages and rates
from the catalogue's formulas (one decimal place, half up). The result is a `ParsedReturn` in the
standard layout, so validation, storage, publication and the scorecard take it as they take a
typed return; a typed return of the same authority and month is preferred to it.

Where an authority-month has a typed return and a derived one, the typed one is current (or the
derived one, as the home's settings say) and each count of it that differs from the derived one
is a finding (`with_reconciliation`).

The pipeline reads a workbook with the home's key (made on first use, or the operator's:
`ingest/pseudonyms.home_key`) and keeps its pseudonymised rows owner-only (`store/child_rows.py`)
until the workbook is purged, so that a steward can list the children behind a reconciliation
difference (`explain_differences`: `csc-returns findings --explain`, the reconciliation check's
metadata) and the owner can find the child behind a pseudonym (`child-lookup`). `validate`, a
reader, keeps nothing and reads with an ephemeral key (docs/child-level.md).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import multiprocessing
import os
from collections.abc import Generator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.derive.months import FIGURES, derive_return, figure_members
from pipelines.derive.reconcile import RULE, extract_named, reconcile
from pipelines.derive.settings import ReconciliationSettings
from pipelines.home import DataHome, use_child_level_key_file
from pipelines.ingest.annex_a import (
    CHILD_LEVEL_SUFFIXES,
    ChildLevel,
    holds_annex_a_lists,
    read_annex_a,
    read_child_level,
)
from pipelines.ingest.archive import read_archived, verified_archive_path
from pipelines.ingest.pseudonyms import ephemeral_key, home_key
from pipelines.ingest.readers import ParsedReturn, empty_frame, parse_table
from pipelines.ingest.received import ReceivedMonth
from pipelines.reference import Reference, load_reference
from pipelines.store.child_rows import keep_rows, read_rows, state, stated
from pipelines.validate.month import HELD_BACK, MonthValidation
from pipelines.validate.waivers import match_waivers, unwaived_errors
from schemas.catalogue import all_columns, derived_indicators
from schemas.findings import WARNING, findings_frame
from schemas.rules import FAMILY_OF_RULE, new_finding


def read_version(home: DataHome, sha256: str, file_name: str, reference: Reference | None = None) -> ParsedReturn:
    """An archived version as the pipeline reads it: the return derived from a child-level workbook
    (its pseudonymised rows kept, once, under the home's key), or the typed return it holds.
    `reference` is the home's reference data, when already loaded."""
    if file_name.lower().endswith(CHILD_LEVEL_SUFFIXES):
        data = verified_archive_path(home, sha256, file_name).read_bytes()
        if (read := read_child_level(data, file_name, home_key(home), *stated(home, sha256))) is not None:
            keep_rows(home, sha256, read)
            return derived_as_return(data, file_name, load_reference(home) if reference is None else reference, read)
    return read_archived(home, sha256, file_name)


def state_landed_workbooks(home: DataHome, la_code: str | None, extract_date: dt.date | None) -> list[str]:
    """Give `la_code` and `extract_date` (`run --la-code --extract-date`) to each child-level workbook
    in the landing folder that states its authority or extract date neither on a front sheet nor in
    its name; a version already registered without them is read again and registered with its
    months. The names of the workbooks given them."""
    from pipelines.ingest.arrivals import contents_of, scan_landing
    from pipelines.store.received import RecordedVersion, update_version
    from pipelines.store.warehouse import connect
    from pipelines.validate.month import file_findings

    if la_code is None and extract_date is None:
        return []
    files, _ = scan_landing(home)
    given = []
    for path in files:
        if path.is_symlink() or not path.name.lower().endswith(CHILD_LEVEL_SUFFIXES):
            continue
        data = path.read_bytes()
        if not holds_annex_a_lists(data):
            continue
        unstated = read_annex_a(data, path.name, ephemeral_key())
        if unstated.la_code is not None and unstated.extract_date is not None:
            continue  # it states both: what the operator gives serves only where it does not
        sha256 = hashlib.sha256(data).hexdigest()  # of the bytes read, not of the path again
        state(home, sha256, la_code, extract_date)
        given.append(path.name)
        if not home.warehouse.exists():
            continue
        with connect(home) as connection:
            registered = connection.execute(
                "SELECT 1 FROM received_files WHERE sha256 = ? AND file_name = ?", [sha256, path.name]
            ).fetchall()
            if registered:  # seen before without them: read again, registered with its months
                parsed = read_version(home, sha256, path.name)
                version = RecordedVersion(contents_of(parsed).months, parsed.readable)
                update_version(connection, path.name, sha256, version, file_findings(parsed, sha256))
    return given


# Workbooks are read by this many processes at once (issue 19: a national collection's 153 in a
# minute on two cores), when there are at least POOL_FROM of them: starting a process costs
# about a second of imports, more than a workbook's reading (about 0.4 s of CPU).
POOL_WORKERS = 2
POOL_FROM = 4


def read_versions(
    home: DataHome, versions: list[tuple[str, str]], workers: int | None = None
) -> dict[tuple[str, str], ParsedReturn]:
    """Each archived version `(sha256, file name)` as `read_version` reads it (`each_version_read`)."""
    return dict(each_version_read(home, versions, workers))


def each_version_read(
    home: DataHome, versions: list[tuple[str, str]], workers: int | None = None
) -> Generator[tuple[tuple[str, str], ParsedReturn], None, None]:
    """Each archived version `(sha256, file name)`, in order, with what `read_version` reads it to.
    The workbooks (whose reading is most of a run's) are read ahead by a pool of `workers` processes
    (POOL_WORKERS, never more than the cores this process may use), each workbook whole in one
    process, so what a version reads to does not depend on the pool; typed returns are read here,
    in their turn. A caller recording each version as it comes works while the pool reads on."""
    versions = list(dict.fromkeys(versions))
    workbooks = [version for version in versions if version[1].lower().endswith(CHILD_LEVEL_SUFFIXES)]
    workers = min(workers or POOL_WORKERS, len(os.sched_getaffinity(0)), len(workbooks))
    # A daemonic process (a pool's own worker) may start none: it reads them itself.
    if workers < 2 or len(workbooks) < POOL_FROM or multiprocessing.current_process().daemon:
        reference = load_reference(home) if workbooks else None
        for version in versions:
            yield version, read_version(home, *version, reference)
        return
    # Started afresh (spawn), not forked: the caller may hold threads and a database connection. The
    # key is made here first, and its place (the operator's, set at an edge) is handed on.
    home_key(home)
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(
        workers, mp_context=context, initializer=_start_worker, initargs=(home, home.child_level_key)
    )
    try:
        chunk = max(1, min(4, len(workbooks) // (workers * 8)))
        read = iter(pool.map(_read_in_worker, workbooks, chunksize=chunk))  # in order, as they finish
        pooled = set(workbooks)
        for version in versions:
            yield version, next(read) if version in pooled else read_version(home, *version)
    finally:
        pool.shutdown(cancel_futures=True)


_worker: tuple[DataHome, Reference] | None = None  # a pool process's home and its reference data, loaded once


def _start_worker(home: DataHome, key_file: Path) -> None:
    global _worker
    use_child_level_key_file(key_file)
    _worker = (home, load_reference(home))


def _read_in_worker(version: tuple[str, str]) -> ParsedReturn:
    assert _worker is not None
    home, reference = _worker
    return read_version(home, *version, reference)


def with_reconciliation(
    validation: MonthValidation,
    received: ReceivedMonth,
    waivers: pd.DataFrame | None = None,
    settings: ReconciliationSettings | None = None,
) -> MonthValidation:
    """The month's validation with each count of an authority's typed return that differs from the
    return derived from its child-level extract nearest the typed return's arrival
    (`derive/reconcile.py`, rule `child_level_reconciliation`), within the home's tolerances
    (`derive/settings.py`).

    With the typed return published (the default) a difference beyond its tolerance is an error on
    it, waivable like any (`waivers`): unwaived, it holds the typed return back. With the derived
    return published each difference is a warning on the derived return (nothing to hold back)."""
    settings = settings or ReconciliationSettings()
    month = received.month
    workbooks = [file for file in received.files if file.parsed.child_level]
    typed_files = sorted((file for file in received.files if not file.parsed.child_level), key=lambda f: f.arrival)
    if not workbooks or not typed_files:
        return validation
    # Each authority's latest typed return of the month (the current one, when typed is published).
    typed = pd.concat(
        [
            f.parsed.values.loc[f.in_month(month).to_numpy(dtype=bool)].assign(sha256=f.sha256, arrival=f.arrival)
            for f in typed_files
        ],
        ignore_index=True,
    ).drop_duplicates("la_code", keep="last")
    derived = pd.concat(
        [
            f.parsed.values.loc[f.in_month(month).to_numpy(dtype=bool)].assign(
                extract_date=f.parsed.extract_date.isoformat() if f.parsed.extract_date else f.file_name,
                extract_order=f.parsed.extract_date or dt.date.min,
                workbook_arrival=f.arrival,
            )
            for f in workbooks
        ],
        ignore_index=True,
    )
    if typed.empty or derived.empty:
        return validation
    # The extract nearest the typed return's arrival (of two as near, the later extract).
    paired = derived.merge(typed[["la_code", "arrival"]], on="la_code")
    paired["distance"] = (paired["workbook_arrival"] - paired["arrival"]).abs()
    nearest = paired.sort_values(
        ["la_code", "distance", "extract_order"], ascending=[True, True, False]
    ).drop_duplicates("la_code")
    differences = reconcile(typed, nearest.drop(columns=["arrival"]), settings.tolerances)
    if not differences:
        return validation
    if settings.derived_published:
        differences = [dataclasses.replace(f, severity=WARNING) for f in differences]
    found = findings_frame(differences)
    on_return = received.values if settings.derived_published else typed
    sha256 = dict(zip(on_return["la_code"], on_return["sha256"]))
    found = found.assign(sha256=found["la_code"].map(sha256), family=found["rule"].map(FAMILY_OF_RULE))
    if waivers is not None:
        found = match_waivers(found, waivers)
    else:
        found = found.assign(waived=False, waiver_reason=None, waiver_id=None)
    findings = pd.concat([validation.findings, found[validation.findings.columns]], ignore_index=True)
    returns = validation.returns.copy()
    errors = unwaived_errors(found)["la_code"].value_counts()
    warnings = found.loc[found["severity"] == WARNING, "la_code"].value_counts()
    returns["errors"] = returns["errors"] + returns["la_code"].map(errors).fillna(0).astype("int64")
    returns["warnings"] = returns["warnings"] + returns["la_code"].map(warnings).fillna(0).astype("int64")
    returns["status"] = np.where(returns["errors"] > 0, HELD_BACK, returns["status"])
    return dataclasses.replace(validation, findings=findings, returns=returns)


def derived_rows(received: list[ReceivedMonth]) -> pd.DataFrame:
    """Every return derived from a child-level workbook of the months (`derived_returns`): its
    authority, month, extract date, workbook, whether it is the month's current return, its counts."""
    frames = []
    for month in received:
        current = set(zip(month.values["la_code"], month.values["sha256"])) if not month.values.empty else set()
        for file in month.files:
            if not file.parsed.child_level:
                continue
            rows = file.parsed.values.loc[file.in_month(month.month).to_numpy(dtype=bool)]
            counts = rows.reindex(columns=FIGURES).apply(pd.to_numeric, errors="coerce").astype("float64")
            frames.append(
                pd.DataFrame(
                    {
                        "la_code": rows["la_code"].astype(str),
                        "period": month.month,
                        "extract_date": file.parsed.extract_date.isoformat() if file.parsed.extract_date else None,
                        "sha256": file.sha256,
                        "file": file.file_name,
                        "current": [(code, file.sha256) in current for code in rows["la_code"]],
                    }
                ).join(counts)
            )
    columns = ["la_code", "period", "extract_date", "sha256", "file", "current", *FIGURES]
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)


def derived_as_return(
    data: bytes, file_name: str, reference: Reference, read: ChildLevel | None = None
) -> ParsedReturn:
    """The return an Annex A workbook gives, in the standard layout, with the reader's findings
    (which name sheet cells, not the derived rows, so they are about the file as a whole);
    `read`: the workbook already read (else it is read with an ephemeral key)."""
    read = read or read_annex_a(data, file_name, ephemeral_key())
    result = derive_return([read])
    own = [dataclasses.replace(finding, row=None) for finding in [*read.findings, *result.findings]]
    derived = result.rows if read.derivable else pd.DataFrame()
    if derived.empty:
        why = read.problem or "the workbook's extract wholly covers no month"
        unreadable = new_finding("file_unreadable", file=file_name, message=f"no month can be derived: {why}")
        return ParsedReturn(file_name, empty_frame(), empty_frame(), [*own, unreadable], child_level=True)
    table = completed(derived, reference)
    cells = table.astype(object).where(table.notna(), "").astype(str).to_numpy().tolist()
    parsed = parse_table(file_name, list(table.columns), cells)
    parsed.findings[:0] = own
    parsed.child_level, parsed.extract_date = True, read.extract_date
    return parsed


def completed(derived: pd.DataFrame, reference: Reference) -> pd.DataFrame:
    """Derived counts as a whole return: name, population, percentages and rates (whole columns)."""
    table = pd.DataFrame(index=derived.index, columns=all_columns(), dtype=object)
    for column in derived.columns.intersection(table.columns):
        table[column] = derived[column].astype(object).where(derived[column].notna(), None)
    if reference.register is not None:
        names = dict(zip(reference.register["new_la_code"], reference.register["la_name"]))
        table["la_name"] = derived["la_code"].map(names)
    table["population_0_17"] = _populations(derived, reference)
    for indicator in derived_indicators():
        numerator = pd.to_numeric(table[str(indicator.numerator)], errors="coerce").astype("float64")
        denominator = pd.to_numeric(table[str(indicator.denominator)], errors="coerce").astype("float64")
        exact = numerator / denominator.where(denominator != 0) * (indicator.multiplier or 1)
        rounded = np.floor(exact * 10 + 0.5 + 1e-9) / 10  # one decimal place, half up
        table[indicator.column] = rounded.map(lambda v: None if pd.isna(v) else f"{v:.1f}")
    return table


def _populations(derived: pd.DataFrame, reference: Reference) -> pd.Series:
    """The authority's child population for each month: the latest mid-year estimate at or before
    the year its financial year starts (None where the home has none)."""
    if reference.populations is None or reference.populations.empty:
        return pd.Series(None, index=derived.index, dtype=object)
    year = derived["period"].str[:4].astype("int64")
    wanted = pd.DataFrame(
        {
            "position": np.arange(len(derived)),
            "la_code": derived["la_code"].astype(str).to_numpy(),
            "year": np.where(derived["period"].str[5:7].astype("int64") >= 4, year, year - 1).astype("int64"),
        }
    )
    official = pd.DataFrame(
        {
            "la_code": reference.populations["new_la_code"].astype(str),
            "estimate_year": reference.populations["year"].astype("int64"),
            "population": reference.populations["population"].astype("int64"),
        }
    ).sort_values("estimate_year")
    matched = pd.merge_asof(
        wanted.sort_values("year"), official, left_on="year", right_on="estimate_year", by="la_code"
    ).sort_values("position")
    population = matched["population"].astype(object).where(matched["population"].notna(), None)
    return pd.Series([None if v is None else int(v) for v in population.to_numpy()], index=derived.index, dtype=object)


def reconciliation_lines(home: DataHome) -> list[str]:
    """Every stored difference between a typed return and the return derived from a workbook, one
    line each (the run's summary of `csc-returns demo`); none when there are none."""
    from pipelines.store.warehouse import connect

    if not home.warehouse.exists():
        return []
    with connect(home, read_only=True) as connection:
        found = connection.execute(
            """SELECT period, la_code, severity, message FROM findings
               WHERE rule = 'child_level_reconciliation' ORDER BY period, la_code, "column" """
        ).fetchall()
    if not found:
        return []
    return [f"typed returns against child-level records: {len(found)} difference(s) (child_level_reconciliation):"] + [
        f"  {period} {la_code} ({severity}): {message}" for period, la_code, severity, message in found
    ]


def explain_differences(
    home: DataHome, month: str, la_code: str | None = None, findings: pd.DataFrame | None = None
) -> list[dict]:
    """For each stored reconciliation finding of `month` (of `la_code`), the pseudonymous children
    counted in the derived figure: from the kept rows of the workbook whose extract the finding
    names (of two of the same authority and extract date, the later arrival). For the steward only:
    `csc-returns findings --explain` and the reconciliation check's metadata, never a log or a file.

    Each record: la_code, period, figure, typed, derived, extract_date, workbook, `children`
    (pseudonym, list, rows: `Sheet:row` of each row counted; one per child of a stock), for a stock
    `left_out` (the children whose episode had started but who are not counted, each with `why`:
    the likeliest to explain a typed figure above the derived one), and `note` saying why there are
    none (a 12-month sum, the workbook purged). The choice: the typed figure's own children are
    unknowable, so the derived figure's children are listed, and beside them those it leaves out,
    for the steward to compare with the case system's list behind the typed figure."""
    from pipelines.store.received import month_files
    from pipelines.store.warehouse import connect

    with connect(home, read_only=True) as connection:
        files = month_files(connection, month)
        if findings is None:
            findings = connection.execute(
                """SELECT rule, la_code, period, "column", value, expected, message FROM findings
                   WHERE rule = ? AND period = ? ORDER BY la_code, "column" """,
                [RULE, month],
            ).df()
    findings = findings.loc[(findings["rule"] == RULE) & (findings["period"] == month)]
    if la_code is not None:
        findings = findings.loc[findings["la_code"] == la_code]
    if findings.empty:
        return []
    kept = {}
    for sha256, name, arrival in files:
        rows = read_rows(home, sha256, name)
        if rows is not None:
            kept[(rows.la_code, rows.extract_date.isoformat() if rows.extract_date else None)] = (arrival, rows)
    members: dict[tuple, pd.DataFrame] = {}
    explained = []
    for finding in findings.itertuples(index=False):  # one per difference, a handful a month
        extract_date = extract_named(finding.message)
        record = {
            "la_code": finding.la_code,
            "period": finding.period,
            "figure": finding.column,
            "typed": finding.value,
            "derived": finding.expected,
            "extract_date": extract_date,
            "workbook": None,
            "children": [],
            "left_out": [],
            "note": None,
        }
        found = kept.get((finding.la_code, extract_date))
        if found is None:
            record["note"] = "no pseudonymised rows kept for this extract (purged, or not yet run)"
        elif str(finding.column).endswith("_12m"):
            record["note"] = "a sum over 12 months: explain each month's figure"
        else:
            read = found[1]
            record["workbook"] = read.file
            key = (finding.la_code, extract_date)
            if key not in members:
                members[key] = figure_members(read)
            chosen = members[key]
            chosen = chosen.loc[(chosen["figure"] == finding.column) & (chosen["period"] == finding.period)]
            left = chosen["left_out"].notna().to_numpy(dtype=bool)
            record["children"] = _children(chosen.loc[~left])
            record["left_out"] = _children(chosen.loc[left])
        explained.append(record)
    return explained


def _children(members: pd.DataFrame) -> list[dict]:
    """One record per child counted (a row with no readable ID is its own), with the rows counted."""
    if members.empty:
        return []
    members = members.assign(
        where=members["sheet"].astype(str) + ":" + members["row"].astype("Int64").astype(str),
        child=members["child"].astype(object).where(members["child"].notna(), "(no readable ID)"),
    )
    if members["left_out"].notna().any():  # a stock's children left out: one row each, with why
        return [
            {"pseudonym": child, "list": int(number), "rows": [where], "why": why}
            for child, number, where, why in members[["child", "list", "where", "left_out"]].itertuples(index=False)
        ]
    grouped = members.groupby(["child", "list"], sort=True)["where"].agg(list).reset_index()
    return [
        {"pseudonym": child, "list": int(number), "rows": rows}
        for child, number, rows in grouped.itertuples(index=False)
    ]
