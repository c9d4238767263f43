"""Archive, supersession and storage: re-running is safe and never duplicates."""
from __future__ import annotations

import hashlib

import pyarrow.parquet as pq

from pipelines.intake import archive_landing, received_month
from pipelines.processing import HELD_BACK, store_accepted, validate_month
from pipelines.warehouse import connect
from tests.conftest import write_return


def _count(home, sql, params=()):
    with connect(home) as connection:
        return connection.execute(sql, list(params)).fetchone()[0]


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
    assert _count(home, "SELECT count(*) FROM received_files") == 2
    assert _count(home, "SELECT count(*) FROM findings WHERE rule = 'file_unreadable' AND file = 'minutes.docx'") == 1


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
    assert _count(home, "SELECT count(*) FROM returns WHERE period = '2024-10'") == 2
    assert _count(home, "SELECT cla FROM returns WHERE la_code = 'E06000009' AND period = '2024-10'") == 530


def test_errors_hold_a_return_back_and_the_rest_are_stored_in_duckdb_and_parquet(home, example_rows):
    rows = [r for r in example_rows if r["period"] == "2024-11"]
    rows[1] = dict(rows[1], cla_rate_per_10k="1083.2")  # Halton: a rate per 100,000
    write_return(home.landing / "november.csv", rows)
    archive_landing(home)

    result = validate_month(home, "2024-11", engine="pandas")
    stored = store_accepted(home, "2024-11")
    store_accepted(home, "2024-11")

    assert result.held_back == ["E06000006"] and result.accepted == ["E06000009"]
    assert _count(home, "SELECT status FROM returns WHERE la_code = 'E06000006'") == HELD_BACK
    assert list(stored["la_code"]) == ["E06000009"]
    assert _count(home, "SELECT count(*) FROM indicator_values") == 1
    lake = pq.read_table(home.lake / "indicator_values" / "period=2024-11" / "part-0.parquet").to_pandas()
    assert list(lake["la_code"]) == ["E06000009"]
    finding = result.findings.query("severity == 'error'").iloc[0]
    assert (finding["la_code"], finding["column"], finding["file"], finding["row"]) == (
        "E06000006", "cla_rate_per_10k", "november.csv", 3)


def test_rows_naming_no_authority_or_month_are_recorded_against_their_file(home, example_rows):
    rows = [example_rows[0], dict(example_rows[1], la_code=""), dict(example_rows[2], period="Oct-24")]
    write_return(home.landing / "gaps.csv", rows)

    archive_landing(home)
    month = received_month(home, "2024-10")

    with connect(home) as connection:
        unplaced = connection.execute(
            "SELECT rule, \"row\" FROM findings WHERE period IS NULL AND file = 'gaps.csv' ORDER BY \"row\"").fetchall()
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


def test_a_header_error_holds_back_every_return_of_the_file(home, example_rows):
    path = write_return(home.landing / "twice.csv", [r for r in example_rows if r["period"] == "2024-10"])
    header, body = path.read_text().split("\n", 1)
    path.write_text(header + ",cla\n" + "\n".join(line + ",1" for line in body.splitlines()) + "\n")
    archive_landing(home)

    result = validate_month(home, "2024-10", engine="pandas")

    assert result.held_back == ["E06000006", "E06000009"]
    duplicate = result.findings[result.findings["rule"] == "duplicate_column"]
    assert sorted(duplicate["la_code"]) == ["E06000006", "E06000009"] and set(duplicate["sha256"].notna()) == {True}


def test_a_ragged_resubmission_is_held_back_not_replaced_by_the_older_return(home, example_rows):
    write_return(home.landing / "v1.csv", [r for r in example_rows if r["period"] == "2024-10"])
    archive_landing(home)
    path = write_return(home.landing / "v2.csv", [r for r in example_rows if r["period"] == "2024-10"][:1])
    path.write_text(path.read_text().rstrip("\n") + ",99\n")  # one cell too many
    archive_landing(home)

    result = validate_month(home, "2024-10", engine="pandas")

    assert result.held_back == ["E06000009"]
    ragged = result.findings[result.findings["rule"] == "ragged_row"].iloc[0]
    assert (ragged["file"], ragged["row"], ragged["la_code"]) == ("v2.csv", 2, "E06000009")


def test_figures_that_are_not_the_current_accepted_return_block_publication(home, example_rows):
    from pipelines.processing import publication_blockers

    october = [r for r in example_rows if r["period"] == "2024-10"]
    write_return(home.landing / "v1.csv", october)
    archive_landing(home)
    validate_month(home, "2024-10", engine="pandas")
    store_accepted(home, "2024-10")
    assert publication_blockers(home, "2024-10").empty

    write_return(home.landing / "v2.csv", [dict(october[0], cla="530", cla_rate_per_10k="185.1")])
    archive_landing(home)
    validate_month(home, "2024-10", engine="pandas")  # validated again, accepted figures not stored yet

    stale = publication_blockers(home, "2024-10")
    assert list(stale["rule"]) == ["stale_indicator_values"] and list(stale["la_code"]) == ["E06000009"]
    store_accepted(home, "2024-10")
    assert publication_blockers(home, "2024-10").empty


def test_a_missing_mandatory_column_is_told_apart_from_a_blank_cell_per_file(home, example_rows):
    october = [r for r in example_rows if r["period"] == "2024-10"]
    write_return(home.landing / "blank.csv", [dict(october[0], cin="")])
    write_return(home.landing / "no-cin.csv", [october[1]], [c for c in october[1] if c not in ("cin", "cin_rate_per_10k")])
    archive_landing(home)

    findings = validate_month(home, "2024-10", engine="pandas").findings
    missing = findings[findings["rule"] == "mandatory_missing"].set_index("la_code")["message"]

    assert missing["E06000009"] == "cin is mandatory but it is blank"
    assert missing["E06000006"] == "cin is mandatory but its file has no such column"
