"""Benchmarks: England, region, statistical neighbours, quartiles and bands, on real published figures
(read from ../shared/reference, never copied) and on SYNTHETIC bad input."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.home import DataHome
from pipelines.reference import ReferenceError, import_reference, load_reference
from pipelines.scorecard.benchmarks import (
    BENCHMARK_COLUMNS,
    BENCHMARKS_FILE,
    SOURCE_NONE,
    SOURCE_RETURNS,
    build_benchmarks,
    read_benchmarks,
)
from pipelines.store.benchmarks import export_benchmarks
from pipelines.store.warehouse import replace_table
from tests.conftest import REFERENCE, requires_shared

REGISTER = REFERENCE / "la_register_2025.csv"
NEIGHBOURS = REFERENCE / "statistical_neighbours_2025.csv"
LAIT = REFERENCE / "lait_csc_indicators_2016_to_2022.csv"
POPULATIONS = REFERENCE / "ons_population_0_17_2012_to_2024.csv"
# Published counts of LAIT shaped as the return's components (year ending 31 March).
COUNTS = {"LACnum": "cla", "CPP_Num": "cp_plans", "CPP_Total_NumRef": "referrals_12m"}
PUBLISHED_RATES = {"cla_rate_per_10k": ("LAC", 0.5), "cp_rate_per_10k": ("CPP_rate", 0.05)}
YEAR = 2022


@pytest.fixture(scope="module")
def official(tmp_path_factory) -> DataHome:
    """A data home with the official register, neighbour model and LAIT figures imported."""
    for path in (REGISTER, NEIGHBOURS, LAIT, POPULATIONS):
        requires_shared(path)
    home = DataHome(tmp_path_factory.mktemp("official") / "home").ensure()
    for path in (REGISTER, NEIGHBOURS, LAIT):
        import_reference(path, home)
    return home


@pytest.fixture(scope="module")
def real_month(official) -> pd.DataFrame:
    """Every authority's real published counts for the year ending March 2022 with the ONS mid-2021
    child population, shaped as the month 2022-03 (authorities the files lack a figure for are absent)."""
    lait = pd.read_csv(LAIT, dtype=str, keep_default_na=False)
    populations = pd.read_csv(POPULATIONS, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    populations = populations[
        (populations["geographic_level"] == "Local authority") & (populations["time_period"] == str(YEAR - 1))
    ]
    month = pd.DataFrame(
        {
            "la_code": populations["new_la_code"],
            "population_0_17": pd.to_numeric(populations["population_estimate"], errors="coerce"),
        }
    )
    for short, column in COUNTS.items():
        counts = lait[(lait["short_desc"] == short) & (lait["year"] == str(YEAR)) & (lait["new_la_code"] != "")]
        month = month.merge(
            pd.DataFrame(
                {"la_code": counts["new_la_code"], column: pd.to_numeric(counts["value_num"], errors="coerce")}
            ),
            on="la_code",
            how="left",
        )
    register = load_reference(official).register
    month = month[month["la_code"].isin(register["new_la_code"])].assign(period=f"{YEAR}-03")
    return month.reset_index(drop=True)


@pytest.fixture(scope="module")
def real_benchmarks(official, real_month) -> pd.DataFrame:
    reference = load_reference(official)
    return build_benchmarks(real_month, reference.register, reference.neighbours, reference.annual)


def _published(short: str) -> pd.Series:
    lait = pd.read_csv(LAIT, dtype=str, keep_default_na=False)
    rows = lait[(lait["short_desc"] == short) & (lait["year"] == str(YEAR)) & (lait["new_la_code"] != "")]
    return pd.Series(pd.to_numeric(rows["value_num"], errors="coerce").to_numpy(), index=rows["new_la_code"]).dropna()


def test_real_neighbour_model_imports_every_authority_with_ten_neighbours(official):
    neighbours = load_reference(official).neighbours
    register = load_reference(official).register
    assert neighbours["la_code"].nunique() == len(register) == 153
    assert (neighbours.groupby("la_code").size() == 10).all()
    assert set(neighbours["neighbour_code"]) <= set(register["new_la_code"])
    assert (neighbours["la_code"] != neighbours["neighbour_code"]).all()
    # Blackpool (890) is E06000009; its closest neighbour in the 2025 model is 805 (Hartlepool, E06000001).
    blackpool = neighbours[neighbours["la_code"] == "E06000009"].sort_values("rank")
    old_to_new = dict(zip(register["old_la_code"], register["new_la_code"]))
    assert blackpool["neighbour_code"].iloc[0] == old_to_new["805"]


def test_recomputed_values_agree_with_published_rates(real_benchmarks):
    for indicator, (short, tolerance) in PUBLISHED_RATES.items():
        ours = real_benchmarks[real_benchmarks["indicator"] == indicator].set_index("la_code")["value"]
        published = _published(short)
        common = ours.index.intersection(published.index)
        assert len(common) > 140
        assert (ours[common] - published[common]).abs().max() <= tolerance + 1e-9, indicator


def test_england_is_summed_counts_over_summed_populations(real_benchmarks, real_month):
    cla = real_benchmarks[real_benchmarks["indicator"] == "cla_rate_per_10k"]
    returned = real_month.dropna(subset=["cla", "population_0_17"])
    assert len(cla) == len(returned) > 140
    assert cla["england_authorities"].unique().tolist() == [len(returned)]
    assert cla["source"].unique().tolist() == [SOURCE_RETURNS]
    exact = returned["cla"].sum() / returned["population_0_17"].sum() * 10_000
    assert cla["england"].unique() == pytest.approx([round(exact, 1)], abs=1e-9)
    # not the mean of the authorities' rates, which weighs a small authority as much as a large one
    assert abs(cla["value"].mean() - exact) > 0.5


def test_neighbour_mean_is_the_mean_of_the_ten_neighbours_recomputed_values(real_benchmarks, official):
    neighbours = load_reference(official).neighbours
    for indicator in ("cla_rate_per_10k", "cp_rate_per_10k", "referral_rate_per_10k"):
        values = real_benchmarks[real_benchmarks["indicator"] == indicator].set_index("la_code")
        for la_code in ("E06000009", "E09000002", "E10000017", values.index[-1]):
            theirs = (
                values["value"].reindex(neighbours.loc[neighbours["la_code"] == la_code, "neighbour_code"]).dropna()
            )
            assert values.loc[la_code, "neighbours_authorities"] == len(theirs)
            assert values.loc[la_code, "neighbours"] == pytest.approx(round(theirs.mean(), 1), abs=1e-9)


def test_quartiles_split_the_authorities_evenly(real_benchmarks):
    for indicator, table in real_benchmarks.groupby("indicator"):
        sizes = table["quartile"].value_counts().reindex([1, 2, 3, 4], fill_value=0)
        largest_tie = table["value"].value_counts().max()
        assert (sizes - len(table) / 4).abs().max() <= largest_tie, indicator
        # a higher quartile never holds a lower value
        by_quartile = table.groupby("quartile")["value"].agg(["min", "max"])
        assert (by_quartile["max"].iloc[:-1].to_numpy() < by_quartile["min"].iloc[1:].to_numpy()).all()


def test_bands_follow_polarity(real_benchmarks):
    cp = real_benchmarks[real_benchmarks["indicator"] == "cp_rate_per_10k"]
    assert cp["band"].isna().all()  # no polarity: no band
    banded = build_benchmarks(
        pd.DataFrame(
            {
                "la_code": [f"E0600000{i}" for i in range(1, 5)],
                "period": "2022-03",
                "referrals": 100,
                "re_referrals": [10, 20, 30, 40],
                "assessments_completed": 100,
                "assessments_within_45wd": [60, 70, 80, 90],
            }
        ),
        None,
        min_authorities=1,
    )
    re_referral = banded[banded["indicator"] == "re_referral_percent"].set_index("la_code")
    within_45 = banded[banded["indicator"] == "assessments_within_45wd_percent"].set_index("la_code")
    assert re_referral["band"].tolist() == ["A", "B", "C", "D"]  # low is good
    assert within_45["band"].tolist() == ["D", "C", "B", "A"]  # high is good
    assert re_referral["quartile"].tolist() == within_45["quartile"].tolist() == [1, 2, 3, 4]


def test_a_region_with_incomplete_returns_says_how_many_it_covers(official, real_month):
    reference = load_reference(official)
    north_west = reference.register.loc[reference.register["region_code"] == "E12000002", "new_la_code"]
    closest = reference.neighbours.loc[reference.neighbours["la_code"] == "E06000009"].sort_values("rank")[
        "neighbour_code"
    ]
    missing = set(north_west[north_west != "E06000009"].iloc[:5]) | {closest.iloc[0]}
    month = real_month[~real_month["la_code"].isin(missing)]
    table = build_benchmarks(month, reference.register, reference.neighbours, reference.annual)
    cla = table[(table["indicator"] == "cla_rate_per_10k")]
    north_west_rows = cla[cla["la_code"].isin(north_west)]
    returned = month[month["la_code"].isin(north_west)].dropna(subset=["cla", "population_0_17"])
    assert north_west_rows["region_authorities"].unique().tolist() == [len(returned)] and len(returned) < len(
        north_west
    )
    exact = returned["cla"].sum() / returned["population_0_17"].sum() * 10_000
    assert north_west_rows["region"].unique() == pytest.approx([round(exact, 1)], abs=1e-9)
    # Blackpool's neighbours that did not return leave its neighbour mean, and say so in the count
    blackpool = cla.set_index("la_code").loc["E06000009"]
    not_returned = (
        set(reference.neighbours.loc[reference.neighbours["la_code"] == "E06000009", "neighbour_code"]) & missing
    )
    assert not_returned and blackpool["neighbours_authorities"] == 10 - len(not_returned)


def test_too_few_authorities_take_england_and_region_from_the_latest_annual_figures(official, real_month):
    reference = load_reference(official)
    few = real_month[real_month["la_code"].isin(["E06000009", "E06000008", "E09000002"])].assign(period="2024-05")
    table = build_benchmarks(few, reference.register, reference.neighbours, reference.annual)
    cla = table[table["indicator"] == "cla_rate_per_10k"].set_index("la_code")
    lait = pd.read_csv(LAIT, dtype=str, keep_default_na=False)
    published = lait[(lait["short_desc"] == "LAC") & (lait["year"] == "2022")].set_index("la_or_region")["value_num"]
    assert (cla["source"] == "LAIT 2022").all()
    assert cla.loc["E06000009", "england"] == float(published["England"])
    assert cla.loc["E06000009", "region"] == float(published["North West"])
    assert cla.loc["E09000002", "region"] == float(published["London (Outer)"])
    assert cla.loc["E06000009", "england_authorities"] == _published("LAC").size  # authorities LAIT has a value for
    # a month before the earliest year LAIT holds has no annual comparator to fall back on
    early = build_benchmarks(few.assign(period="2015-05"), reference.register, reference.neighbours, reference.annual)
    assert (early["source"] == SOURCE_NONE).all() and early["england"].isna().all()
    # with the threshold lowered, the month's own returns are used
    own = build_benchmarks(few, reference.register, reference.neighbours, reference.annual, min_authorities=3)
    assert (own["source"] == SOURCE_RETURNS).all() and (own["england_authorities"] == 3).all()


def test_neighbours_that_did_not_return_give_a_blank_mean_never_a_mean_of_nothing(tmp_path):
    neighbours = pd.DataFrame(
        {
            "la_code": "E06000009",
            "rank": ["1", "2"],
            "neighbour_code": ["E06000001", "E06000002"],
            "closeness": "SYNTHETIC",
        }
    )
    month = pd.DataFrame(
        {"la_code": ["E06000009", "E06000003"], "period": "2024-05", "population_0_17": 30_000, "cla": [500, 100]}
    )  # SYNTHETIC
    table = build_benchmarks(month, None, neighbours, min_authorities=1)
    blackpool = table[table["la_code"] == "E06000009"].iloc[0]
    assert pd.isna(blackpool["neighbours"]) and blackpool["neighbours_authorities"] == 0
    assert pd.isna(blackpool["region"])  # not on a register: no region
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as connection:
        replace_table(connection, "benchmarks", table)
        path = export_benchmarks(connection, BENCHMARK_COLUMNS, tmp_path / BENCHMARKS_FILE)
    text = path.read_text(encoding="utf-8").splitlines()
    assert text[0] == ",".join(BENCHMARK_COLUMNS)
    assert read_benchmarks(path.parent)["neighbours_authorities"].tolist() == [0, 0]


def _write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_unknown_authorities_and_short_neighbour_lists_are_one_line_warnings(home, tmp_path):
    # SYNTHETIC neighbour model over the demo register: 999 is on no register; Halton names three neighbours
    row = {"old_la_code": "890", "la_name": "Blackpool", "region_ind": "5", "region_name": "North West"}
    rows = [
        {
            **row,
            **{f"SN_{i}": c for i, c in enumerate(["889", "876", "877", "888", "999"] + [""] * 5, 1)},
            **{f"SN_{i}P": "Close" for i in range(1, 11)},
        },
        {
            **row,
            "old_la_code": "876",
            "la_name": "Halton",
            **{f"SN_{i}": c for i, c in enumerate(["889", "890", "877"] + [""] * 7, 1)},
            **{f"SN_{i}P": "" for i in range(1, 11)},
        },
        {
            **row,
            "old_la_code": "999",
            "la_name": "Nowhere",
            **{f"SN_{i}": "890" for i in range(1, 11)},
            **{f"SN_{i}P": "" for i in range(1, 11)},
        },
    ]
    summary = import_reference(_write_csv(tmp_path / "SYNTHETIC-neighbours.csv", rows), home).split("\n")
    assert summary[0] == "statistical neighbours: 2 authorities, 7 neighbour pairs"
    warnings = summary[1:]
    assert all(line.startswith("warning: SYNTHETIC-neighbours.csv row ") for line in warnings)
    assert any("row 2 column SN_5: neighbour '999' is not on the register" in w for w in warnings)
    assert any("row 4: authority '999' is not on the register" in w for w in warnings)
    assert any("row 2: E06000009 has 4 neighbour(s)" in w for w in warnings)
    assert any("row 3: E06000006 has 3 neighbour(s)" in w for w in warnings)
    assert len(warnings) == 4
    stored = load_reference(home).neighbours
    assert set(stored["la_code"]) == {"E06000009", "E06000006"} and "E06000009" in set(stored["neighbour_code"])


def test_neighbours_and_lait_need_the_register_first(tmp_path):
    bare = DataHome(tmp_path / "bare").ensure()
    requires_shared(NEIGHBOURS)
    for path in (NEIGHBOURS, LAIT):
        with pytest.raises(ReferenceError, match=f"{path.name}: .* import the register first"):
            import_reference(path, bare)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 400), st.integers(1, 5000)), min_size=1, max_size=60, unique_by=lambda t: t[0]),
    st.integers(1, 80),
)
def test_property_pooled_england_and_even_quartiles(figures, min_authorities):
    """SYNTHETIC: any month's England is its pooled rate, quartile sizes differ by at most one
    when values are distinct, and the source says which comparator was used."""
    month = pd.DataFrame(
        {
            "la_code": [f"E06{i:06d}" for i in range(len(figures))],
            "period": "2024-05",
            "population_0_17": [f[1] * 7 for f in figures],
            "cla": [f[0] for f in figures],
        }
    )
    table = build_benchmarks(month, None, min_authorities=min_authorities)
    assert len(table) == len(month)
    if len(month) >= min_authorities:
        exact = month["cla"].sum() / month["population_0_17"].sum() * 10_000
        assert table["england"].iloc[0] == pytest.approx(np.floor(exact * 10 + 0.5 + 1e-9) / 10, abs=1e-9)
        assert (table["source"] == SOURCE_RETURNS).all()
    else:
        assert (table["source"] == SOURCE_NONE).all() and table["england"].isna().all()
    if table["value"].is_unique:
        sizes = table["quartile"].value_counts().reindex([1, 2, 3, 4], fill_value=0)
        assert sizes.max() - sizes.min() <= 1
    ordered = table.sort_values("value")
    assert ordered["quartile"].is_monotonic_increasing


def test_page_shows_england_and_neighbour_lines_and_a_summary_table_first(tmp_path):
    from pipelines.demo import TARGETS as DEMO_TARGETS
    from pipelines.scorecard.page import write_scorecard
    from pipelines.scorecard.rag import build_scorecard
    from pipelines.scorecard.targets import load_targets

    # SYNTHETIC: three authorities, three months; Blackpool's neighbours are the other two
    codes, periods = ["E06000006", "E06000008", "E06000009"], ["2024-03", "2024-04", "2024-05"]
    month = pd.DataFrame(
        [
            {
                "la_code": code,
                "period": period,
                "population_0_17": 30_000,
                "cla": 100 + 10 * i + j,
                "referrals": 200,
                "referrals_to_assessment": 150 + 5 * j - i,
            }
            for i, code in enumerate(codes)
            for j, period in enumerate(periods)
        ]
    )
    month["referral_to_assessment_percent"] = (month["referrals_to_assessment"] / month["referrals"] * 100).round(1)
    neighbours = pd.DataFrame(
        {"la_code": "E06000009", "rank": ["1", "2"], "neighbour_code": codes[:2], "closeness": ""}
    )
    benchmarks = build_benchmarks(month, None, neighbours, min_authorities=1)
    card = build_scorecard(month, load_targets(DEMO_TARGETS))
    page = write_scorecard(
        card, tmp_path, title="SYNTHETIC", names={"E06000009": "Blackpool"}, benchmarks=benchmarks
    ).html.read_text(encoding="utf-8")
    assert "<script" not in page and "@media print" in page
    assert page.index("<h2>Blackpool (E06000009)</h2>") < page.index("<h2>E06000006</h2>")  # the board's first
    blackpool = page[page.index("<h2>Blackpool (E06000009)</h2>") : page.index("<h2>E06000006</h2>")]
    summary = blackpool[blackpool.index('<table class="summary">') : blackpool.index("</table>")]
    assert summary.index("Children looked after at the end") < summary.index("Children looked after per 10,000")
    conversion = bench_row = benchmarks.set_index(["la_code", "period", "indicator"]).loc[
        ("E06000009", "2024-05", "referral_to_assessment_percent")
    ]
    row = summary[summary.index("Referrals leading to an assessment") :].split("</tr>")[0]
    cells = re.findall(r"<td>(.*?)</td>", row)
    previous = benchmarks.set_index(["la_code", "period", "indicator"]).loc[
        ("E06000009", "2024-04", "referral_to_assessment_percent"), "value"
    ]
    assert cells[0].startswith(f"{conversion['value']:.1f}")
    assert "GREEN" in cells[1] or "AMBER" in cells[1] or "RED" in cells[1]
    assert cells[2] == f"{bench_row['england']:.1f}" and cells[3] == f"{bench_row['neighbours']:.1f}"
    assert cells[5].startswith("&#9650; up" if conversion["value"] > previous else "&#9660; down")
    assert f"{abs(conversion['value'] - previous):.1f}" in cells[5]
    chart = blackpool[blackpool.index("<h3>Blackpool (E06000009): Referrals leading to an assessment") :]
    chart = chart[: chart.index("</svg>")]
    for line in ("value", "target", "england", "neighbours"):
        points = chart.split(f'class="{line}" points="')[1].split('"')[0].split()
        assert len(points) >= 3, line
    # a rate without a target still gets its chart, with England and neighbours but no target line
    rate = blackpool[blackpool.index("<h3>Blackpool (E06000009): Children looked after per 10,000") :]
    rate = rate[: rate.index("</svg>")]
    assert 'class="england"' in rate and 'class="neighbours"' in rate and 'class="target"' not in rate


def test_csc_returns_imports_the_official_neighbour_model_warning_in_one_line_each(tmp_path):
    """The command as a user runs it, on the real model with one authority renamed to a code no register has."""
    import subprocess
    import sys

    requires_shared(NEIGHBOURS)
    altered = tmp_path / "statistical_neighbours_altered.csv"
    text = NEIGHBOURS.read_text(encoding="utf-8-sig").splitlines()
    text[1] = text[1].replace("301,", "998,", 1)  # Barking and Dagenham's row now names an unknown authority
    altered.write_text("\n".join(text) + "\n", encoding="utf-8")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipelines.cli",
            "--home",
            str(tmp_path / "home"),
            "reference",
            "import",
            str(REGISTER),
            str(altered),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and "Traceback" not in done.stderr + done.stdout
    lines = done.stdout.splitlines()
    assert lines[1] == "statistical neighbours: 152 authorities, 1520 neighbour pairs"
    assert lines[2:] == [
        f"warning: {altered.name} row 2: authority '998' is not on the register; its neighbours are left out"
    ]
