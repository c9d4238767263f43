"""Word sent when a run ends (`pipelines/notify/`): what a run held back, read from the warehouse,
and the message to the home's channels. The Dagster run-status sensors and `csc-returns run` both
call `notify_run`, so the UI, the schedule, the landing sensor and the command line say the same."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pipelines.home import DataHome
from pipelines.notify.message import HeldBack, RunOutcome
from pipelines.notify.tell import tell
from pipelines.store.month import month_findings, month_returns
from pipelines.store.warehouse import connect
from pipelines.validate.month import HELD_BACK
from pipelines.validate.waivers import unwaived_errors

__all__ = ["HeldBack", "RunOutcome", "held_back_rules", "notify_run"]


def held_back_rules(home: DataHome, months: Sequence[str]) -> tuple[HeldBack, ...]:
    """Each held-back return of `months` with each of its unwaived errors' rule and column (and the
    family's check): no value, no expected figure, no message."""
    if not months or not home.warehouse.exists():
        return ()
    with connect(home, read_only=True) as connection:
        returns = month_returns(connection, list(months))
        errors = unwaived_errors(month_findings(connection, list(months)))
    held = returns.loc[returns["status"] == HELD_BACK, ["period", "la_code"]]
    rules = (
        errors[["period", "la_code", "rule", "column", "family"]]
        .merge(held, on=["period", "la_code"])
        .drop_duplicates()
        .sort_values(["period", "la_code", "rule", "column"], na_position="first", kind="stable")
    )
    return tuple(
        HeldBack(month, la_code, rule, None if column is None or column != column else str(column), f"{family}_rules")
        for month, la_code, rule, column, family in rules.itertuples(index=False, name=None)
    )


def notify_run(
    home: DataHome,
    *,
    run_id: str,
    job: str,
    months: Sequence[str],
    succeeded: bool,
    published: Sequence[str],
    failed_step: str | None,
    ui_url: str,
    log: Callable[[str], None],
) -> dict[str, str]:
    """Tell the home's channels how run `run_id` ended, once per run; what each channel answered."""
    outcome = RunOutcome(
        run_id=run_id,
        job=job,
        months=tuple(months),
        succeeded=succeeded,
        published=tuple(published),
        failed_step=failed_step,
        held_back=held_back_rules(home, months),
    )
    return tell(home, outcome, ui_url.rstrip("/"), log)
