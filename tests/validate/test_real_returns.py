"""No false alarms on real data, no missed mistakes.

Every registered authority's published figures for 2016-2022 (DfE LAIT, ONS populations),
shaped into returns, must pass with no error at the standard's exact tolerance. Then one
mistake at a time is planted into a real return, each in a different authority: every one
must be caught as an error on that authority and column, and nothing else may be an error.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import pytest

from pipelines.validate.rulebook import validate_rows
from schemas.findings import ERROR, Finding

RATES = {"cp_rate_per_10k": "cp_plans", "cla_rate_per_10k": "cla", "referral_rate_per_10k": "referrals_12m"}
UNKNOWN_CODE = "E06099999"  # well formed, not on the register


def _decimals(text: str) -> int:
    return len(text.split(".", 1)[1]) if "." in text else 0


def _fmt(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}"


def _exact(row: pd.Series, rate: str, population: float | None = None) -> float:
    return float(row[RATES[rate]]) / float(population or row["population_0_17"]) * 10_000


def _has(row: pd.Series, *columns: str) -> bool:
    return all(str(row[c]).strip() not in ("", "x") for c in columns)


@dataclass(frozen=True)
class Defect:
    name: str
    plant: Callable[[pd.Series, dict], tuple[pd.Series, set[tuple[str, str]]] | None]


def _rate_per_100k(row, ctx):
    if not _has(row, "cp_rate_per_10k", "cp_plans"):
        return None
    text = row["cp_rate_per_10k"]
    row["cp_rate_per_10k"] = _fmt(float(text) * 10, _decimals(text))
    return row, {("derived_inconsistent", "cp_rate_per_10k")}


def _stale_population(row, ctx):
    """The rate computed on the estimate of five years earlier while the return gives the current one."""
    year = int(row["period"][:4])
    old = ctx["populations"].get((row["la_code"], year - 6))
    if old is None or not _has(row, "cla_rate_per_10k", "cla"):
        return None
    decimals = _decimals(row["cla_rate_per_10k"])
    stale = _fmt(_exact(row, "cla_rate_per_10k", old), decimals)
    if abs(float(stale) - _exact(row, "cla_rate_per_10k")) <= 0.6 * 10.0**-decimals:
        return None  # this authority's population barely moved: the slip would be invisible
    row["cla_rate_per_10k"] = stale
    return row, {("derived_inconsistent", "cla_rate_per_10k")}


def _count_in_rate(row, ctx):
    if not _has(row, "cla_rate_per_10k", "cla") or abs(float(row["cla"]) - _exact(row, "cla_rate_per_10k")) < 1:
        return None
    row["cla_rate_per_10k"] = row["cla"]
    return row, {("derived_inconsistent", "cla_rate_per_10k")}


def _monthly_rate_in_rolling(row, ctx):
    if not _has(row, "referral_rate_per_10k", "referrals_12m"):
        return None
    row["referral_rate_per_10k"] = _fmt(
        _exact(row, "referral_rate_per_10k") / 12, _decimals(row["referral_rate_per_10k"])
    )
    return row, {("derived_inconsistent", "referral_rate_per_10k")}


def _changed_count_same_rate(row, ctx):
    if not _has(row, "cp_rate_per_10k", "cp_plans"):
        return None
    unit = 10.0 ** -_decimals(row["cp_rate_per_10k"])
    extra = math.ceil(unit * float(row["population_0_17"]) / 10_000) + 1  # moves the rate by more than a unit
    row["cp_plans"] = str(int(row["cp_plans"]) + extra)
    return row, {("derived_inconsistent", "cp_rate_per_10k")}


def _rounded_wrong_way(row, ctx):
    if not _has(row, "referral_rate_per_10k", "referrals_12m"):
        return None
    published = row["referral_rate_per_10k"]
    decimals, exact = _decimals(published), _exact(row, "referral_rate_per_10k")
    unit = 10.0**-decimals
    wrong = float(published) + (unit if exact >= float(published) else -unit)
    if abs(wrong - exact) <= 0.55 * unit:
        return None  # too close to the half-way point to be a clear slip
    row["referral_rate_per_10k"] = _fmt(wrong, decimals)
    return row, {("derived_inconsistent", "referral_rate_per_10k")}


def _population_x10_rates_recomputed(row, ctx):
    """The population typed ten times too large, and the authority's system computed its rates on it."""
    population = float(row["population_0_17"]) * 10
    row["population_0_17"] = str(int(population))
    for rate in RATES:
        if _has(row, rate, RATES[rate]):
            row[rate] = _fmt(_exact(row, rate, population), _decimals(row[rate]))
    return row, {("population_implausible", "population_0_17")}


def _population_x10_rates_kept(row, ctx):
    if not _has(row, "cp_rate_per_10k", "cp_plans"):
        return None
    row["population_0_17"] = str(int(row["population_0_17"]) * 10)
    rates = {("derived_inconsistent", rate) for rate in RATES if _has(row, rate, RATES[rate])}
    return row, {("population_implausible", "population_0_17"), *rates}


def _negative_count(row, ctx):
    if _has(row, "cla_rate_per_10k") or not _has(row, "cla"):
        return None  # a year without a published looked-after rate: the sign is the only mistake
    row["cla"] = "-" + row["cla"]
    return row, {("negative_count", "cla")}


def _not_available_text(row, ctx):
    if not _has(row, "cp_plans"):
        return None
    row["cp_plans"] = "N/A"
    return row, {("invalid_value", "cp_plans")}


def _unknown_authority(row, ctx):
    row["la_code"] = UNKNOWN_CODE
    return row, {("unknown_authority", "la_code")}


DEFECTS = [
    Defect("rate per 100,000 in a per-10,000 column", _rate_per_100k),
    Defect("rate computed on an out-of-date population", _stale_population),
    Defect("count typed into a rate column", _count_in_rate),
    Defect("monthly rate in a rolling-12-month column", _monthly_rate_in_rolling),
    Defect("count changed, rate left unchanged", _changed_count_same_rate),
    Defect("rate rounded the wrong way (more than half a unit)", _rounded_wrong_way),
    Defect("population x10, rates computed on it", _population_x10_rates_recomputed),
    Defect("population x10, rates kept", _population_x10_rates_kept),
    Defect("negative count", _negative_count),
    Defect("N/A in a count", _not_available_text),
    Defect("unknown authority code", _unknown_authority),
]


@dataclass(frozen=True)
class Planted:
    la_code: str
    period: str
    expected: frozenset


def plant_defects(returns: pd.DataFrame, populations: dict) -> tuple[pd.DataFrame, dict[str, Planted]]:
    """Each defect in its own real return: the first qualifying row from a spread of starting points."""
    planted_frame = returns.copy()
    planted: dict[str, Planted] = {}
    used: set[int] = set()
    step = len(returns) // len(DEFECTS)
    for number, defect in enumerate(DEFECTS):
        order = list(range(number * step, len(returns))) + list(range(0, number * step))
        for position in order:
            if position in used:
                continue
            outcome = defect.plant(returns.iloc[position].copy(), {"populations": populations})
            if outcome is None:
                continue
            row, expected = outcome
            planted_frame.iloc[position] = row
            planted[defect.name] = Planted(row["la_code"], row["period"], frozenset(expected))
            used.add(position)
            break
        else:
            raise AssertionError(f"no real return qualifies for planting: {defect.name}")
    return planted_frame, planted


def _errors(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == ERROR]


@pytest.fixture(scope="module")
def clean_run(real_returns, real_reference, read_frame):
    parsed = read_frame(real_returns, "real")
    return parsed, parsed.findings + validate_rows(parsed.values, parsed.text, reference=real_reference)


@pytest.fixture(scope="module")
def ons_populations(real_reference):
    frame = real_reference.populations
    return {
        (code, int(year)): float(value)
        for code, year, value in zip(frame["new_la_code"], frame["year"], frame["population"])
    }


@pytest.fixture(scope="module")
def planted_run(real_returns, real_reference, read_frame, ons_populations):
    frame, planted = plant_defects(real_returns, ons_populations)
    parsed = read_frame(frame, "planted")
    findings = parsed.findings + validate_rows(parsed.values, parsed.text, reference=real_reference)
    return parsed, planted, findings


def test_real_returns_cover_every_year_and_most_authorities(real_returns):
    assert sorted(real_returns["period"].unique()) == [f"{y}-03" for y in range(2016, 2023)]
    per_year = real_returns.groupby("period")["la_code"].nunique()
    assert per_year.min() >= 140, per_year.to_dict()  # of 153 registered; codes changed by reorganisations drop out
    assert (real_returns["cla_rate_per_10k"] != "").sum() > 500  # 2019-2022 looked-after rates are in


def test_real_returns_raise_no_error(clean_run, real_returns):
    parsed, findings = clean_run
    assert len(parsed.values) == len(real_returns)
    errors = _errors(findings)
    assert not errors, "\n".join(f.one_line() + f" ({f.la_code} {f.period})" for f in errors[:20])


def test_real_returns_raise_no_query_beyond_missing_figures(clean_run):
    """Published figures are plausible by definition: the only warnings allowed are for figures LAIT lacks."""
    _, findings = clean_run
    rules = {f.rule for f in findings}
    assert rules <= {"mandatory_not_available"}, rules - {"mandatory_not_available"}


def test_real_rates_are_checked_at_the_reported_precision(clean_run):
    """Guard against a vacuous pass: the consistency rule really ran over thousands of real rates."""
    parsed, _ = clean_run
    checked = parsed.values[["cp_rate_per_10k", "cla_rate_per_10k", "referral_rate_per_10k"]].notna().sum().sum()
    assert checked > 2000


@pytest.mark.parametrize("defect", [d.name for d in DEFECTS])
def test_planted_defect_is_caught_as_an_error_on_its_authority_and_column(planted_run, defect):
    _, planted, findings = planted_run
    target = planted[defect]
    caught = {(f.rule, f.column) for f in _errors(findings) if (f.la_code, f.period) == (target.la_code, target.period)}
    assert caught == set(target.expected)


def test_planted_defects_raise_no_other_error(planted_run):
    _, planted, findings = planted_run
    targets = {(p.la_code, p.period) for p in planted.values()}
    stray = [f for f in _errors(findings) if (f.la_code, f.period) not in targets]
    assert not stray, "\n".join(f.one_line() for f in stray[:20])
    assert len({p.la_code for p in planted.values()}) == len(DEFECTS)  # each in a different authority
