"""A steward's decisions from the Dagster UI: grant or revoke a waiver from the Launchpad.

Each job takes typed config, records the decision with the command line's own function
(`pipelines.steps.steward.waive` / `revoke`: the same checks, the same audit trail, under the same
writer lock, held for the run by `warehouse_writer`), with the run's id on the record, then
validates the month again and records what that gives: `received_returns` materialised for the
month and each rule family's check result, so a check that failed shows passed with the finding
counted under `waived` (or failing again after a revocation). A request the home cannot honour
(no such month, authority, finding or waiver; a rule that cannot be waived; no reason or who) is
refused in one line in the run's log, and nothing is recorded.

Dagster's open-source UI has no log-in: `who` is what the steward types (docs/operations.md says
how an authenticating proxy's user can be recorded instead).
"""

import dagster as dg
from pydantic import Field

from pipelines.orchestration.jobs import tag_the_first_failure
from pipelines.orchestration.resources import WAREHOUSE_POOL, ReportsResource, WarehouseWriterResource

GRANT_JOB = "grant_waiver"
REVOKE_JOB = "revoke_waiver"
# Set on the run by an authenticating reverse proxy in front of the UI (which must overwrite any
# value a browser sends): when present, the waiver records this user, not the typed `who`.
LAUNCHED_BY_TAG = "csc/launched_by"


class WaiverGrant(dg.Config):
    """A finding to waive, as `csc-returns waive` takes it."""

    rule: str = Field(description="the rule id of the finding (docs/rules.md), e.g. derived_inconsistent")
    authority: str = Field(description="the authority's ONS code, e.g. E06000006")
    month: str = Field(description="the month, YYYY-MM")
    column: str | None = Field(default=None, description="the finding's column; leave empty for a finding with none")
    reason: str = Field(description="why the figure is accepted: kept with the waiver")
    who: str = Field(description="who grants it (typed: the UI has no log-in)")


class WaiverRevocation(dg.Config):
    """A waiver to stop applying, as `csc-returns waive revoke` takes it."""

    waiver_id: int = Field(description="the waiver's id (csc-returns waive list, or the check's waived rows)")
    reason: str = Field(description="why it is revoked: kept beside the grant")
    who: str = Field(description="who revokes it (typed: the UI has no log-in)")


def _who(context: dg.OpExecutionContext, typed: str) -> str:
    """Who decides: the proxy's authenticated user when the run carries it, else what was typed."""
    authenticated = (context.run.tags.get(LAUNCHED_BY_TAG) or "").strip()
    if authenticated and authenticated != typed.strip():
        context.log.info(f"recorded as {authenticated} (the authenticated user), not {typed.strip()!r} (typed)")
    return authenticated or typed


def _refused(context: dg.OpExecutionContext, line: str) -> dg.Failure:
    context.log.error(line)
    return dg.Failure(description=line, allow_retries=False)


def _validated_again(context: dg.OpExecutionContext, home, month: str, engine: str, reports: ReportsResource):
    """Validate `month` again and record what it gives, as the month's run would: the returns
    materialised and each family's check result for the month."""
    from assets.returns import FAMILY_CHECKS, family_result
    from pipelines.steps.monthly import stored_findings, validate_months

    [result] = validate_months(home, [month], engine=engine, write_report=True)
    yield dg.AssetMaterialization(
        asset_key="received_returns",
        partition=month,
        description=f"validated again by {context.job_name} (run {context.run_id})",
        metadata={
            "authorities": dg.MetadataValue.int(len(result.returns)),
            "accepted": dg.MetadataValue.text(", ".join(result.accepted) or "none"),
            "held_back": dg.MetadataValue.text(", ".join(result.held_back) or "none"),
        },
    )
    stored = stored_findings(home, [month])
    for family, spec in FAMILY_CHECKS.items():
        check = family_result(home, month, stored[stored["family"] == family], reports)
        yield dg.AssetCheckEvaluation(
            asset_key=spec.asset_key,
            check_name=spec.name,
            passed=check.passed,
            severity=check.severity,
            metadata=check.metadata,
            description=check.description,
            partition=month,
        )
    context.log.info(
        f"{month} validated again: accepted {', '.join(result.accepted) or 'none'}; "
        f"held back {', '.join(result.held_back) or 'none'}"
    )


@dg.op(pool=WAREHOUSE_POOL, out={})
def grant(
    context: dg.OpExecutionContext,
    config: WaiverGrant,
    warehouse_writer: WarehouseWriterResource,
    reports: ReportsResource,
):
    """Record the waiver (the command line's function, under the writer lock), then validate the month again."""
    from pipelines.steps import steward

    home = warehouse_writer.home()
    column = (config.column or "").strip() or None
    try:
        ids = steward.waive(
            home,
            config.rule.strip(),
            config.authority.strip(),
            config.month.strip(),
            column,
            reason=config.reason,
            who=_who(context, config.who),
            run_id=context.run_id,
        )
    except (steward.RequestRefused, steward.WarehouseBusy) as exc:
        raise _refused(context, str(exc)) from None
    named = steward.finding_named(config.rule, config.authority, config.month, column)
    context.log.info(f"waiver {', '.join(map(str, ids))} recorded for {named} by {_who(context, config.who).strip()}")
    yield from _validated_again(
        context, home, config.month.strip(), warehouse_writer.data_home.validation_engine, reports
    )


@dg.op(pool=WAREHOUSE_POOL, out={})
def revoke(
    context: dg.OpExecutionContext,
    config: WaiverRevocation,
    warehouse_writer: WarehouseWriterResource,
    reports: ReportsResource,
):
    """Revoke the waiver (the command line's function, under the writer lock), then validate its month again."""
    from pipelines.steps import steward

    home = warehouse_writer.home()
    try:
        record = steward.revoke(
            home, config.waiver_id, who=_who(context, config.who), reason=config.reason, run_id=context.run_id
        )
    except (steward.RequestRefused, steward.WarehouseBusy) as exc:
        raise _refused(context, str(exc)) from None
    context.log.info(
        f"waiver {config.waiver_id} revoked ({record['rule']} on {record['la_code']} {record['period']}) "
        f"by {_who(context, config.who).strip()}"
    )
    yield from _validated_again(
        context, home, str(record["period"]), warehouse_writer.data_home.validation_engine, reports
    )


@dg.job(name=GRANT_JOB, hooks={tag_the_first_failure}, tags={"csc/steward": "waiver"})
def grant_waiver_job():
    """Waive a finding from the Launchpad (rule, authority, month, column or none, reason, who), as
    `csc-returns waive` does, then validate the month again: its check shows passed with the waiver."""
    grant()


@dg.job(name=REVOKE_JOB, hooks={tag_the_first_failure}, tags={"csc/steward": "waiver"})
def revoke_waiver_job():
    """Revoke a waiver by its id from the Launchpad (reason, who), as `csc-returns waive revoke`
    does, then validate its month again."""
    revoke()


STEWARD_JOBS = [grant_waiver_job, revoke_waiver_job]
