"""Disclosure control: properties that must hold for any synthetic table, plus worked examples.

Hypothesis draws a made-up register (two or three regions of two to five authorities, every
authority returning, so regional and England totals are published) and small synthetic counts,
where suppression matters most; the release builder must never publish a disclosive table.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pandas as pd
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from pipelines.publish.assembly import release_rows
from pipelines.publish.disclosure import (
    Derived,
    EarlierFigures,
    EarlierRelease,
    Total,
    format_number,
    part_whole_pairs,
    publishable_cells,
    ratio_text,
    round_to_ten,
    suppressed_counts,
)
from pipelines.publish.ees import ENGLAND_CODE, LOCAL_AUTHORITY, REGIONAL, published_indicators
from schemas.catalogue import load_catalogue

COUNTS = [i.column for i in published_indicators() if i.is_count]
DERIVED = [i for i in published_indicators() if i.is_derived]
PAIRS = part_whole_pairs({i.column: i.part_of for i in load_catalogue() if i.part_of})


@st.composite
def synthetic_month(draw) -> tuple[pd.DataFrame, pd.DataFrame]:
    sizes = draw(st.lists(st.integers(2, 5), min_size=2, max_size=3))
    register, values = [], []
    for r, size in enumerate(sizes):
        for a in range(size):
            code = f"E0{r + 6}0000{a:02d}"
            register.append(
                {
                    "old_la_code": f"{r + 1}{a:02d}",
                    "new_la_code": code,
                    "la_name": f"Authority {r}{a}",
                    "region_code": f"E1200000{r + 1}",
                    "region_name": f"Region {r + 1}",
                    "la_type": "",
                }
            )
            figures = {
                c: draw(st.one_of(st.integers(0, 12), st.none()) if c != "population_0_17" else st.integers(0, 40))
                for c in COUNTS
            }
            values.append({"la_code": code, **figures})
    return pd.DataFrame(register), pd.DataFrame(values)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


# No shrinking: each example builds a whole release, and the assertion names the cell anyway.
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(synthetic_month())
def test_published_tables_never_disclose_a_small_count(month):
    register, values = month
    built = release_rows("2025-12", register, values)
    rows, problems = built.rows, built.problems
    assert problems == []
    true = {row["la_code"]: row for row in values.to_dict("records")}
    by_code = {row["new_la_code"] or row["region_code"] or row["country_code"]: row for row in rows}
    authorities = list(register["new_la_code"])
    members = register.groupby("region_code")["new_la_code"].apply(list).to_dict()

    for code in authorities:
        row, figures = by_code[code], true[code]
        for column in COUNTS:
            value, text = figures[column], row[column]
            if value is None or pd.isna(value):
                assert text == "x"
            elif 1 <= value <= 5:
                assert text == "c"
            elif value == 0:
                assert text == "0"  # a true zero is never hidden
            else:
                assert text in ("c", str(int(value)))  # authority counts are exact, never rounded
        for part, whole in PAIRS:  # no subtraction of two published figures gives 1 to 5
            p, w = _number(row[part]), _number(row[whole])
            if p is not None and w is not None:
                assert not 1 <= w - p <= 5, (code, part, whole)

    for code, row in by_code.items():
        for column in COUNTS:
            number = _number(row[column])
            assert number is None or not 1 <= number <= 5
            if code not in authorities and number is not None:
                assert number % 10 == 0  # regional and England counts are rounded to 10
        for figure in DERIVED:  # a rate on a suppressed component is suppressed
            if "c" in (row[figure.numerator], row[figure.denominator]):
                assert row[figure.column] in ("c", "x", "z")

    totals = [(region, parts) for region, parts in members.items()] + [(ENGLAND_CODE, sorted(members))]
    for whole, parts in totals:  # no suppressed cell is the only unknown of a published sum
        for column in COUNTS:
            terms = [by_code[whole][column], *(by_code[p][column] for p in parts)]
            hidden = [t for t in terms if _number(t) is None]
            assert hidden != ["c"], (whole, column, terms)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 8), min_size=2, max_size=6))
def test_a_single_suppressed_part_never_stands_alone_in_a_total(parts):
    counts = {(f"LA{n}", "cla"): value for n, value in enumerate(parts)}
    counts[("REGION", "cla")] = sum(parts)
    total = Total(("REGION", "cla"), tuple((f"LA{n}", "cla") for n in range(len(parts))))
    suppressed = suppressed_counts(counts, [total], [])
    published = {cell: value for cell, value in counts.items() if cell not in suppressed}
    assert all(not 1 <= value <= 5 for value in published.values())
    unknown = [cell for cell in counts if cell in suppressed]
    assert len(unknown) != 1
    assert all(counts[cell] != 0 for cell in suppressed)


def test_complementary_suppression_prefers_the_smallest_non_zero_part():
    counts = {("A", "n"): 3, ("B", "n"): 0, ("C", "n"): 40, ("D", "n"): 9, ("R", "n"): 52}
    total = Total(("R", "n"), (("A", "n"), ("B", "n"), ("C", "n"), ("D", "n")))
    assert suppressed_counts(counts, [total], []) == {("A", "n"), ("D", "n")}


def test_the_total_is_suppressed_when_only_zeros_could_protect():
    counts = {("A", "n"): 4, ("B", "n"): 0, ("R", "n"): 4}
    total = Total(("R", "n"), (("A", "n"), ("B", "n")))
    assert suppressed_counts(counts, [total], []) == {("A", "n"), ("R", "n")}


def test_part_whole_chain_and_differencing():
    pairs = part_whole_pairs({"within_15wd": "within_45wd", "within_45wd": "completed"})
    assert sorted(pairs) == [("within_15wd", "completed"), ("within_15wd", "within_45wd"), ("within_45wd", "completed")]
    counts = {("A", "completed"): 40, ("A", "within_45wd"): 37, ("A", "within_15wd"): 20}
    assert suppressed_counts(counts, [], pairs) == {("A", "within_45wd")}  # 40 - 37 = 3 late assessments


def test_rates_use_exact_components_and_symbols():
    rate = Derived("cla_rate_per_10k", "cla", "population_0_17", 10000, 1)
    counts = {
        ("E06000009", "cla"): 537,
        ("E06000009", "population_0_17"): 28354,
        ("E12", "cla"): 0,
        ("E12", "population_0_17"): 0,
        ("E13", "cla"): None,
        ("E13", "population_0_17"): 100,
        ("E14", "cla"): 4,
        ("E14", "population_0_17"): 1000,
    }
    cells = publishable_cells(counts, [], [], [rate], rounded=set())
    assert [cells[(g, "cla_rate_per_10k")] for g in ("E06000009", "E12", "E13", "E14")] == ["189.4", "z", "x", "c"]


def test_rounding_to_ten_goes_half_up():
    assert [round_to_ten(v) for v in (0, 4, 5, 14, 15, 25, 1234)] == [0, 0, 10, 10, 20, 30, 1230]


def test_regional_rows_only_when_the_region_is_complete():
    register = pd.DataFrame(
        [
            {
                "old_la_code": "1",
                "new_la_code": "E06000001",
                "la_name": "A",
                "region_code": "E12000001",
                "region_name": "R1",
            },
            {
                "old_la_code": "2",
                "new_la_code": "E06000002",
                "la_name": "B",
                "region_code": "E12000001",
                "region_name": "R1",
            },
        ]
    )
    values = pd.DataFrame([{"la_code": "E06000001", **{c: 50 for c in COUNTS}}])
    built = release_rows("2025-12", register, values)
    rows, notes = built.rows, built.notes
    region = next(r for r in rows if r["geographic_level"] == REGIONAL)
    assert {region[c] for c in COUNTS} == {"x"}
    assert [r["la_name"] for r in rows if r["geographic_level"] == LOCAL_AUTHORITY] == ["A", "B"]
    assert notes[0].startswith("R1 (E12000001) total not published (x): 1 of 2 authorities")


ROLLING = {i.column: i.sums for i in published_indicators() if i.kind == "rolling12"}
MONTHS_DRAWN = 30


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(0, 12), min_size=MONTHS_DRAWN, max_size=MONTHS_DRAWN))
def test_no_suppressed_month_can_be_recovered_from_published_twelve_month_sums(flows):
    """SYNTHETIC monthly s47 enquiries: x(m) = x_12m(m) - x_12m(m-1) + x(m-12) must never give back a `c`."""
    from pipelines.publish.disclosure import suppress_rolling_windows
    from pipelines.publish.ees import MONTH_NAMES, SUPPRESSED

    rows = []
    for m in range(11, MONTHS_DRAWN):
        year, month = divmod(m, 12)
        rows.append(
            {
                "new_la_code": "E06000009",
                "time_period": str(2020 + year),
                "time_identifier": MONTH_NAMES[month],
                "s47_enquiries": SUPPRESSED if 1 <= flows[m] <= 5 else str(flows[m]),
                "s47_enquiries_12m": str(sum(flows[m - 11 : m + 1])),
                "population_0_17": "28000",
                "s47_rate_per_10k": "1.0",
            }
        )
    derived = [Derived(i.column, i.numerator, i.denominator, i.multiplier, i.publish_dp or 0) for i in DERIVED]
    suppress_rolling_windows(rows, {"s47_enquiries_12m": ROLLING["s47_enquiries_12m"]}, derived)

    published_sum = {m: row["s47_enquiries_12m"] for m, row in zip(range(11, MONTHS_DRAWN), rows)}
    for m, row in zip(range(11, MONTHS_DRAWN), rows):
        if row["s47_enquiries"] != SUPPRESSED:
            continue
        # Every published sum whose window holds the suppressed month is itself suppressed...
        for end in range(m, min(m + 12, MONTHS_DRAWN)):
            assert published_sum[end] == SUPPRESSED, (m, end)
        # ...and so is the rate built on it.
        assert row["s47_rate_per_10k"] == SUPPRESSED


def test_a_month_that_earlier_releases_leave_unprotectable_is_not_published():
    """SYNTHETIC: a region's total of 24 and one authority's 20 were published when the region's other
    authority (since merged into a new one) had 4. Now the new authority returns 4: the only figures
    that could hide it, the 20 and the total, are public already, so the month is refused, not leaked."""
    register = pd.DataFrame(
        [
            {
                "old_la_code": "1",
                "new_la_code": "E06000001",
                "la_name": "A",
                "region_code": "E12000001",
                "region_name": "R1",
            },
            {
                "old_la_code": "2",
                "new_la_code": "E06000002",
                "la_name": "B",
                "region_code": "E12000001",
                "region_name": "R1",
            },
        ]
    )
    values = pd.DataFrame(
        [
            {"la_code": "E06000001", **{c: 50 for c in COUNTS}, "cla_started": 4},
            {"la_code": "E06000002", **{c: 50 for c in COUNTS}, "cla_started": 20},
        ]
    )
    before = {
        ("E12000001", "cla_started"): 24,
        ("E92000001", "cla_started"): 24,
        ("E06000002", "cla_started"): 20,
        ("E06000099", "cla_started"): 4,
    }
    earlier = EarlierFigures((EarlierRelease(before, frozenset(set(before) - {("E06000099", "cla_started")})),))

    built = release_rows("2025-12", register, values, earlier)

    assert built.rows == [] and len(built.problems) == 1
    assert built.problems[0].startswith("2025-12: E12000001 cla_started: every figure that could protect")
    assert release_rows("2025-12", register, values).problems == []  # a first release protects the 4


def _decimal_text(numerator: int, denominator: int, multiplier: int, dp: int) -> str:
    """The rounding before issue 18: the Fraction as a Decimal (28 digits), quantized half up."""
    value = Fraction(numerator) * multiplier / Fraction(denominator)
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return str(exact.quantize(Decimal(1).scaleb(-dp), rounding=ROUND_HALF_UP))


@settings(max_examples=3000, deadline=None)
@given(
    st.one_of(st.integers(-60, 60), st.integers(0, 10**9), st.integers(-(10**12), 10**12)),
    st.one_of(st.integers(1, 60), st.integers(1, 10**7), st.integers(-500, -1)),
    st.sampled_from([1, 100, 1000, 10_000, 100_000]),
    st.integers(0, 3),
)
def test_rates_are_rounded_by_whole_numbers_as_the_decimal_rounding_did(numerator, denominator, multiplier, dp):
    """SYNTHETIC figures: half a unit of the last place rounds away from zero, every time."""
    assert ratio_text(numerator, denominator, multiplier, dp) == _decimal_text(numerator, denominator, multiplier, dp)
    assert format_number(Fraction(numerator * multiplier, denominator), dp) == ratio_text(
        numerator, denominator, multiplier, dp
    )
