"""publish_month end to end on synthetic returns in a temporary data home."""

from __future__ import annotations

import json

import pytest

from pipelines.publish.dataset import PublishSettings
from pipelines.publish.ees import MONTH_NAMES, published_indicators, read_csv
from pipelines.publish.files import SERIES_FILE, release_file
from pipelines.publish.release import PublishingError, publish_month
from pipelines.store.disclosed import read_disclosed
from pipelines.store.warehouse import connect

from .synthetic import (
    BLACKPOOL,
    HALTON,
    NORTH_EAST,
    NORTH_WEST,
    WARRINGTON,
    accept_returns,
    folder_bytes,
    make_home,
    register_of,
    rows_by_geography,
)

MONTH = "2025-12"
INDICATOR_COLUMNS = {i.column for i in published_indicators()}
SMALL_NORTH_WEST = {
    BLACKPOOL: {
        "icpcs": 3,
        "icpcs_within_15wd": 2,
        "cla_started": 5,
        "cp_plans_started": 0,
        "population_0_17": 28354,
        "cla": 537,
    },
    HALTON: {"re_referrals": 4, "cla_ceased": 1, "cla_started": 0},
    WARRINGTON: {"referrals_to_assessment": 0, "cla_ceased": 0, "cp_plans_started": 2},
}


def test_three_north_west_authorities_small_counts_suppressed_and_no_totals(north_west_home):
    accept_returns(north_west_home, MONTH, SMALL_NORTH_WEST)

    summary = publish_month(north_west_home, MONTH)

    assert summary.screen_passed, summary.screen_findings
    rows = rows_by_geography(north_west_home.publish / release_file(MONTH))
    for code, figures in SMALL_NORTH_WEST.items():
        for column, value in figures.items():
            if 1 <= value <= 5:
                assert rows[code][column] == "c", (code, column)
            elif value == 0:
                assert rows[code][column] == "0", (code, column)
    assert rows[BLACKPOOL]["icpcs_within_15wd_percent"] == "c"  # numerator and denominator suppressed
    assert rows[HALTON]["re_referral_percent"] == "c"
    assert rows[WARRINGTON]["referral_to_assessment_percent"] == "0.0"  # a true zero is a true 0 %
    for total in (NORTH_WEST, "E92000001"):
        published = {c: v for c, v in rows[total].items() if c in INDICATOR_COLUMNS}
        assert set(published.values()) == {"x"}, total
    metadata = json.loads((north_west_home.publish / f"releases/{MONTH}/release.json").read_text())
    assert any(
        "North West (E12000002) total not published" in note and "21 of 24" in note for note in metadata["notes"]
    )
    assert any(note.startswith("England total not published") for note in metadata["notes"])
    assert summary.suppressed_cells >= 7


def test_rates_are_recomputed_from_components_to_one_decimal(north_west_home):
    accept_returns(north_west_home, MONTH, SMALL_NORTH_WEST)
    publish_month(north_west_home, MONTH)
    blackpool = rows_by_geography(north_west_home.publish / release_file(MONTH))[BLACKPOOL]
    assert blackpool["cla_rate_per_10k"] == "189.4"  # 537 / 28,354 x 10,000 = 189.39; the return said 9999
    assert blackpool["cla"] == "537"  # authority counts are not rounded
    assert blackpool["contacts_to_referral_percent"] == "27.8"  # 250 / 900 x 100
    assert (blackpool["la_name"], blackpool["old_la_code"], blackpool["region_name"]) == (
        "Blackpool",
        "890",
        "North West",
    )
    assert (blackpool["time_period"], blackpool["time_identifier"], blackpool["geographic_level"]) == (
        "2025",
        "December",
        "Local authority",
    )


def test_complete_regions_give_rounded_totals_and_rates_from_exact_sums(tmp_path):
    register = register_of([NORTH_EAST])
    home = make_home(tmp_path, register)
    codes = list(register["new_la_code"])
    accept_returns(home, MONTH, {code: {"cla": 301 + n, "population_0_17": 30001 + n} for n, code in enumerate(codes)})

    summary = publish_month(home, MONTH)

    assert summary.screen_passed, summary.screen_findings
    rows = rows_by_geography(home.publish / release_file(MONTH))
    cla = sum(301 + n for n in range(len(codes)))
    population = sum(30001 + n for n in range(len(codes)))
    for total in (NORTH_EAST, "E92000001"):
        assert rows[total]["cla"] == str((cla + 5) // 10 * 10)
        assert rows[total]["population_0_17"] == str((population + 5) // 10 * 10)
        assert rows[total]["cla_rate_per_10k"] == f"{cla / population * 10000:.1f}"
        assert rows[total]["contacts"] == str(900 * len(codes))
    assert rows[codes[0]]["cla"] == "301"


def test_one_small_authority_in_a_complete_region_gets_a_complementary_suppression(tmp_path):
    register = register_of([NORTH_EAST])
    home = make_home(tmp_path, register)
    codes = list(register["new_la_code"])
    accept_returns(home, MONTH, {code: {"cla_started": 3 if n == 0 else 10 + n} for n, code in enumerate(codes)})

    publish_month(home, MONTH)

    rows = rows_by_geography(home.publish / release_file(MONTH))
    suppressed = [code for code in codes if rows[code]["cla_started"] == "c"]
    assert suppressed == [codes[0], codes[1]]  # the small one and the smallest other authority
    assert rows[NORTH_EAST]["cla_started"] != "c"


def _disclosed(home, month):
    with connect(home, read_only=True) as connection:
        return read_disclosed(connection, month)


def test_a_month_published_again_keeps_what_its_first_release_withheld(tmp_path):
    """SYNTHETIC. The first release hides the small 3 and, as its complement, the next smallest
    authority's figure. The small authority resubmits 40: were the complement printed now, the first
    release's region total (held privately, exact) would give the 3 back, so it stays `c` and the 40
    becomes its complement. The record of what each release disclosed is the warehouse's, never served."""
    register = register_of([NORTH_EAST])
    home = make_home(tmp_path, register)
    codes = list(register["new_la_code"])
    figures = {code: {"cla_started": 3 if n == 0 else 10 + n} for n, code in enumerate(codes)}
    accept_returns(home, MONTH, figures)
    publish_month(home, MONTH)
    first = rows_by_geography(home.publish / release_file(MONTH))
    recorded = _disclosed(home, MONTH)
    publish_month(home, MONTH)  # the same release again records nothing new
    assert _disclosed(home, MONTH).equals(recorded)
    accept_returns(home, MONTH, {codes[0]: {"cla_started": 40}}, received="2026-01-20")

    publish_month(home, MONTH)

    again = rows_by_geography(home.publish / release_file(MONTH))
    assert [first[code]["cla_started"] for code in codes[:3]] == ["c", "c", "12"]
    assert [again[code]["cla_started"] for code in codes[:3]] == ["c", "c", "12"]
    started = _disclosed(home, MONTH).query("indicator == 'cla_started'")
    assert set(zip(started["geography"], started["figure"], started["published"])) >= {
        (codes[0], 3, False),
        (codes[0], 40, False),
        (codes[1], 11, False),
        (codes[2], 12, True),
    }
    assert not any("disclosed" in path.name for path in home.publish.rglob("*"))


def test_same_inputs_give_byte_identical_files(north_west_home):
    accept_returns(north_west_home, MONTH, SMALL_NORTH_WEST)
    publish_month(north_west_home, MONTH)
    first = folder_bytes(north_west_home.publish)
    summary = publish_month(north_west_home, MONTH)
    assert folder_bytes(north_west_home.publish) == first
    assert summary.revisions == 0
    assert set(summary.files) <= set(first)


def test_resubmission_is_recorded_as_a_revision_and_the_series_keeps_every_month(north_west_home):
    accept_returns(north_west_home, "2025-11", SMALL_NORTH_WEST, received="2025-12-05")
    accept_returns(north_west_home, MONTH, SMALL_NORTH_WEST)
    publish_month(north_west_home, "2025-11")
    publish_month(north_west_home, MONTH)
    accept_returns(
        north_west_home, "2025-11", {BLACKPOOL: {**SMALL_NORTH_WEST[BLACKPOOL], "cla": 540}}, received="2026-01-09"
    )

    summary = publish_month(north_west_home, "2025-11")

    assert summary.revisions == 2
    _, revisions = read_csv(north_west_home.publish / "revisions.csv")
    assert [(r["indicator"], r["old"], r["new"], r["geography"], r["date"]) for r in revisions] == [
        ("cla", "537", "540", BLACKPOOL, "2026-01-09"),
        ("cla_rate_per_10k", "189.4", "190.4", BLACKPOOL, "2026-01-09"),
    ]
    metadata = json.loads((north_west_home.publish / "releases/2025-11/release.json").read_text())
    assert any("revised after resubmission" in note for note in metadata["notes"])
    _, series = read_csv(north_west_home.publish / SERIES_FILE)
    assert {(r["time_period"], r["time_identifier"]) for r in series} == {("2025", "November"), ("2025", "December")}
    november_blackpool = [r for r in series if r["new_la_code"] == BLACKPOOL and r["time_identifier"] == "November"]
    assert november_blackpool[0]["cla"] == "540"
    assert [MONTH_NAMES.index(r["time_identifier"]) for r in series] == sorted(
        MONTH_NAMES.index(r["time_identifier"]) for r in series
    )


def test_held_back_authority_is_reported_and_published_as_not_available(north_west_home):
    accept_returns(north_west_home, MONTH, SMALL_NORTH_WEST)
    accept_returns(north_west_home, MONTH, {"E08000012": {}}, status="held_back")

    summary = publish_month(north_west_home, MONTH)

    assert summary.held_back == ["E08000012"]
    liverpool = rows_by_geography(north_west_home.publish / release_file(MONTH))["E08000012"]
    assert liverpool["cla"] == "x"
    metadata = json.loads((north_west_home.publish / f"releases/{MONTH}/release.json").read_text())
    assert metadata["held_back"] == ["E08000012"]
    assert summary.la_rows == 24


def test_failed_screen_leaves_the_published_folder_untouched(tmp_path):
    home = make_home(tmp_path, register_of([NORTH_WEST]))
    accept_returns(home, MONTH, SMALL_NORTH_WEST)
    publish_month(home, MONTH)
    before = folder_bytes(home.publish)
    accept_returns(home, "2026-01", {**SMALL_NORTH_WEST, "E06000099": {}})  # not an authority of the register

    summary = publish_month(home, "2026-01")

    assert not summary.screen_passed and summary.files == []
    assert any("E06000099" in finding for finding in summary.screen_findings)
    assert folder_bytes(home.publish) == before
    assert not [p for p in home.root.iterdir() if p.name.startswith(".publish")]
    assert _disclosed(home, "2026-01").empty  # a release never served is not on the record


def test_text_that_a_spreadsheet_would_run_is_never_published_as_is(tmp_path):
    register = register_of([NORTH_WEST])
    register.loc[register["new_la_code"] == BLACKPOOL, "la_name"] = '=HYPERLINK("http://example.invalid","Blackpool")'
    home = make_home(tmp_path, register)
    accept_returns(home, MONTH, SMALL_NORTH_WEST)

    summary = publish_month(home, MONTH)

    assert not summary.screen_passed
    assert any("formula" in f or "not an authority of the register" in f for f in summary.screen_findings)
    assert not home.publish.exists() or not any(home.publish.iterdir())


@pytest.mark.parametrize(
    "month, message",
    [("2025-13", "not YYYY-MM"), ("Dec 2025", "not YYYY-MM"), ("2024-01", "no accepted returns for 2024-01")],
)
def test_bad_month_is_a_one_line_error(north_west_home, month, message):
    accept_returns(north_west_home, MONTH, SMALL_NORTH_WEST)
    with pytest.raises(PublishingError, match=message) as raised:
        publish_month(north_west_home, month)
    assert "\n" not in str(raised.value)


def test_without_a_register_publishing_stops_with_one_line(tmp_path):
    from pipelines.home import DataHome

    home = DataHome(tmp_path / "empty").ensure()
    with pytest.raises(PublishingError, match="no register of authorities imported"):
        publish_month(home, MONTH)


def test_the_publisher_comes_from_the_settings_and_the_defaults_keep_the_files(north_west_home):
    accept_returns(north_west_home, MONTH, SMALL_NORTH_WEST)
    publish_month(north_west_home, MONTH)
    default = folder_bytes(north_west_home.publish)
    package = json.loads(default["datapackage.json"])
    assert package["contributors"] == [{"title": "csc-returns open data", "role": "publisher"}]

    publish_month(north_west_home, MONTH, settings=PublishSettings(publisher_name="SYNTHETIC Council"))

    changed = {name for name, data in folder_bytes(north_west_home.publish).items() if default.get(name) != data}
    assert changed == {"datapackage.json", "dcat.jsonld", "manifest.json"}
    assert "SYNTHETIC Council" in (north_west_home.publish / "dcat.jsonld").read_text()


def _months(first: str, count: int) -> list[str]:
    year, month = int(first[:4]), int(first[5:])
    return [f"{year + (month - 1 + k) // 12}-{(month - 1 + k) % 12 + 1:02d}" for k in range(count)]


def test_twelve_month_sums_over_a_suppressed_month_are_suppressed_in_every_published_file(north_west_home):
    """SYNTHETIC: Halton publishes 12 s47 enquiries a month from January 2025; a resubmitted December
    with 3 would otherwise come back from the January 2026 sum (and the old sum in revisions.csv)."""
    months = _months("2025-01", 13)
    for month in months:
        accept_returns(
            north_west_home, month, {HALTON: {"s47_enquiries": 12, "s47_enquiries_12m": 144}}, received=f"{month}-28"
        )
        publish_month(north_west_home, month)
    _, series = read_csv(north_west_home.publish / SERIES_FILE)
    halton = {
        f"{r['time_period']}-{MONTH_NAMES.index(r['time_identifier']) + 1:02d}": r
        for r in series
        if r["new_la_code"] == HALTON
    }
    # A sum is published only once twelve months of its window are: 2024 was never published.
    assert [halton[m]["s47_enquiries_12m"] for m in months] == ["c"] * 11 + ["144", "144"]
    assert [halton[m]["s47_rate_per_10k"] for m in months[-2:]] == ["48.0", "48.0"]  # 144 / 30,000 x 10,000

    accept_returns(
        north_west_home, "2025-12", {HALTON: {"s47_enquiries": 3, "s47_enquiries_12m": 135}}, received="2026-02-10"
    )
    summary = publish_month(north_west_home, "2025-12")

    assert summary.screen_passed, summary.screen_findings
    december = rows_by_geography(north_west_home.publish / release_file("2025-12"))
    january = rows_by_geography(north_west_home.publish / release_file("2026-01"))
    assert december[HALTON]["s47_enquiries"] == "c"
    for rows in (december, january):
        assert rows[HALTON]["s47_enquiries_12m"] == "c" and rows[HALTON]["s47_rate_per_10k"] == "c"
    _, series = read_csv(north_west_home.publish / SERIES_FILE)
    assert {r["s47_enquiries_12m"] for r in series if r["new_la_code"] == HALTON} == {"c"}
    _, revisions = read_csv(north_west_home.publish / "revisions.csv")
    assert {(r["month"], r["indicator"], r["new"]) for r in revisions} >= {
        ("2026-01", "s47_enquiries_12m", "c"),
        ("2026-01", "s47_rate_per_10k", "c"),
        ("2025-12", "s47_enquiries", "c"),
        ("2025-12", "s47_enquiries_12m", "c"),
    }
    # The figures withdrawn are not written down beside the withdrawal: 144 less eleven published 12s is 12,
    # and an unchanged sum would give the new month back the same way.
    withdrawn = [r for r in revisions if r["new"] == "c"]
    assert withdrawn and all(r["old"] == "c" for r in withdrawn)


def test_a_regional_sum_over_an_authority_sum_made_before_a_resubmission_is_withdrawn(tmp_path):
    """SYNTHETIC: every North East authority returns 60 s47 enquiries a month and 720 over twelve, for
    2025-01 to 2026-01. The first authority then resubmits June 2025 as 75: its later sums (720,
    returned with the 60) no longer add up its months, and the warehouse (the only holder of the exact
    figures) tells the release that the region's and England's sums over them must go too."""
    register = register_of([NORTH_EAST])
    home = make_home(tmp_path, register)
    codes = list(register["new_la_code"])
    months = _months("2025-01", 13)
    for month in months:
        accept_returns(home, month, {code: {"s47_enquiries_12m": 720} for code in codes}, received=f"{month}-28")
        publish_month(home, month)
    published = rows_by_geography(home.publish / release_file("2026-01"))
    assert [published[g]["s47_enquiries_12m"] for g in (codes[0], NORTH_EAST, "E92000001")] == ["720", "8640", "8640"]
    accept_returns(home, "2025-06", {codes[0]: {"s47_enquiries": 75, "s47_enquiries_12m": 720}}, received="2026-02-02")

    publish_month(home, "2025-06")

    for month in ("2025-12", "2026-01"):
        rows = rows_by_geography(home.publish / release_file(month))
        assert [rows[g]["s47_enquiries_12m"] for g in (codes[0], NORTH_EAST, "E92000001")] == ["c", "c", "c"]
        assert rows[codes[1]]["s47_enquiries_12m"] == "720"
    _, revisions = read_csv(home.publish / "revisions.csv")
    withdrawn = {(r["month"], r["geography"]) for r in revisions if r["indicator"] == "s47_enquiries_12m"}
    assert {("2025-12", NORTH_EAST), ("2026-01", "E92000001")} <= withdrawn
