"""Arrivals: the intake and the landing sensor hear the same submissions, because one module decides."""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pipelines.home import DataHome
from pipelines.ingest.arrivals import LandingMemory, current_rows
from pipelines.orchestration.sensors import evaluate_landing
from pipelines.reference import import_demo_reference
from pipelines.steps.monthly import archive_landing
from tests.conftest import write_return

MONTH = "2024-10"
NAMES = ("blackpool.csv", "resent.csv")


def test_new_content_under_a_name_is_an_arrival_and_the_same_content_again_is_not():
    memory = LandingMemory()
    assert [
        memory.observe(name, sha).arrived
        for name, sha in [
            ("a.csv", "1"),
            ("a.csv", "1"),
            ("a.csv", "2"),
            ("a.csv", "1"),
            ("b.csv", "1"),
            ("b.csv", "1"),
        ]
    ] == [True, False, True, True, True, False]


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
steps = st.lists(
    st.tuples(st.sampled_from(("write", "touch", "delete")), st.sampled_from(NAMES), st.integers(0, 1)),
    min_size=1,
    max_size=7,
)
RESENT_AFTER_REMOVAL = [("write", NAMES[0], 0), ("write", NAMES[0], 1), ("delete", NAMES[0], 0), ("write", NAMES[0], 0)]


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


# Landing-folder hygiene: real symbolic links and real names that are not UTF-8 (os.fsencode bytes).
NOT_UTF8 = b"caf\xe9-2024-11.csv"  # Latin-1 e-acute: what a Windows share can hand over


def _landing_with_hazards(home: DataHome, outside: Path, example_rows: list[dict]) -> dict[str, Path]:
    """SYNTHETIC returns: a good October file, and November offered through each hazard."""
    october = write_return(home.landing / "october.csv", [r for r in example_rows if r["period"] == MONTH])
    november = [r for r in example_rows if r["period"] == "2024-11"]
    secret = write_return(outside / "november-elsewhere.csv", november)  # not ours to read
    (home.landing / "outside.csv").symlink_to(secret)
    (home.landing / "outside-folder").symlink_to(outside)
    (home.landing / "dangling.csv").symlink_to("gone.csv")  # inside, to nothing
    (home.landing / "alias-of-october.csv").symlink_to("october.csv")  # relative, inside the folder
    raw = os.path.join(os.fsencode(home.landing), NOT_UTF8)
    with open(raw, "wb") as handle:
        handle.write(secret.read_bytes())
    with open(os.path.join(os.fsencode(home.landing), b"two\nlines.csv"), "wb") as handle:
        handle.write(secret.read_bytes())
    return {"october": october, "secret": secret}


def test_links_out_of_the_landing_folder_and_names_that_are_not_utf8_are_refused_never_read(tmp_path, example_rows):
    from pipelines.ingest.arrivals import scan_landing

    home = DataHome(tmp_path / "home").ensure()
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    _landing_with_hazards(home, outside, example_rows)

    files, refused = scan_landing(home)
    assert sorted(p.name for p in files) == ["alias-of-october.csv", "october.csv"]
    lines = [r.line for r in refused]
    assert [line.split(": ")[0] for line in lines] == [
        "caf\\xe9-2024-11.csv",
        "dangling.csv",
        "outside-folder",
        "outside.csv",
        "two\\x0alines.csv",
    ]
    assert all("\n" not in line and line.encode("utf-8") for line in lines)
    assert lines[3] == "outside.csv: a symbolic link leading out of the landing folder: not followed, not read"
    assert lines[1] == "dangling.csv: a symbolic link to nothing: not read"
    assert "not valid UTF-8" in lines[0] and "not valid UTF-8" in lines[4]


def test_a_run_reports_each_refused_entry_once_and_reads_only_what_is_inside(tmp_path, example_rows):
    import subprocess
    import sys

    from pipelines.exit_codes import FINDINGS
    from pipelines.ingest.archive import sha256_of
    from tests.conftest import warehouse_scalar

    home = DataHome(tmp_path / "home").ensure()
    import_demo_reference(home)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    paths = _landing_with_hazards(home, outside, example_rows)
    (tmp_path / "dagster").mkdir()
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "dagster")}
    for _ in range(2):  # a second run finds the same entries: reported again, stored once
        run = subprocess.run(
            [sys.executable, "-m", "pipelines.cli", "--home", str(home.root), "run"],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
        )
        assert run.returncode == FINDINGS, run.stderr  # the run worked; refused files are findings
        assert "Traceback" not in run.stdout + run.stderr
        assert "published 1 month(s)" in run.stdout
        for line in (
            "  caf\\xe9-2024-11.csv: the file name is not valid UTF-8",
            "  outside.csv: a symbolic link leading out",
            "  dangling.csv: a symbolic link to nothing",
            "  two\\x0alines.csv: the file name is not valid UTF-8",
        ):
            assert run.stdout.count(line) == 1, (line, run.stdout)
    assert sorted(p.name for p in home.archive.iterdir()) == [sha256_of(paths["october"]) + ".csv"]
    assert warehouse_scalar(home, "SELECT count(*) FROM returns WHERE period = '2024-11'") == 0
    assert (
        warehouse_scalar(home, "SELECT count(*) FROM findings WHERE rule = 'file_unreadable' AND sha256 IS NULL") == 5
    )
    assert warehouse_scalar(home, "SELECT list(DISTINCT file_name ORDER BY file_name) FROM landing_seen") == [
        "alias-of-october.csv",
        "october.csv",
    ]


def test_the_sensor_requests_nothing_for_refused_entries_and_reports_them_once(tmp_path, example_rows):
    import dagster as dg

    from pipelines.orchestration.definitions import defs
    from pipelines.orchestration.resources import DataHomeResource
    from pipelines.orchestration.sensors import SENSOR_NAME

    home = DataHome(tmp_path / "home").ensure()
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    _landing_with_hazards(home, outside, example_rows)
    old = time.time() - 3600
    for path in home.landing.iterdir():
        os.utime(path, (old, old), follow_symlinks=False)

    sensor = defs.resolve_sensor_def(SENSOR_NAME)
    with dg.instance_for_test() as instance:

        def tick(cursor):
            return sensor(
                dg.build_sensor_context(
                    instance=instance,
                    cursor=cursor,
                    definitions=defs,
                    resources={"data_home": DataHomeResource(path=str(home.root))},
                )
            )

        first = tick(None)
        requests = first.run_requests or []
        assert {(r.partition_key, r.tags["csc/file"]) for r in requests} == {
            (MONTH, "october.csv"),
            (MONTH, "alias-of-october.csv"),
        }
        assert all(r.run_key.encode("utf-8") for r in requests)
        second = tick(first.cursor)
    assert not second.run_requests
    said = second.skip_reason.skip_message if second.skip_reason else ""
    assert "outside.csv" not in said and "caf" not in said  # reported once, not every tick
    refused = json.loads(first.cursor)["refused"]  # the cursor is text a daemon can store
    assert sorted(refused) == [
        "caf\\xe9-2024-11.csv",
        "dangling.csv",
        "outside-folder",
        "outside.csv",
        "two\\x0alines.csv",
    ]


def _flipping(link: Path, inside: str, outside: Path, stop) -> None:
    """Swap `link` between a file of the landing folder and one outside it, atomically, until `stop` is set."""
    spare = link.with_name(".flip.tmp")
    while not stop.is_set():
        for target in (inside, str(outside)):
            spare.unlink(missing_ok=True)
            spare.symlink_to(target)
            os.replace(spare, link)


def test_a_link_flipped_during_a_run_never_gets_an_outside_file_archived(tmp_path, example_rows):
    """A thread swaps a landing link between an inside file and an outside one while the intake
    lists, opens, hashes and copies: the descriptor checked is the one read, so the outside file
    is never read, archived or registered (SYNTHETIC returns)."""
    import hashlib
    import itertools
    import threading
    import time

    from pipelines.ingest.arrivals import LandingChanged, open_landed, sha256_of_handle

    home = DataHome(tmp_path / "home").ensure()
    october = write_return(home.landing / "october.csv", [r for r in example_rows if r["period"] == MONTH])
    (tmp_path / "elsewhere").mkdir()
    secret = write_return(
        tmp_path / "elsewhere" / "secret.csv",
        [dict(r, la_name="OUTSIDE-SECRET") for r in example_rows if r["period"] == "2024-11"],
    )
    secret_sha = hashlib.sha256(secret.read_bytes()).hexdigest()
    link = home.landing / "alias.csv"
    link.symlink_to("october.csv")
    stop = threading.Event()
    flipper = threading.Thread(target=_flipping, args=(link, "october.csv", secret, stop), daemon=True)
    flipper.start()
    try:
        seen = set()
        october_sha = hashlib.sha256(october.read_bytes()).hexdigest()
        deadline = time.monotonic() + 60
        # The descriptor level: open until the race has gone both ways (how soon depends on the
        # machine's load and the interpreter's thread switching), at least 3,000 times.
        for attempt in itertools.count():
            if (attempt >= 3000 and {october_sha, "refused"} <= seen) or time.monotonic() > deadline:
                break
            try:
                with open_landed(home, "alias.csv") as landed:
                    seen.add(sha256_of_handle(landed)[0])
            except (LandingChanged, FileNotFoundError):
                seen.add("refused")
        for _ in range(40):  # the intake itself: scan, open, hash, copy, register
            archive_landing(home)
    finally:
        stop.set()
        flipper.join()
    assert secret_sha not in seen and october_sha in seen and "refused" in seen  # the race was run both ways
    assert [p.name for p in home.archive.iterdir()] == [f"{october_sha}.csv"]
    from tests.conftest import warehouse_scalar

    assert warehouse_scalar(home, "SELECT list(DISTINCT sha256) FROM received_files") == [october_sha]
    assert warehouse_scalar(home, "SELECT count(*) FROM findings WHERE message LIKE '%OUTSIDE-SECRET%'") == 0


def test_a_link_to_a_link_is_refused_in_the_scan_as_the_open_would_refuse_it(tmp_path):
    """The open follows one link, once, within the folder: a chain is said, never silently skipped."""
    from pipelines.ingest.arrivals import LandingChanged, open_landed, scan_landing

    home = DataHome(tmp_path / "home").ensure()
    (home.landing / "october.csv").write_text("la_code,period\n", encoding="utf-8")  # SYNTHETIC
    (home.landing / "alias.csv").symlink_to("october.csv")
    (home.landing / "alias-of-alias.csv").symlink_to("alias.csv")
    files, refused = scan_landing(home)
    assert sorted(p.name for p in files) == ["alias.csv", "october.csv"]
    assert [r.line for r in refused] == ["alias-of-alias.csv: a symbolic link to another link: not followed, not read"]
    with (
        pytest.raises(LandingChanged, match="a symbolic link to another link"),
        open_landed(home, "alias-of-alias.csv"),
    ):
        pass
