"""The pipeline's steps over a data home, each composing the stages in order.

A step reads what it needs once, hands plain tables from one stage to the next and writes
once: ingest (read, archive, arrivals) -> validate (the rule book, no database) -> store (one
transaction) -> publish. The Dagster assets in `assets/` and the command line call these.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pipelines.derive.settings import ReconciliationSettings, reconciliation_settings
from pipelines.home import DataHome
from pipelines.ingest.archive import ArchivedFile, archive_path, copy_into_archive
from pipelines.ingest.arrivals import LandingChanged, contents_of, open_landed, scan_landing, sha256_of_handle
from pipelines.ingest.readers import ParsedReturn
from pipelines.ingest.received import ReceivedFile, ReceivedMonth, assemble_month
from pipelines.publish import release
from pipelines.publish.dataset import PublishSettings
from pipelines.publish.destinations import Destination, DestinationError, destination_for
from pipelines.publish.guard import guard_blockers_by_month
from pipelines.publish.release import PublishingError, ReleaseSummary
from pipelines.reference import ANNUAL_FILE, NEIGHBOURS_FILE, REGISTER_FILE, TARGETS_FILE, load_reference
from pipelines.scorecard.benchmarks import (
    BENCHMARK_COLUMNS,
    BENCHMARK_DTYPES,
    BENCHMARKS_FILE,
    BUILD_VERSION,
    MIN_AUTHORITIES,
    build_benchmarks,
    read_benchmarks,
)
from pipelines.scorecard.page import ScorecardFiles, write_scorecard
from pipelines.scorecard.rag import build_scorecard
from pipelines.scorecard.targets import load_targets
from pipelines.steps.child_level import (
    derived_rows,
    each_version_read,
    read_version,
    read_versions,
    with_reconciliation,
)
from pipelines.store import month as stored_months
from pipelines.store.benchmarks import (
    accepted_digests,
    benchmark_rows,
    built_digests,
    export_benchmarks,
    month_benchmarks,
    store_benchmarks,
)
from pipelines.store.month import accepted_history, month_findings, months_history_findings_differ, store_validations
from pipelines.store.received import (
    RecordedVersion,
    file_errors,
    landing_memory,
    month_files,
    record_refusals,
    record_sighting,
    register_file,
)
from pipelines.store.status import held_back_returns, records
from pipelines.store.status import stored_months as validated_months
from pipelines.store.validations import (
    ValidationBasis,
    changes_since_validation_by_month,
    reference_fingerprint,
    waiver_states,
)
from pipelines.store.waivers import list_waivers
from pipelines.store.warehouse import connect, replace_table, transaction
from pipelines.validate.month import (
    MonthValidation,
    RangeInputs,
    check_months,
    file_findings,
    history_findings,
    load_engine,
)
from pipelines.validate.waivers import unwaived_errors
from schemas.month import months_after
from schemas.rules import HISTORY_MONTHS, HISTORY_RULES


def archive_landing(home: DataHome, files: list[Path] | None = None) -> list[ArchivedFile]:
    """Archive and register each landed file version once, with its own findings; idempotent.

    Which files are arrivals is decided by `pipelines.ingest.arrivals`, as the sensor decides it.
    """
    home.ensure()
    archived = []
    refused = None
    if files is None:
        files, refused = scan_landing(home)
    with connect(home) as connection:
        if refused is not None:
            record_refusals(connection, refused)  # links out of the folder, names that are not UTF-8
        memory = landing_memory(connection)
        # Each file hashed and copied in order; then the new versions read (workbooks by a pool of
        # processes, reading ahead: each_version_read) and each recorded in order, as one by one.
        landed_files = []
        new_versions: set[tuple[str, str]] = set()
        for path in files:
            # Opened once: the descriptor checked is the one hashed and copied (never a link swapped since).
            try:
                with open_landed(home, path.name) as landed:
                    sha256, size = sha256_of_handle(landed)
                    sighting = memory.observe(path.name, sha256)
                    if sighting.known is None and sighting.version not in new_versions:
                        copy_into_archive(home, landed, path.name, sha256, size)
                        new_versions.add(sighting.version)
                        landed_files.append((path, sha256, size, sighting, True))
                        continue
            except (FileNotFoundError, LandingChanged):  # moved away or swapped since listing: the next scan says
                continue
            landed_files.append((path, sha256, size, sighting, False))
        reads = each_version_read(home, [(sha256, path.name) for path, sha256, _, _, new in landed_files if new])
        for path, sha256, size, sighting, new in landed_files:
            _, suffix = sighting.version
            if not new:
                # Known before this scan, or a copy of a version this scan has just recorded.
                known = sighting.known or memory.versions[sighting.version]
                if sighting.arrived:  # else the name is on record with this version already
                    record_sighting(connection, path.name, sha256, suffix, arrived=True)
                archived.append(ArchivedFile(sha256, path.name, known.periods, known.readable, new=sighting.arrived))
                continue
            read, parsed = next(reads)  # a child-level workbook: the return derived from it
            assert read == (sha256, path.name)
            if parsed.child_level:
                archive_path(home, sha256, path.name).chmod(0o600)  # identifiable children: the owner only
            version = RecordedVersion(contents_of(parsed).months, parsed.readable)
            register_file(connection, path.name, sha256, suffix, size, version, file_findings(parsed, sha256))
            memory.versions[sighting.version] = version
            archived.append(ArchivedFile(sha256, path.name, version.periods, version.readable, new=True))
        reads.close()  # the pool, if one was started, ends here
    return archived


def _assemble(
    home: DataHome,
    month: str,
    files: list[tuple[str, str, int]],
    parsed: dict[tuple[str, str], ParsedReturn] | None = None,
    settings: ReconciliationSettings | None = None,
) -> ReceivedMonth:
    """The month's current returns from its files; `parsed` keeps each file read once across months
    (a history sent as one file holds every month: read 120 times, it was most of the run). Which
    of a typed and a derived return is current is the home's setting (`derive/settings.py`)."""
    parsed = {} if parsed is None else parsed
    settings = settings or reconciliation_settings(home)
    for sha256, name, _ in files:
        if (sha256, name) not in parsed:
            parsed[(sha256, name)] = read_version(home, sha256, name)
    return assemble_month(
        month,
        [ReceivedFile(sha256, name, arrival, parsed[(sha256, name)]) for sha256, name, arrival in files],
        derived_first=settings.derived_published,
    )


def received_month(home: DataHome, month: str) -> ReceivedMonth:
    """The month's current return of each authority, read from the archive."""
    with connect(home) as connection:
        files = month_files(connection, month)
    return _assemble(home, month, files)


def validate_month(
    home: DataHome, month: str, engine: str = "gx", today: dt.date | None = None, write_report: bool = False
) -> MonthValidation:
    """Validate the current return of every authority for `month` and store returns and findings.

    `write_report` (engine "gx") also writes Great Expectations' HTML Data Docs for the month's
    cross-column rules under `<home>/reports/gx/<month>/`, the page a steward opens from the check.
    """
    [validation] = validate_months(home, [month], engine=engine, today=today, write_report=write_report)
    return validation


def load_validation_engine(engine: str = "gx") -> None:
    """Load what `validate_months` with `engine` loads first in a process (GX: seconds), for a process
    that waits for its run to load it meanwhile (`orchestration/launcher.py`)."""
    load_engine(engine)


def validate_months(
    home: DataHome, months: list[str], engine: str = "gx", today: dt.date | None = None, write_report: bool = False
) -> list[MonthValidation]:
    """Validate several months in one pass: the fixed work once, one transaction.

    Reads the files (each once, however many months it holds), the accepted history, the
    reference data, the targets and the waivers once, and validates the months together
    (`validate.month.check_months`: the findings and statuses of validating them one after the
    other in calendar order, each against the accepted returns of the months before it); then
    stores every month's returns, findings and what its validation depended on (the publication
    guard's basis) together.
    """
    months = sorted(months)
    reference_files = reference_fingerprint(home)  # before reading: a re-import meanwhile shows as a change
    inputs, settings = _validation_inputs(home, months)
    validations = check_months(
        inputs,
        engine=engine,
        today=today,
        report_folders={month: home.data_docs(month) for month in months} if write_report else None,
    )
    # A typed return beside a return derived from the authority's child-level records: each count that differs.
    validations = [
        with_reconciliation(v, month_received, inputs.waivers, settings)
        for v, month_received in zip(validations, inputs.months)
    ]
    bases = [validation_basis(month_received, inputs.waivers, reference_files) for month_received in inputs.months]
    with connect(home) as connection:
        store_validations(connection, validations, bases, derived_rows(list(inputs.months)))
    return validations


def _validation_inputs(
    home: DataHome, months: list[str], read_only: bool = False
) -> tuple[RangeInputs, ReconciliationSettings]:
    """What validating `months` reads, each thing once: their files (each once, however many months
    it holds; workbooks by a pool of processes), the accepted history, the reference data, the
    targets, the waivers; and the home's reconciliation settings."""
    with connect(home, read_only=read_only) as connection:
        files = {month: month_files(connection, month) for month in months}
        history = accepted_history(connection)
        waivers = list_waivers(connection, include_revoked=True)
    reference = load_reference(home)
    targets_path = home.reference / TARGETS_FILE  # the Data Docs ask the board's question too
    targets = load_targets(targets_path) if targets_path.exists() else None
    # Every file of the months read once, before assembling them (workbooks by a pool of processes).
    parsed = read_versions(home, [(sha256, name) for month in months for sha256, name, _ in files[month]])
    settings = reconciliation_settings(home)
    received = [_assemble(home, month, files[month], parsed, settings) for month in months]
    return RangeInputs(received, history, reference, waivers, targets), settings


def months_validated_differently(home: DataHome, months: list[str], today: dt.date | None = None) -> list[str]:
    """Of `months` (each validated before, in the order they run), those a validation now would
    change; nothing is written.

    From the first whose validation's inputs have changed since (a file arrived, a waiver, a reference
    file: the publication guard's test), every month: each is run again. Before it, only the history
    rules read anything but the month's own files, reference files and waivers, so a month whose
    history rules find now, settled over these months against the history as it now stands (each
    month against the months before it, the other rules' holds as stored), what is stored finds,
    accepts and publishes what is stored: its files, findings, Data Docs, figures and release stand.
    """
    months = sorted(months)
    if not months:
        return []
    # Read-only: the live warehouse for the writer's own process, the readers' snapshot for anyone else.
    with connect(home, read_only=True) as connection:
        moved = [m for m, causes in changes_since_validation_by_month(home, connection, months).items() if causes]
        unmoved = [m for m in months if not moved or m < min(moved)]
        stored = month_findings(connection, unmoved)
    changed = set(months) - set(unmoved)
    if unmoved:
        inputs, _ = _validation_inputs(home, unmoved, read_only=True)
        other_rules = unwaived_errors(stored[~stored["rule"].isin(list(HISTORY_RULES))])
        other_rules = other_rules[other_rules["la_code"].notna() & other_rules["period"].notna()]
        held = set(zip(other_rules["la_code"], other_rules["period"]))
        found = history_findings(inputs, held, today)
        with connect(home, read_only=True) as connection:  # a temporary table only
            changed |= months_history_findings_differ(connection, unmoved, found)
    return sorted(changed)


def validation_basis(received: ReceivedMonth, waivers: pd.DataFrame, reference: dict[str, str]) -> ValidationBasis:
    """What a month's validation read that may change before publication (the guard compares)."""
    arrivals = [file.arrival for file in received.files]
    return ValidationBasis(received.month, max(arrivals, default=0), waiver_states(waivers, received.month), reference)


def refresh_scorecard(home: DataHome) -> tuple[pd.DataFrame, ScorecardFiles] | None:
    """Rebuild the scorecard from every accepted month; None when no targets are imported."""
    targets_path = home.reference / TARGETS_FILE
    if not targets_path.exists():
        return None
    with connect(home) as connection:
        table = build_scorecard(accepted_history(connection), load_targets(targets_path))
        with transaction(connection):
            replace_table(connection, "scorecard", table)
    register = load_reference(home).register
    names = dict(zip(register["new_la_code"], register["la_name"])) if register is not None else {}
    return table, write_scorecard(
        table,
        home.reports / "scorecard",
        title="Scorecard against improvement board targets",
        names=names,
        benchmarks=read_benchmarks(home.reports / "scorecard"),
    )


# The reference files benchmarks read: a change to any of them builds every month again.
BENCHMARK_REFERENCE = (REGISTER_FILE, NEIGHBOURS_FILE, ANNUAL_FILE)


def refresh_benchmarks(
    home: DataHome, shown_month: str, min_authorities: int = MIN_AUTHORITIES
) -> tuple[pd.DataFrame, int, Path]:
    """Bring the benchmarks of every accepted month (England, region, statistical neighbours, quartile
    and band) up to date in DuckDB table `benchmarks` and `reports/scorecard/benchmarks.csv`:
    (`shown_month`'s rows, the rows of every month, the CSV).

    Only the months whose accepted figures, reference files or settings changed since they were built
    are built again (`store.benchmarks`); the CSV is written whole each time."""
    basis = json.dumps(
        {
            "reference": reference_fingerprint(home, BENCHMARK_REFERENCE),
            "min_authorities": min_authorities,
            "build": BUILD_VERSION,
        },
        sort_keys=True,
    )
    with connect(home) as connection:
        digests = accepted_digests(connection)
        built = built_digests(connection, basis)
        stale = sorted(month for month, digest in digests.items() if built.get(month) != digest)
        gone = sorted(set(built) - set(digests))
        whole = not built
        if stale or gone or whole:
            reference = load_reference(home)
            table = build_benchmarks(
                accepted_history(connection, months=stale),
                reference.register,
                reference.neighbours,
                reference.annual,
                min_authorities=min_authorities,
            )
            store_benchmarks(connection, table, stale + gone, digests, basis, whole)
        path = export_benchmarks(connection, BENCHMARK_COLUMNS, home.reports / "scorecard" / BENCHMARKS_FILE)
        # Whole numbers with blanks as the CSV's reader types them (DuckDB hands them over as floats).
        whole_numbers = {column: kind for column, kind in BENCHMARK_DTYPES.items() if kind == "Int64"}
        shown = month_benchmarks(connection, shown_month).astype(whole_numbers)
        return shown, benchmark_rows(connection), path


def store_accepted_months(home: DataHome, months: list[str]) -> pd.DataFrame:
    """Store each month's accepted returns (no unwaived error) in `indicator_values` and the lake."""
    return stored_months.store_accepted_months(home, months)


def stored_findings(home: DataHome, months: list[str]) -> pd.DataFrame:
    """The months' stored findings, read from the readers' snapshot (a check never waits for a writer)."""
    with connect(home, read_only=True) as connection:
        return month_findings(connection, months)


def stored_derived_months(home: DataHome, months: list[str]) -> pd.DataFrame:
    """The returns derived from child-level workbooks for `months`, as their validation stored them
    (`derived_returns`), read from the readers' snapshot."""
    with connect(home, read_only=True) as connection:
        return stored_months.derived_months(connection, months)


def publication_blockers(home: DataHome, months: list[str]) -> dict[str, pd.DataFrame]:
    """Every reason each month must not be published (the publication guard); empty when it may be."""
    with connect(home, read_only=True) as connection:
        return guard_blockers_by_month(home, connection, months)


def publish_months(
    home: DataHome,
    months: list[str],
    destination: Destination | None = None,
    settings: PublishSettings | None = None,
) -> list[ReleaseSummary]:
    """Publish the months' open-data releases (the guard asked first, the screen before the swap) into
    <home>/publish/, then to `destination` (default: that folder, which is what is served).

    `settings` says who publishes and where the folder is served (`PublishSettings(base_url,
    publisher_name)`; default: relative links, the default publisher). A one-line PublishingError
    when publishing cannot start or the destination refuses; a month refused or failing the
    screen is reported in its summary."""
    return release.publish_months(home, months, destination, settings)


def publish_destination(
    kind: str = "folder", *, url: str = "", organisation: str = "", dataset: str = "", token: str = ""
) -> Destination:
    """The destination of a release from plain settings, as the command line and Dagster configure it:
    `folder` (the publish folder is served) or `ckan` (url, organisation, dataset, and the API token,
    a secret given apart and never shown). A one-line PublishingError for a setting missing."""
    try:
        return destination_for(kind, url=url, organisation=organisation, dataset=dataset, token=token)
    except DestinationError as exc:
        raise PublishingError(str(exc)) from None


def screen_published(home: DataHome, months: list[str]) -> dict[str, list[str]]:
    """What the screen finds in what is served for each month now (empty lists: clean)."""
    return release.screen_published(home, months)


def published_audits(home: DataHome, months: list[str]) -> dict[str, dict]:
    """The attacker's audit each month's release reported (its release.json; empty when none)."""
    return release.published_audits(home, months)


# What a run over the landing folder decides before it starts and reports when it ends
# (`csc-returns run`, pipelines/orchestration/runner.py).


@dataclass(frozen=True)
class MonthsToRun:
    """What a run over the landing folder does: the months it runs, and the stored months whose
    history rules read an arrival, run only if that changes their validation (`months_validated_differently`)."""

    now: list[str]
    history_readers: list[str] = field(default_factory=list)


def months_to_run(home: DataHome, landed: list[str], arrived: list[str]) -> MonthsToRun:
    """The months a run over the landing folder must process.

    Nothing new arrived: every landed month (running again re-checks them all). Otherwise only
    what the arrivals touch: their months and landed months never validated, run; and the validated
    months whose history rules read an arrival (up to HISTORY_MONTHS later: rolling sums, movement),
    checked once the arrivals are stored.
    """
    if not arrived:
        return MonthsToRun(landed)
    with connect(home) as connection:
        validated = set(validated_months(connection))
    now = sorted(set(arrived) | {month for month in landed if month not in validated})
    return MonthsToRun(now, [month for month in _later_within_history(validated, arrived) if month not in now])


def history_readers(home: DataHome, months: list[str]) -> list[str]:
    """The validated months, besides `months`, whose history rules read one of `months`."""
    with connect(home, read_only=True) as connection:
        validated = set(validated_months(connection))
    return [month for month in _later_within_history(validated, months) if month not in months]


def _later_within_history(candidates: set[str], months: list[str]) -> list[str]:
    """Of `candidates`, those up to HISTORY_MONTHS after one of `months`, in order."""
    return sorted({later for month in months for later in candidates.intersection(months_after(month, HISTORY_MONTHS))})


def held_back_report(home: DataHome, months: list[str]) -> list[dict]:
    """{month, la_code, errors, first_error} for each return of `months` held back."""
    with connect(home) as connection:
        held = held_back_returns(connection, months)
    return records(held.rename(columns={"period": "month"}))


def unreadable_landed_files(home: DataHome) -> list[str]:
    """File-level errors of the files in the landing folder now (not of every file ever received), one line each."""
    files, refused = scan_landing(home)  # refused entries are findings under their printable names
    names = [path.name for path in files] + [refusal.name for refusal in refused]
    with connect(home) as connection:
        rows = file_errors(connection, names)
    return [f"{f}{':' + str(r) if r else ''}{' [' + c + ']' if c else ''}: {m}" for f, r, c, m in rows]
