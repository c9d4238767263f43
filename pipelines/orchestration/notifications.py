"""Word sent when a run of the monthly jobs ends: the run-status sensors and `csc-returns run` hand
a Dagster run to `notify_dagster_run`, which reads its outcome from the instance's public records
(months, releases materialised, first failed step) and calls the one domain step
(`pipelines.steps.notify.notify_run`). Each run is told once (the home's ledger)."""

from collections.abc import Callable

import dagster as dg

from pipelines.home import DataHome
from pipelines.orchestration.jobs import FAILURE_TAG, monthly_release_job, reprocess_month_job
from pipelines.orchestration.partitions import MONTHS
from pipelines.orchestration.resources import WRITER_TAG, DataHomeResource, ReportsResource

SUCCESS_SENSOR = "run_succeeded_notification"
FAILURE_SENSOR = "run_failed_notification"


def notify_dagster_run(
    instance: dg.DagsterInstance,
    run: dg.DagsterRun,
    home: DataHome,
    ui_url: str,
    log: Callable[[str], None],
    months: list[str] | None = None,
) -> dict[str, str]:
    """Tell the home's channels how `run` ended (once per run); what each channel answered.

    The run's months are those given (the runner's range, the sensor's partition), with the months
    whose returns it validated, read from its materialisations (Dagster's public records)."""
    from pipelines.orchestration.runner import materialised_months, published_months
    from pipelines.steps.notify import notify_run

    record = instance.get_run_record_by_id(run.run_id)
    since = (record.start_time if record and record.start_time else None) or (
        record.create_timestamp.timestamp() if record else 0.0
    )
    failure = run.tags.get(FAILURE_TAG, "")
    succeeded = run.status == dg.DagsterRunStatus.SUCCESS
    try:
        return notify_run(
            home,
            run_id=run.run_id,
            job=run.job_name,
            months=sorted(set(months or []) | set(materialised_months(instance, run, since - 1, "received_returns"))),
            succeeded=succeeded,
            published=published_months(instance, run, since - 1),
            failed_step=None if succeeded else (failure.split(":", 1)[0] or None),
            ui_url=ui_url,
            log=log,
        )
    except Exception as exc:  # word not sent never fails a run nor stops a sensor
        log(
            f"no notification for run {run.run_id}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        )
        return {}


def home_of_run(run: dg.DagsterRun, data_home: DataHomeResource) -> DataHome:
    """The home the run wrote (its writer tag: `csc-returns run` may name another), else the location's."""
    written = run.tags.get(WRITER_TAG)
    return DataHome.resolve(written) if written else data_home.location()


def _months_of(partition_key: str | None) -> list[str]:
    """The month of a one-month run (a range run has no single partition key)."""
    return [partition_key] if partition_key and MONTHS.has_partition_key(partition_key) else []


def build_notification_sensors(
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED,
) -> list[dg.SensorDefinition]:
    """A sensor for the monthly jobs' runs that succeed and one for those that fail."""
    monitored = [monthly_release_job, reprocess_month_job]

    @dg.run_status_sensor(
        name=SUCCESS_SENSOR,
        run_status=dg.DagsterRunStatus.SUCCESS,
        monitored_jobs=monitored,
        default_status=default_status,
        description="Tells the home's channels (<home>/notify.toml) of returns held back and months published.",
    )
    def run_succeeded(context: dg.RunStatusSensorContext, data_home: DataHomeResource, reports: ReportsResource):
        _tell(context, data_home, reports)

    @dg.run_failure_sensor(
        name=FAILURE_SENSOR,
        monitored_jobs=monitored,
        default_status=default_status,
        description="Tells the home's channels (<home>/notify.toml) of a failed run or a refused release.",
    )
    def run_failed(context: dg.RunFailureSensorContext, data_home: DataHomeResource, reports: ReportsResource):
        _tell(context, data_home, reports)

    return [run_succeeded, run_failed]


def _tell(context: dg.RunStatusSensorContext, data_home: DataHomeResource, reports: ReportsResource) -> None:
    """The run's word to the home's channels (once per run: the ledger decides)."""
    run = context.dagster_run
    months = _months_of(context.partition_key)
    notify_dagster_run(context.instance, run, home_of_run(run, data_home), reports.ui(), context.log.info, months)
