"""Arrivals: the intake and the landing sensor hear the same submissions, because one module decides."""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pipelines.home import DataHome
from pipelines.ingest.arrivals import LandingMemory, current_rows
from pipelines.orchestration.sensors import evaluate_landing
from pipelines.reference import import_demo_reference
from pipelines.steps import archive_landing
from tests.conftest import write_return

MONTH = "2024-10"
NAMES = ("blackpool.csv", "resent.csv")


def test_new_content_under_a_name_is_an_arrival_and_the_same_content_again_is_not():
    memory = LandingMemory()
    assert [memory.observe(name, sha).arrived for name, sha in [
        ("a.csv", "1"), ("a.csv", "1"), ("a.csv", "2"), ("a.csv", "1"), ("b.csv", "1"), ("b.csv", "1")]] == [
        True, False, True, True, True, False]


def test_a_version_read_under_one_name_is_known_under_another_and_by_its_extension():
    memory: LandingMemory[str] = LandingMemory()
    memory.versions[memory.observe("june.csv", "abc").version] = "read once"
    assert memory.observe("june-copy.CSV", "abc").known == "read once"
    assert memory.observe("june.txt", "abc").known is None  # the same bytes read as another format


def test_of_rows_in_order_of_arrival_the_last_is_current_and_rows_naming_no_authority_belong_to_none():
    import pandas as pd

    rows = pd.DataFrame({"la_code": ["E06000009", None, "E06000006", "E06000009"]})
    assert list(current_rows(rows)) == [2, 3]


# A landing folder's history: each step writes one of two versions of a return under one of
# two names, touches a file (new mtime, same bytes) or takes it away.
steps = st.lists(st.tuples(st.sampled_from(("write", "touch", "delete")), st.sampled_from(NAMES),
                           st.integers(0, 1)), min_size=1, max_size=7)
RESENT_AFTER_REMOVAL = [("write", NAMES[0], 0), ("write", NAMES[0], 1), ("delete", NAMES[0], 0),
                        ("write", NAMES[0], 0)]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=steps)
@example(history=RESENT_AFTER_REMOVAL)  # the first file taken away and sent again: it supersedes
def test_intake_and_sensor_agree_on_every_arrival(example_rows, history):
    october = [r for r in example_rows if r["period"] == MONTH][:1]
    versions = [[dict(october[0], cla=str(529 + k))] for k in range(2)]  # SYNTHETIC: two submissions
    with tempfile.TemporaryDirectory() as folder:
        home = DataHome(Path(folder) / "home").ensure()
        import_demo_reference(home)
        cursor, start, run_keys = None, time.time() - 10_000, []
        for number, (action, name, version) in enumerate(history):
            path = home.landing / name
            if action == "delete":
                path.unlink(missing_ok=True)
            else:
                if action == "write" or not path.exists():
                    write_return(path, versions[version])
                os.utime(path, (start + number, start + number))  # every step is a later, settled change
            heard_by_intake = {(f.file_name, f.sha256) for f in archive_landing(home) if f.new}
            requests, _, cursor = evaluate_landing(home, cursor, {MONTH}, settle_seconds=0)
            heard_by_sensor = {(r.tags["csc/file"], r.tags["csc/sha256"]) for r in requests}
            assert heard_by_intake == heard_by_sensor, (number, history)
            run_keys += [r.run_key for r in requests]
        # Dagster launches one run per run key: an arrival that reused an old key would never run.
        assert len(run_keys) == len(set(run_keys)), history
