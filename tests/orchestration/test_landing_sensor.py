"""The landing sensor, evaluated as the daemon does: a real instance, the cursor carried between ticks."""

from __future__ import annotations

import json
import os

import dagster as dg
import pytest
from orchestration_support import land, old

import pipelines.orchestration.sensors as sensors
from pipelines.home import DataHome
from pipelines.ingest.archive import sha256_of
from pipelines.ingest.arrivals import FileContents
from pipelines.orchestration.definitions import defs
from pipelines.orchestration.resources import DataHomeResource


@pytest.fixture(scope="module")
def instance():
    with dg.instance_for_test() as test_instance:
        yield test_instance


@pytest.fixture
def data_home(tmp_path) -> DataHome:
    return DataHome(tmp_path / "home").ensure()


KEEP = object()


class Ticker:
    """Evaluates the registered landing sensor tick after tick, keeping the cursor like the daemon."""

    def __init__(self, instance, home: DataHome):
        self.instance, self.home, self.cursor = instance, home, None
        self.sensor = defs.resolve_sensor_def(sensors.SENSOR_NAME)

    def tick(self, cursor: object = KEEP) -> dg.SensorResult:
        context = dg.build_sensor_context(
            instance=self.instance,
            cursor=self.cursor if cursor is KEEP else cursor,
            resources={"data_home": DataHomeResource(path=str(self.home.root))},
            definitions=defs,
        )
        result = self.sensor(context)
        self.cursor = result.cursor
        return result


def skipped(result: dg.SensorResult) -> str:
    return result.skip_reason.skip_message if result.skip_reason else ""


def requested(result: dg.SensorResult) -> list[tuple[str, str]]:
    return sorted((r.partition_key, r.run_key) for r in result.run_requests or [])


def test_new_file_requests_one_run_per_month_keyed_by_sha256(instance, data_home, demo_files):
    path = land(data_home, demo_files["2024-06"])
    result = Ticker(instance, data_home).tick()
    sha256 = sha256_of(path)
    assert requested(result) == [("2024-06", f"{sha256}:2024-06:{path.name}:1")]
    assert result.run_requests[0].tags["csc/file"] == path.name
    cursor = json.loads(result.cursor)
    assert cursor["files"][path.name]["sha256"] == sha256


def test_a_file_with_two_months_requests_both(instance, data_home, demo_files, tmp_path):
    combined = tmp_path / "two-months.csv"
    first, second = (demo_files[m].read_text().splitlines() for m in ("2024-05", "2024-06"))
    combined.write_text("\n".join(first + second[1:]) + "\n")
    land(data_home, combined)
    result = Ticker(instance, data_home).tick()
    assert [month for month, _ in requested(result)] == ["2024-05", "2024-06"]


def test_nothing_is_requested_twice_across_ticks_and_restarts(instance, data_home, demo_files):
    land(data_home, demo_files["2024-06"])
    ticker = Ticker(instance, data_home)
    first = ticker.tick()
    again = ticker.tick()
    assert not again.run_requests and skipped(again)
    # A restarted daemon reads the cursor back from storage: it is plain JSON and still works.
    restarted = Ticker(instance, data_home).tick(cursor=json.loads(json.dumps(first.cursor)))
    assert not restarted.run_requests
    # Even a lost cursor asks for the same run keys, which the daemon does not launch twice.
    lost = Ticker(instance, data_home).tick(cursor=None)
    assert requested(lost) == requested(first)


def test_changed_content_or_a_new_name_is_an_arrival_but_a_touched_file_is_not(
    instance, data_home, demo_files, monkeypatch
):
    path = land(data_home, demo_files["2024-06"])
    ticker = Ticker(instance, data_home)
    ((_, first_key),) = requested(ticker.tick())

    reads = []
    monkeypatch.setattr(
        sensors,
        "read_contents",
        lambda p, home, name=None: reads.append(p.name) or FileContents(True, ("2024-06",), None),
    )
    stamp = path.stat().st_mtime - 10
    os.utime(path, (stamp, stamp))  # touched: hashed again, same content
    assert not ticker.tick().run_requests
    copy = land(data_home, path, name="copy-of-june.csv")  # same bytes, another name: a later arrival
    assert requested(ticker.tick()) == [("2024-06", f"{sha256_of(copy)}:2024-06:copy-of-june.csv:1")]
    assert reads == []  # content already known is not read again

    monkeypatch.undo()
    path.write_text(path.read_text() + "\n")  # resubmitted: different bytes, same month
    old(path)
    ((_, second_key),) = requested(ticker.tick())
    assert second_key != first_key and second_key == f"{sha256_of(path)}:2024-06:{path.name}:2"


def test_re_sending_an_earlier_version_under_the_same_name_is_heard(instance, data_home, demo_files):
    """A, then B, then A again: the authority withdraws B, so A must run (and supersede B) again."""
    path = land(data_home, demo_files["2024-06"])
    first = path.read_text()
    ticker = Ticker(instance, data_home)
    ((_, key_a),) = requested(ticker.tick())
    path.write_text(first + "\n")
    old(path)
    ((_, key_b),) = requested(ticker.tick())
    path.write_text(first)
    old(path)
    ((_, key_a_again),) = requested(ticker.tick())
    assert len({key_a, key_b, key_a_again}) == 3 and key_a_again.startswith(sha256_of(path))


def test_unchanged_files_are_not_hashed_again(instance, data_home, demo_files, monkeypatch):
    land(data_home, demo_files["2024-06"])
    ticker = Ticker(instance, data_home)
    ticker.tick()
    monkeypatch.setattr(sensors, "sha256_of_handle", lambda handle: pytest.fail(f"{handle.name} hashed again"))
    assert not ticker.tick().run_requests


def test_a_file_still_being_written_waits_until_it_stops_changing(instance, data_home, demo_files):
    ticker = Ticker(instance, data_home)
    text = demo_files["2024-06"].read_text()
    growing = data_home.landing / "june.csv"
    growing.write_text(text[: len(text) // 2])  # half copied, modified just now
    (data_home.landing / "july.csv.part").write_text(text)  # a copy tool's partial name
    first = ticker.tick()
    assert not first.run_requests and "still being written" in skipped(first)
    assert "july" not in skipped(first)
    growing.write_text(text)  # the copy finishes: size changes
    assert not ticker.tick().run_requests
    settled = ticker.tick()  # same size and mtime as the tick before: complete
    assert requested(settled) == [("2024-06", f"{sha256_of(growing)}:2024-06:june.csv:1")]


def test_files_that_are_not_returns_are_reported_once(instance, data_home, demo_files, caplog):
    land(data_home, demo_files["2024-06"], name="notes.txt")
    corrupt = data_home.landing / "broken.xlsx"
    corrupt.write_bytes(b"PK\x03\x04 not really a workbook")
    old(corrupt)
    headless = data_home.landing / "no-header.csv"
    headless.write_text("la code,month\nE06000006,2024-06\n")
    old(headless)
    future = data_home.landing / "next-year.csv"
    future.write_text(demo_files["2024-06"].read_text().replace("2024-06", "2999-06"))
    old(future)
    ticker = Ticker(instance, data_home)
    first = ticker.tick()
    assert not first.run_requests
    for name, reason in [
        ("notes.txt", "not a return"),
        ("broken.xlsx", "cannot be opened"),
        ("no-header.csv", "required column"),
        ("next-year.csv", "2999-06"),
    ]:
        assert f"{name}: not a return" in skipped(first) and reason in skipped(first)
    second = ticker.tick()
    assert not second.run_requests
    assert "not a return" not in skipped(second)  # reported once, not retried

    land(data_home, demo_files["2024-06"], name="notes.csv")  # resent properly: a return
    assert [m for m, _ in requested(ticker.tick())] == ["2024-06"]


def test_cursor_forgets_files_that_left_the_landing_folder(instance, data_home, demo_files):
    path = land(data_home, demo_files["2024-06"])
    ticker = Ticker(instance, data_home)
    ticker.tick()
    path.unlink()
    ticker.tick()
    assert json.loads(ticker.cursor)["files"] == {}


def test_a_corrupt_cursor_starts_afresh(data_home, demo_files):
    land(data_home, demo_files["2024-06"])
    requests, _, cursor = sensors.evaluate_landing(data_home, "{not json", {"2024-06"})
    assert len(requests) == 1 and json.loads(cursor)["version"] == sensors.CURSOR_VERSION


def test_sensor_targets_the_monthly_job_and_starts_stopped():
    sensor = defs.resolve_sensor_def(sensors.SENSOR_NAME)
    assert sensor.job_name == "monthly_release"
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED
    assert sensor.minimum_interval_seconds == sensors.MINIMUM_INTERVAL_SECONDS


def test_the_daemon_gives_the_sensor_the_home_the_code_location_learned_from_csc_home(
    instance, data_home, demo_files, monkeypatch
):
    """As the daemon evaluates it: the code location's own resources, the home from $CSC_HOME."""
    path = land(data_home, demo_files["2024-06"])
    monkeypatch.setenv("CSC_HOME", str(data_home.root))
    sensor = defs.resolve_sensor_def(sensors.SENSOR_NAME)
    repository = defs.get_repository_def()
    resources = {k: v for k, v in repository.get_top_level_resources().items() if k in sensor.required_resource_keys}
    with dg.build_sensor_context(instance=instance, repository_def=repository, resources=resources) as context:
        result = sensor.evaluate_tick(context)
    assert [(r.partition_key, r.tags["csc/file"]) for r in result.run_requests] == [("2024-06", path.name)]
