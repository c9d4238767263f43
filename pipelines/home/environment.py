"""Every environment variable the project honours, named once, and the only domain code that reads them.

The environment is read at the edges: the command line's entry point and the Dagster code
location (`pipelines/orchestration/definitions.py`, through `dagster.EnvVar`). Both hand what
they read to the code as values (the data home, the publishing destination, the schedule's
cron). The knobs below the edges that tune a process as a whole (the reader's limits, the writer
lock's wait, the crash-test hook, the indicator catalogue) are read here, and only here
(`tests/test_layout.py` scans the code for any other reading of the environment).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

# The data home (`--home` first, then this, then ./data): read by the command line and, through
# `dagster.EnvVar`, by the code location; handed to everything else as a value.
HOME = "CSC_HOME"
DEFAULT_HOME = "data"
# Dagster's own: the folder of the instance that records runs (default: <home>/.dagster/).
DAGSTER_HOME = "DAGSTER_HOME"

# The reader's limits: `CSC_LIMIT_<NAME>` for each field of `pipelines.ingest.limits.Limits`.
LIMIT_PREFIX = "CSC_LIMIT_"
# How long a second writer waits for the home's writer lock, in seconds (default an hour).
LOCK_TIMEOUT = "CSC_LOCK_TIMEOUT"
# Set by the holder of a home's writer lock for its child processes (the path of the lock file):
# a run's own subprocesses do not wait for their parent.
LOCK_HELD = "CSC_WRITER_LOCK_HELD"
# Test hook: the process SIGKILLs itself at the crash point of this name (pipelines/home/durable.py).
CRASH_AT = "CSC_CRASH_AT"
# Another indicator catalogue than the bundled schemas/indicators.csv (a copy to try an indicator on).
CATALOGUE = "CSC_CATALOGUE"

# Where the secret key of child-level pseudonyms is kept (a path; default <home>/keys/child-level.key):
# IDs are short enough to guess, so an operator may keep the key away from the home's backups.
CHILD_LEVEL_KEY = "CSC_CHILD_LEVEL_KEY"

# The code location's automation: the release schedule's cron (London time) and whether the
# schedule and the landing sensor start running (`running`) or stopped (anything else).
RELEASE_CRON = "CSC_RELEASE_CRON"
AUTOMATION = "CSC_AUTOMATION"

# Where releases go and what the open-data package says about its publisher: read by the code
# location (`dagster.EnvVar`) into the publishing resource, and by the command line's entry point.
PUBLISH_DESTINATION = "CSC_PUBLISH_DESTINATION"  # folder (default) or ckan
PUBLISH_BASE_URL = "CSC_PUBLISH_BASE_URL"
PUBLISHER_NAME = "CSC_PUBLISHER_NAME"
CKAN_URL = "CSC_CKAN_URL"
CKAN_ORGANISATION = "CSC_CKAN_ORG"
CKAN_DATASET = "CSC_CKAN_DATASET"
CKAN_TOKEN = "CSC_CKAN_TOKEN"  # a secret: read when a run starts, never shown in the UI or a log
# The mode of the files of <home>/publish/ (octal, 0644 for a web server; blank: private like the
# rest of the home, pipelines/home/privacy.py): read by both edges, which configure the process.
PUBLISH_MODE = "CSC_PUBLISH_MODE"

# Where a browser reaches the home's reports (`csc-returns serve`) and the Dagster UI: the bases of
# the links the UI's metadata and the notifications give. `csc-returns dev` sets both for its UI.
REPORTS_URL = "CSC_REPORTS_URL"
UI_URL = "CSC_UI_URL"

VARIABLES = (
    HOME,
    DAGSTER_HOME,
    LOCK_TIMEOUT,
    LOCK_HELD,
    CRASH_AT,
    CATALOGUE,
    CHILD_LEVEL_KEY,
    RELEASE_CRON,
    AUTOMATION,
    PUBLISH_DESTINATION,
    PUBLISH_BASE_URL,
    PUBLISHER_NAME,
    CKAN_URL,
    CKAN_ORGANISATION,
    CKAN_DATASET,
    CKAN_TOKEN,
    REPORTS_URL,
    UI_URL,
    PUBLISH_MODE,
)


def current() -> Mapping[str, str]:
    """This process's environment, for an edge to read once and pass on as values."""
    return os.environ


def adopt(environ: Mapping[str, str]) -> None:
    """This process's environment becomes `environ`: a process started before its work was known
    (`pipelines/orchestration/launcher.py`) takes the environment it would have been started with."""
    os.environ.clear()
    os.environ.update(environ)


def value(name: str, environ: Mapping[str, str] | None = None) -> str:
    """The variable's value, stripped ('' when unset)."""
    if name not in VARIABLES and not name.startswith(LIMIT_PREFIX):
        raise KeyError(f"{name} is not a variable the project honours (pipelines/home/environment.py)")
    return (os.environ if environ is None else environ).get(name, "").strip()


def home_path(given: str | os.PathLike | None, environ: Mapping[str, str] | None = None) -> Path:
    """The data home the command line works on: `--home`, else $CSC_HOME, else ./data."""
    return Path(given or value(HOME, environ) or DEFAULT_HOME)


def dagster_home() -> Path | None:
    """$DAGSTER_HOME when set: the instance that records every home's runs instead of <home>/.dagster/."""
    folder = value(DAGSTER_HOME)
    return Path(folder).resolve() if folder else None


def limit_overrides(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """`CSC_LIMIT_<NAME>` as {name in lower case: raw text} (the limits module judges the values)."""
    environ = os.environ if environ is None else environ
    return {key[len(LIMIT_PREFIX) :].lower(): text for key, text in environ.items() if key.startswith(LIMIT_PREFIX)}


def crash_point_wanted(point: str) -> bool:
    return value(CRASH_AT) == point


def lock_timeout(default: float) -> float:
    """$CSC_LOCK_TIMEOUT in seconds when it is a number, else `default`."""
    try:
        return float(value(LOCK_TIMEOUT) or default)
    except ValueError:
        return default


def lock_held_by_parent(lock_file: Path) -> bool:
    """Whether the process that started this one holds the lock at `lock_file` (it said so in LOCK_HELD)."""
    return value(LOCK_HELD) == str(lock_file)


@contextlib.contextmanager
def telling_children_lock_held(lock_file: Path) -> Iterator[None]:
    """While the block runs, child processes started by this one know it holds the lock at `lock_file`."""
    previous = os.environ.get(LOCK_HELD)
    os.environ[LOCK_HELD] = str(lock_file)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(LOCK_HELD, None)
        else:
            os.environ[LOCK_HELD] = previous


def publish_mode(environ: Mapping[str, str] | None = None) -> str:
    """$CSC_PUBLISH_MODE as given ('' when unset): `pipelines.home.privacy.parse_mode` judges it."""
    return value(PUBLISH_MODE, environ)


def catalogue_file(environ: Mapping[str, str] | None = None) -> Path | None:
    """$CSC_CATALOGUE as a path, None for the bundled catalogue."""
    text = value(CATALOGUE, environ)
    return Path(text) if text else None


def child_level_key_file(environ: Mapping[str, str] | None = None) -> Path | None:
    """$CSC_CHILD_LEVEL_KEY as a path, None for the home's own key file."""
    text = value(CHILD_LEVEL_KEY, environ)
    return Path(text) if text else None


def use_catalogue_from(environ: Mapping[str, str] | None = None) -> None:
    """At an edge: point `schemas.catalogue` at $CSC_CATALOGUE (or the bundled one) for this process."""
    from schemas.catalogue import use_catalogue

    use_catalogue(catalogue_file(environ))
