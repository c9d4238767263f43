"""The resources as the code location builds them from its environment: the data home learned
from $CSC_HOME when a run starts (or given in the run's config), and the publishing destination
configured once, its token read when a run starts and never stored with the run."""

from __future__ import annotations

import dagster as dg
import pytest

from pipelines.home import environment
from pipelines.orchestration.definitions import publishing_from_environment
from pipelines.orchestration.resources import DataHomeResource, PublishingResource, pipeline_resources
from pipelines.publish.dataset import PublishSettings

pytestmark = pytest.mark.xdist_group("dagster")
TOKEN = "SYNTHETIC-token-0123456789"
CKAN = {
    environment.PUBLISH_DESTINATION: "ckan",
    environment.CKAN_URL: "http://127.0.0.1:5999",
    environment.CKAN_ORGANISATION: "synthetic-council",
    environment.CKAN_TOKEN: TOKEN,
}


@dg.asset
def _where(data_home: DataHomeResource, publishing: PublishingResource) -> dict:
    destination = publishing.destination()
    return {
        "home": str(data_home.location().root),
        "destination": destination.name,
        "portal": [getattr(destination, key, None) for key in ("url", "organisation", "token")],
        "settings": publishing.settings(),
    }


def _materialize(resources: dict, run_config: dict | None = None):
    with dg.instance_for_test() as instance:
        result = dg.materialize([_where], resources=resources, run_config=run_config, instance=instance)
        stored = instance.get_run_by_id(result.run_id)
        return result.output_for_node("_where"), stored


@pytest.fixture
def no_publishing_variables(monkeypatch):
    for name in [*CKAN, environment.PUBLISH_BASE_URL, environment.PUBLISHER_NAME, environment.CKAN_DATASET]:
        monkeypatch.delenv(name, raising=False)


def test_the_default_deployment_publishes_to_the_folder_with_no_ckan_variable_set(
    no_publishing_variables, monkeypatch, tmp_path
):
    monkeypatch.setenv(environment.HOME, str(tmp_path / "home"))
    resources = pipeline_resources(dg.EnvVar(environment.HOME), publishing_from_environment())
    seen, _ = _materialize(resources)
    assert seen == {
        "home": str((tmp_path / "home").resolve()),
        "destination": "folder",
        "portal": [None, None, None],
        "settings": PublishSettings(),
    }


def test_a_ckan_deployment_is_configured_once_and_its_token_read_when_the_run_starts(
    no_publishing_variables, monkeypatch, tmp_path
):
    for name, value in CKAN.items():
        monkeypatch.setenv(name, value)
    publishing = publishing_from_environment()  # the code location loads
    monkeypatch.setenv(environment.CKAN_TOKEN, TOKEN + "-rotated")  # rotated before the run starts
    seen, run = _materialize(pipeline_resources(str(tmp_path / "home"), publishing))
    assert seen["destination"] == "ckan"
    assert seen["portal"] == [CKAN[environment.CKAN_URL], CKAN[environment.CKAN_ORGANISATION], TOKEN + "-rotated"]
    assert TOKEN not in repr(publishing) and TOKEN not in str(run.run_config) and TOKEN not in str(run.tags)


def test_a_ckan_deployment_missing_its_token_fails_at_the_run_start_naming_the_variable(
    no_publishing_variables, monkeypatch, tmp_path
):
    for name, value in CKAN.items():
        monkeypatch.setenv(name, value)
    publishing = publishing_from_environment()
    monkeypatch.delenv(environment.CKAN_TOKEN)
    with pytest.raises(dg.DagsterInvalidConfigError, match=environment.CKAN_TOKEN):
        _materialize(pipeline_resources(str(tmp_path / "home"), publishing))


def test_the_home_is_learned_from_csc_home_when_a_run_starts_and_a_runs_config_may_give_another(
    no_publishing_variables, monkeypatch, tmp_path
):
    resources = pipeline_resources(dg.EnvVar(environment.HOME))
    monkeypatch.delenv(environment.HOME, raising=False)
    with pytest.raises(dg.DagsterInvalidConfigError, match=environment.HOME):
        _materialize(resources)
    monkeypatch.setenv(environment.HOME, str(tmp_path / "from-env"))
    assert _materialize(resources)[0]["home"] == str((tmp_path / "from-env").resolve())
    given = {"resources": {"data_home": {"config": {"path": str(tmp_path / "given")}}}}
    seen, run = _materialize(resources, given)
    assert seen["home"] == str((tmp_path / "given").resolve())
    assert run.run_config["resources"]["data_home"]["config"]["path"] == str(tmp_path / "given")


def test_the_environment_module_names_every_variable_it_reads():
    with pytest.raises(KeyError, match="CSC_NOT_A_SETTING"):
        environment.value("CSC_NOT_A_SETTING")
    assert environment.value(environment.CKAN_TOKEN, {environment.CKAN_TOKEN: " x "}) == "x"
    assert environment.home_path(None, {}).as_posix() == environment.DEFAULT_HOME
    assert environment.home_path(None, {environment.HOME: "/srv/csc"}).as_posix() == "/srv/csc"
    assert environment.home_path("given", {environment.HOME: "/srv/csc"}).as_posix() == "given"
    assert environment.limit_overrides({"CSC_LIMIT_MAX_ROWS": "10", "PATH": "/bin"}) == {"max_rows": "10"}
