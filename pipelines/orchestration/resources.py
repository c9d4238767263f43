"""Dagster resources shared by every asset: the data home, its writer lock, where releases go.

Each is a `dagster.ConfigurableResource` whose fields are plain settings: the code location
sets them once (`definitions.py`, from `dagster.EnvVar`), and `csc-returns run` runs the same
job with the same resources, handing its data home in the run's config.

(No `from __future__ import annotations` here: Dagster reads the fields' annotations to let a
resource nest another one configured at launch.)
"""

import os
import socket
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import dagster as dg
from pydantic import PrivateAttr

from pipelines.home import DataHome

if TYPE_CHECKING:
    from pathlib import Path

    from pipelines.publish.dataset import PublishSettings
    from pipelines.publish.destinations import Destination

# Dagster's concurrency pool of the assets that write the warehouse (limit 1 in dagster.yaml).
WAREHOUSE_POOL = "warehouse"
# Tags of a run that has held a home's writer lock: the home, and the process that held it
# (`host:pid`), so a run killed while holding it can be told from one still finishing or waiting.
WRITER_TAG = "csc/writer_home"
WRITER_PROCESS_TAG = "csc/writer_process"
_UNFINISHED = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]


class DataHomeResource(dg.ConfigurableResource):
    """Where the pipeline keeps its archive, warehouse and publications.

    The code location sets `path` from $CSC_HOME (`dagster.EnvVar`); `csc-returns run` gives its
    `--home` in the run's config. Nothing else looks the home up.
    """

    path: str
    validation_engine: str = "gx"

    def location(self) -> DataHome:
        """The home, its folders left as they are (the sensor only looks)."""
        return DataHome.resolve(self.path)

    def home(self) -> DataHome:
        """The home, with its folders made if missing (a run writes)."""
        return self.location().ensure()


class WarehouseWriterResource(dg.ConfigurableResource):
    """The data home's writer lock (<home>/.writer.lock), held from the start of a run that writes
    the warehouse to its end, whatever launched it: the daemon, the sensor, the schedule, the UI or
    `csc-returns run` (whose own lock it re-enters). A second writer waits, saying for whom.

    The writing assets require it; a run that only checks does not, and never waits.
    """

    data_home: DataHomeResource
    _home: DataHome | None = PrivateAttr(default=None)

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator["WarehouseWriterResource"]:
        home = self.data_home.home()

        def announce(line: str) -> None:
            print(line, file=sys.stderr, flush=True)
            if context.log is not None:
                context.log.info(line)

        from pipelines.steps.session import writing

        with writing(home, announce=announce):
            run = context.run
            if context.instance is not None and run is not None:
                _fail_runs_that_died_writing(context.instance, home, run.run_id)
                context.instance.add_run_tags(
                    run.run_id, {WRITER_TAG: str(home.root), WRITER_PROCESS_TAG: _this_process()}
                )
            self._home = home
            try:
                yield self
            finally:
                self._home = None

    def home(self) -> DataHome:
        """The home this run holds the lock of."""
        if self._home is None:
            raise RuntimeError("the writer lock is held only while a run executes")
        return self._home


class PublishingResource(dg.ConfigurableResource):
    """Where a screened release goes, and what its open-data package says about its publisher.

    `kind` "folder" (the default): the publish folder is what is served. "ckan": the files are also
    uploaded to one dataset of a CKAN portal (`ckan_url`, `ckan_organisation`, `ckan_dataset`),
    with `ckan_token` given as `dagster.EnvVar("CSC_CKAN_TOKEN")`: read when a run starts, never
    shown in the UI, a log or an error. The code location builds it once
    (`definitions.publishing_from_environment`); the UI, the schedule, the sensor and
    `csc-returns run` all run with it, and it builds the same domain destination
    (`pipelines/publish/destinations.py`) the publishing step is given.
    """

    kind: str = "folder"
    base_url: str = ""
    publisher_name: str = ""
    ckan_url: str = ""
    ckan_organisation: str = ""
    ckan_dataset: str = ""
    ckan_token: str = ""

    def destination(self) -> "Destination":
        """The domain destination of a release (a one-line PublishingError naming what is missing)."""
        from pipelines.steps.monthly import publish_destination

        if self.kind == "ckan":
            return publish_destination(
                "ckan",
                url=self.ckan_url,
                organisation=self.ckan_organisation,
                dataset=self.ckan_dataset,
                token=self.ckan_token,
            )
        return publish_destination(self.kind)

    def settings(self) -> "PublishSettings":
        """Who publishes and where the folder is served, for the data package and the catalogue."""
        from pipelines.publish.dataset import PublishSettings

        defaults = PublishSettings()
        return PublishSettings(
            base_url=self.base_url or defaults.base_url, publisher_name=self.publisher_name or defaults.publisher_name
        )


class ReportsResource(dg.ConfigurableResource):
    """Where a browser reaches the home's reports (`csc-returns serve`) and the Dagster UI: the bases
    of every link the assets' and checks' metadata give (never a path on the server's disk). The
    code location sets them from $CSC_REPORTS_URL and $CSC_UI_URL (`csc-returns dev` sets both)."""

    reports_url: str = ""
    ui_url: str = ""

    def ui(self) -> str:
        """The Dagster UI's base URL (the links of notifications)."""
        from pipelines.steps.reports import DEFAULT_UI_URL, base_url

        return base_url(self.ui_url, DEFAULT_UI_URL)

    def report_url(self, home: DataHome, page: "Path") -> str | None:
        """The URL of a file under the home's reports/ (None for anything else)."""
        from pipelines.steps.reports import report_url

        return report_url(home, page, self.reports_url)

    def authority_pages(self, home: DataHome, month: str, la_codes: "Iterable[str]") -> dict[str, str]:
        """Each authority's link to the month's Data Docs page naming it."""
        from pipelines.steps.reports import authority_pages

        return authority_pages(home, month, la_codes, self.reports_url)


def _fail_runs_that_died_writing(instance: dg.DagsterInstance, home: DataHome, run_id: str) -> None:
    """Mark failed the runs left unfinished by a process of this machine that died while it held
    the lock (killed, or the machine restarted). Left as they were, they would keep the `warehouse`
    pool full and the queue would never start another writer. A run whose process is alive (one
    that has just let the lock go and is recording its success) is left alone.
    """
    records = instance.get_run_records(dg.RunsFilter(statuses=_UNFINISHED, tags={WRITER_TAG: str(home.root)}))
    for record in records:
        run = record.dagster_run
        if run.run_id == run_id or not _died_here(run.tags.get(WRITER_PROCESS_TAG, "")):
            continue
        latest = instance.get_run_by_id(run.run_id)  # read again: a run records its end before its process exits
        if latest is not None and latest.status in _UNFINISHED:
            instance.report_run_failed(
                latest,
                f"its process ({latest.tags[WRITER_PROCESS_TAG]}) ended while writing {home.root}; found by run {run_id}",
            )


def _this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _died_here(process: str) -> bool:
    host, _, pid = process.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another machine's process (run pods): Dagster's run monitoring watches those
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


def pipeline_resources(
    home_path: str, publishing: PublishingResource | None = None, reports: ReportsResource | None = None
) -> dict[str, Any]:
    """The resources every job runs with, on the data home at `home_path` (a path, or the code
    location's `dagster.EnvVar`); a run's config may give another path (`csc-returns run` does).

    The writer lock nests the same `data_home`, configured at launch, so the home a run writes is
    always the home it locks.
    """
    data_home = DataHomeResource.configure_at_launch(path=home_path)
    return {
        "data_home": data_home,
        "warehouse_writer": WarehouseWriterResource(data_home=data_home),
        "publishing": publishing or PublishingResource(),
        "reports": reports or ReportsResource(),
    }
