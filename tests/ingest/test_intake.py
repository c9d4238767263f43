"""Intake: every landed file archived by sha256, arrivals and supersession; re-running never duplicates."""

from __future__ import annotations

import hashlib

from pipelines.steps.monthly import archive_landing, received_month, validate_month
from pipelines.store.warehouse import connect
from tests.conftest import warehouse_scalar, write_return


def test_every_landed_file_is_archived_byte_for_byte_by_sha256(home, example_rows):
    landed = write_return(home.landing / "return.csv", example_rows)
    junk = home.landing / "minutes.docx"
    junk.write_bytes(b"not a return")
    (home.landing / "upload.csv.part").write_bytes(b"half a file")

    archived = archive_landing(home)
    archive_landing(home)  # again: nothing new

    digest = hashlib.sha256(landed.read_bytes()).hexdigest()
    assert (home.archive / f"{digest}.csv").read_bytes() == landed.read_bytes()
    assert {a.file_name for a in archived} == {"return.csv", "minutes.docx"}
    assert warehouse_scalar(home, "SELECT count(*) FROM received_files") == 2
    assert (
        warehouse_scalar(home, "SELECT count(*) FROM findings WHERE rule = 'file_unreadable' AND file = 'minutes.docx'")
        == 1
    )


def test_a_later_file_supersedes_an_earlier_one_and_both_stay_archived(home, example_rows):
    first = [r for r in example_rows if r["period"] == "2024-10"]
    write_return(home.landing / "october.csv", first)
    archive_landing(home)
    corrected = [dict(first[0], cla="530", cla_rate_per_10k="185.1"), first[1]]
    write_return(home.landing / "october.csv", corrected)  # same name, new content
    archive_landing(home)

    month = received_month(home, "2024-10")
    validate_month(home, "2024-10", engine="pandas")
    validate_month(home, "2024-10", engine="pandas")  # re-run: replaces, never adds

    assert len(list(home.archive.iterdir())) == 2
    blackpool = month.values.set_index("la_code").loc["E06000009"]
    assert blackpool["cla"] == 530
    assert warehouse_scalar(home, "SELECT count(*) FROM returns WHERE period = '2024-10'") == 2
    assert warehouse_scalar(home, "SELECT cla FROM returns WHERE la_code = 'E06000009' AND period = '2024-10'") == 530


def test_rows_naming_no_authority_or_month_are_recorded_against_their_file(home, example_rows):
    rows = [example_rows[0], dict(example_rows[1], la_code=""), dict(example_rows[2], period="Oct-24")]
    write_return(home.landing / "gaps.csv", rows)

    archive_landing(home)
    month = received_month(home, "2024-10")

    with connect(home) as connection:
        unplaced = connection.execute(
            'SELECT rule, "row" FROM findings WHERE period IS NULL AND file = \'gaps.csv\' ORDER BY "row"'
        ).fetchall()
    assert unplaced == [("la_code_missing", 3), ("period_format", 4)]
    assert list(month.values["la_code"]) == ["E06000009"]


def test_re_sending_an_earlier_file_makes_it_current_again(home, example_rows):
    october = [r for r in example_rows if r["period"] == "2024-10"]
    path = home.landing / "blackpool.csv"
    write_return(path, october[:1])
    first = path.read_bytes()
    archive_landing(home)
    write_return(path, [dict(october[0], cla="600", cla_rate_per_10k="209.6")])
    archive_landing(home)
    assert received_month(home, "2024-10").values.loc[0, "cla"] == 600

    path.write_bytes(first)  # the authority withdraws its second submission
    archive_landing(home)
    archive_landing(home)  # seen again, unchanged: not a new arrival

    assert received_month(home, "2024-10").values.loc[0, "cla"] == 529
    assert len(list(home.archive.iterdir())) == 2


def test_the_same_bytes_under_a_return_extension_are_read(home, example_rows):
    text = write_return(home.root / "staging.csv", example_rows).read_bytes()
    (home.landing / "return.txt").write_bytes(text)
    archive_landing(home)
    assert received_month(home, "2024-10").values.empty

    (home.landing / "return.txt").rename(home.landing / "return.csv")
    archive_landing(home)

    assert sorted(received_month(home, "2024-10").values["la_code"]) == ["E06000006", "E06000009"]
