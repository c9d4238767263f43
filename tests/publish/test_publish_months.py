"""publish_months: a range of months published in one call gives the files of publishing them one by one.

Every figure is SYNTHETIC. Halton's small s47 enquiries and Blackpool's small starts make suppression
across months, revisions and rewritten snapshots happen inside the range.
"""

from __future__ import annotations

from dataclasses import asdict

from pipelines.publish.ees import read_csv
from pipelines.publish.files import REVISIONS_FILE
from pipelines.publish.release import publish_month, publish_months

from .synthetic import BLACKPOOL, HALTON, NORTH_WEST, WARRINGTON, accept_returns, folder_bytes, make_home, register_of

MONTHS = [f"2025-{m:02d}" for m in range(1, 13)] + ["2026-01", "2026-02", "2026-03"]
RESUBMITTED = "2025-06"


def _history(home) -> None:
    for k, month in enumerate(MONTHS):
        accept_returns(
            home,
            month,
            {
                HALTON: {"s47_enquiries": 12, "s47_enquiries_12m": 144},
                BLACKPOOL: {"cla_started": 3 if k % 5 == 0 else 8, "cla": 537 + k},
                WARRINGTON: {"cp_plans_started": 2 if k % 3 == 0 else 9},
            },
            received=f"{month}-28",
        )


def _resubmit(home) -> None:
    """Halton's June with 3 enquiries (its sums in later months become c) and Blackpool's cla revised."""
    accept_returns(
        home,
        RESUBMITTED,
        {
            HALTON: {"s47_enquiries": 3, "s47_enquiries_12m": 135},
            BLACKPOOL: {"cla_started": 8, "cla": 600},
            WARRINGTON: {"cp_plans_started": 9},
        },
        received="2026-04-02",
    )


def _homes(tmp_path):
    homes = []
    for name in ("one_by_one", "at_once"):
        (tmp_path / name).mkdir()
        homes.append(make_home(tmp_path / name, register_of([NORTH_WEST])))
    return homes


def test_a_range_published_in_one_call_equals_its_months_published_one_by_one(tmp_path):
    one_by_one, at_once = _homes(tmp_path)
    for home in (one_by_one, at_once):
        _history(home)

    expected = [publish_month(one_by_one, month) for month in MONTHS]
    summaries = publish_months(at_once, MONTHS)

    assert all(summary.screen_passed for summary in summaries)
    assert [asdict(s) for s in summaries] == [asdict(s) for s in expected]
    published = folder_bytes(at_once.publish)
    assert published == folder_bytes(one_by_one.publish)
    assert {f"releases/{month}/release.json" for month in MONTHS} <= set(published)

    # A resubmission republishes its month and the months whose history reads it, in one call.
    for home in (one_by_one, at_once):
        _resubmit(home)
    later = [month for month in MONTHS if month >= RESUBMITTED]
    expected = [publish_month(one_by_one, month) for month in later]
    summaries = publish_months(at_once, later)

    assert [asdict(s) for s in summaries] == [asdict(s) for s in expected]
    assert folder_bytes(at_once.publish) == folder_bytes(one_by_one.publish)
    _, revisions = read_csv(at_once.publish / REVISIONS_FILE)
    revised_months = {record["month"] for record in revisions}
    assert RESUBMITTED in revised_months and revised_months - {RESUBMITTED}  # later months' sums suppressed too
    assert summaries[0].revisions > 0


def test_a_range_with_a_month_refused_publishes_the_others(tmp_path):
    [home] = _homes(tmp_path)[:1]
    accept_returns(home, "2025-01", {HALTON: {}}, received="2025-01-28")
    accept_returns(home, "2025-03", {HALTON: {}}, received="2025-03-28")

    summaries = publish_months(home, ["2025-01", "2025-02", "2025-03"])

    assert [(s.month, s.screen_passed, bool(s.refusal)) for s in summaries] == [
        ("2025-01", True, False),
        ("2025-02", False, True),
        ("2025-03", True, False),
    ]
    assert "no accepted returns for 2025-02" in summaries[1].refusal
    assert (home.publish / "releases/2025-03/release.json").exists()
    assert not (home.publish / "releases/2025-02").exists()


def _files(folder) -> dict[str, tuple[int, int]]:
    """Each file's inode and modification time: a file rewritten is a new file."""
    return {
        p.relative_to(folder).as_posix(): (p.stat().st_ino, p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_a_range_published_again_unchanged_rewrites_nothing(tmp_path):
    """The months validated again with the same figures: the same summaries, and not one file (nor the
    folder) written again."""
    [home] = _homes(tmp_path)[:1]
    _history(home)
    first = publish_months(home, MONTHS)
    before, folder = _files(home.publish), home.publish.stat().st_ino

    again = publish_months(home, MONTHS)

    assert [asdict(s) for s in again] == [asdict(s) for s in first]
    assert _files(home.publish) == before and home.publish.stat().st_ino == folder


def test_a_resubmission_rewrites_the_files_it_changes_only(tmp_path):
    """Blackpool's cla (a stock: no window reads it) revised in June: June's files, the series, its
    revisions, the catalogue (June's notes) and the manifest change; every other month's snapshot
    and release.json stays the file it was, and so does the data package (dated by the range's
    last month, whose date has not moved)."""
    [home] = _homes(tmp_path)[:1]
    _history(home)
    publish_months(home, MONTHS)
    before = _files(home.publish)
    accept_returns(home, RESUBMITTED, {BLACKPOOL: {"cla_started": 8, "cla": 600}}, received="2026-04-02")

    [june, *later] = publish_months(home, [month for month in MONTHS if month >= RESUBMITTED])

    assert june.revisions > 0 and all(summary.revisions == 0 for summary in later)
    changed = {name for name, stamp in _files(home.publish).items() if before.get(name) != stamp}
    assert changed == {
        f"releases/{RESUBMITTED}/children_social_care_monthly_2025_06.csv",
        f"releases/{RESUBMITTED}/release.json",
        "children_social_care_monthly.csv",
        REVISIONS_FILE,
        "dcat.jsonld",
        "manifest.json",
    }
