"""Waivers from the UI: the `grant_waiver` and `revoke_waiver` jobs, run as the Launchpad runs them
(typed config, the code location's resources), on a real instance and a real data home with the
SYNTHETIC demo month 2024-06 (E06000006 held back by `derived_inconsistent`).

They record the waiver with the command line's function (the same record, under the same lock),
with the run's id; the month is validated again and the failing check passes with the waiver;
a request the home cannot honour fails the run with one line in its log and records nothing.
"""

from __future__ import annotations

import dagster as dg
import pytest
from orchestration_support import FAILING_CHECK, HELD_BACK_LA, HELD_BACK_MONTH, run_config, run_held_back_month

from pipelines.home import DataHome
from pipelines.orchestration.resources import WRITER_TAG
from pipelines.orchestration.steward_jobs import LAUNCHED_BY_TAG
from pipelines.steps import steward

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("dagster")]
REPORTS_URL = "http://reports.test:8080"


def _config(home: DataHome, op: str, **fields) -> dict:
    config = run_config(home)
    config["resources"]["reports"] = {"config": {"reports_url": REPORTS_URL}}
    return {**config, "ops": {op: {"config": fields}}}


def _check(result, name: str = FAILING_CHECK) -> dg.AssetCheckEvaluation:
    [evaluation] = [e for e in result.get_asset_check_evaluations() if e.check_name == name]
    return evaluation


def _grant(instance, home: DataHome, tags: dict | None = None, **overrides):
    from pipelines.orchestration.definitions import defs

    fields = {
        "rule": "derived_inconsistent",
        "authority": HELD_BACK_LA,
        "month": HELD_BACK_MONTH,
        "column": "cla_rate_per_10k",
        "reason": "confirmed by phone: rounding in their system",
        "who": "A. Steward",
        **overrides,
    }
    return defs.resolve_job_def("grant_waiver").execute_in_process(
        instance=instance, run_config=_config(home, "grant", **fields), raise_on_error=False, tags=tags
    )


def _error_lines(instance, run_id: str) -> list[str]:
    return [
        event.user_message
        for event in instance.all_logs(run_id)
        if event.level >= 40 and not event.is_dagster_event  # the op's own ERROR lines
    ]


def test_a_waiver_granted_from_the_launchpad_is_the_clis_record_and_the_check_passes_with_it(tmp_path, demo_files):
    from pipelines.orchestration.definitions import defs

    home = DataHome(tmp_path / "home")
    with dg.instance_for_test() as instance:
        month_run = run_held_back_month(instance, home, demo_files)
        failing = _check(month_run)
        assert not failing.passed and failing.severity == dg.AssetCheckSeverity.ERROR
        # The failing authority's link: that month's Data Docs page under the configured base URL.
        link = failing.metadata[f"data_docs_{HELD_BACK_LA}"]
        assert isinstance(link, dg.UrlMetadataValue)
        assert link.url.startswith(f"http://127.0.0.1:3001/gx/{HELD_BACK_MONTH}/validations/")

        # Refused in one line, nothing recorded: a month not written YYYY-MM, a finding not there,
        # a rule that is not in the rule book, a column the finding does not have, no one named.
        for overrides in (
            {"month": "2024-13"},
            {"authority": "E06000099"},
            {"rule": "no_such_rule"},
            {"column": "cla_count"},
            {"who": "  "},
        ):
            refused = _grant(instance, home, **overrides)
            assert not refused.success, overrides
            [line] = _error_lines(instance, refused.run_id)
            assert "\n" not in line and line, overrides
            assert steward.waivers(home, HELD_BACK_MONTH) == [], overrides

        granted = _grant(instance, home)
        assert granted.success
        [waiver] = steward.waivers(home, HELD_BACK_MONTH)
        assert (waiver["state"], waiver["who"], waiver["column"]) == ("open", "A. Steward", "cla_rate_per_10k")
        assert waiver["granted_in_run"] == granted.run_id and waiver["revoked_in_run"] is None
        # Recorded under the home's writer lock, as `csc-returns waive` records it.
        assert instance.get_run_by_id(granted.run_id).tags[WRITER_TAG] == str(home.root)
        passing = _check(granted)
        assert passing.passed and passing.partition == HELD_BACK_MONTH
        assert passing.metadata["waived"].value == 1 and passing.metadata["errors"].value == 0
        assert passing.metadata["validation_report"].url.startswith(f"{REPORTS_URL}/gx/{HELD_BACK_MONTH}/")
        [materialised] = granted.asset_materializations_for_node("grant")
        assert materialised.partition == HELD_BACK_MONTH and materialised.metadata["held_back"].value == "none"
        status = steward.month_status(home, HELD_BACK_MONTH)["months"][0]
        assert status["held_back"] == []

        revoked = defs.resolve_job_def("revoke_waiver").execute_in_process(
            instance=instance,
            run_config=_config(
                home, "revoke", waiver_id=int(waiver["waiver_id"]), reason="per 100,000 after all", who="B. Lead"
            ),
            raise_on_error=False,
        )
        assert revoked.success
        [after] = steward.waivers(home, HELD_BACK_MONTH)
        assert (after["state"], after["revoked_by"], after["revoked_in_run"]) == ("revoked", "B. Lead", revoked.run_id)
        assert not _check(revoked).passed
        assert steward.month_status(home, HELD_BACK_MONTH)["months"][0]["held_back"][0]["la_code"] == HELD_BACK_LA

        # Behind an authenticating proxy that tags the run with its user, that user is recorded.
        proxied = _grant(instance, home, tags={LAUNCHED_BY_TAG: "a.steward@example.org"}, who="typed name")
        assert proxied.success
        newest = steward.waivers(home, HELD_BACK_MONTH)[-1]
        assert (newest["who"], newest["granted_in_run"]) == ("a.steward@example.org", proxied.run_id)

        unknown = defs.resolve_job_def("revoke_waiver").execute_in_process(
            instance=instance,
            run_config=_config(home, "revoke", waiver_id=999, reason="x", who="B. Lead"),
            raise_on_error=False,
        )
        assert not unknown.success
        assert _error_lines(instance, unknown.run_id) == ["no waiver 999 (csc-returns waive list shows them)"]
