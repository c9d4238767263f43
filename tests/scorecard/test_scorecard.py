"""Targets as data, RAG per authority-month-indicator, and the static scorecard page."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from pipelines.demo import TARGETS as DEMO_TARGETS
from pipelines.scorecard.page import write_scorecard
from pipelines.scorecard.rag import build_scorecard, rag_status
from pipelines.scorecard.targets import TargetsError, load_targets, validate_targets


def _targets(rows: list[dict]) -> pd.DataFrame:
    return validate_targets(pd.DataFrame(rows).astype(str))


@pytest.mark.parametrize(
    "value, polarity, rag",
    [
        (516, "low", "green"),
        (500, "low", "green"),
        (530, "low", "amber"),
        (536, "low", "amber"),
        (537, "low", "red"),
        (60, "high", "green"),
        (87.2, "high", "green"),
        (45, "high", "amber"),
        (39.9, "high", "red"),
    ],
)
def test_rag_follows_polarity_and_tolerance(value, polarity, rag):
    target, tolerance = (516, 20) if polarity == "low" else (60, 15)
    shortfall, status = rag_status(value, target, polarity, tolerance)
    assert status == rag
    assert shortfall == (0 if rag == "green" else pytest.approx(abs(value - target)))


def test_target_in_force_is_the_latest_from_month_not_after_the_period():
    values = pd.DataFrame(
        {
            "la_code": ["E06000009"] * 4,
            "period": ["2017-02", "2017-04", "2018-03", "2018-04"],
            "cla": [560.0, 530.0, 530.0, 530.0],
        }
    )
    targets = _targets(
        [
            {
                "la_code": "E06000009",
                "indicator": "cla",
                "target": 516,
                "polarity": "low",
                "amber_tolerance": 20,
                "from_month": "2017-04",
            },
            {
                "la_code": "E06000009",
                "indicator": "cla",
                "target": 540,
                "polarity": "low",
                "amber_tolerance": 10,
                "from_month": "2018-04",
            },
        ]
    )
    card = build_scorecard(values, targets)
    assert card["period"].tolist() == ["2017-04", "2018-03", "2018-04"]  # none before the first target
    assert card["target"].tolist() == [516, 516, 540]
    assert card["rag"].tolist() == ["amber", "amber", "green"]


def test_missing_figures_and_untargeted_authorities_are_left_out():
    values = pd.DataFrame(
        {
            "la_code": ["E06000009", "E06000009", "E06000006"],
            "period": ["2017-05", "2017-06", "2017-05"],
            "cp_plans": [385.0, None, 120.0],
        }
    )
    targets = _targets(
        [
            {
                "la_code": "E06000009",
                "indicator": "cp_plans",
                "target": 350,
                "polarity": "low",
                "amber_tolerance": 15,
                "from_month": "2017-04",
            }
        ]
    )
    card = build_scorecard(values, targets)
    assert card[["la_code", "period", "rag"]].values.tolist() == [["E06000009", "2017-05", "red"]]


def test_demo_targets_are_the_improvement_boards(tmp_path):
    """The Blackpool board's targets, against figures its February 2018 report quotes for December 2017."""
    targets = load_targets(DEMO_TARGETS)
    assert set(targets["indicator"]) == {
        "contacts",
        "cp_plans",
        "cla",
        "referral_to_assessment_percent",
        "assessments_within_15wd_percent",
    }
    quoted = pd.DataFrame(
        [
            {
                "la_code": "E06000009",
                "period": "2017-12",
                "contacts": 447.0,
                "cp_plans": 356.0,
                "cla": 537.0,
                "referral_to_assessment_percent": 87.2,
                "assessments_within_15wd_percent": 27.8,
            }
        ]
    )
    card = build_scorecard(quoted, targets).set_index("indicator")["rag"].to_dict()
    # the report: contacts target "exceeded", plans "just outside", LAC "missed", conversion above target,
    # 15 working days "close to" target
    assert card == {
        "contacts": "green",
        "cp_plans": "amber",
        "cla": "red",
        "referral_to_assessment_percent": "green",
        "assessments_within_15wd_percent": "amber",
    }


@pytest.mark.parametrize(
    "change, message",
    [
        ({"polarity": "none"}, "polarity"),
        ({"indicator": "la_name"}, "not an indicator"),
        ({"from_month": "Apr-17"}, "from_month"),
        ({"target": "lots"}, "target"),
        ({"amber_tolerance": "-1"}, "amber_tolerance"),
    ],
)
def test_bad_targets_are_refused_with_the_row(change, message):
    row = {
        "la_code": "E06000009",
        "indicator": "cla",
        "target": "516",
        "polarity": "low",
        "amber_tolerance": "20",
        "from_month": "2017-04",
        **change,
    }
    with pytest.raises(TargetsError, match=f"row 2.*{message}|{message}"):
        validate_targets(pd.DataFrame([row]))


def test_written_scorecard_has_csv_and_a_chart_per_indicator_with_its_target_line(tmp_path):
    periods = [str(p) for p in pd.period_range("2017-04", "2017-12", freq="M")]
    values = pd.DataFrame(
        {
            "la_code": "E06000009",
            "period": periods,
            "cla": [520.0, 522, 525, 530, 531, 533, 535, 536, 537],  # SYNTHETIC trend
            # contacts as the February 2018 report quotes them (May to December 2017)
            "contacts": [1160.0, 1043, 1115, 1013, 999, 779, 594, 447, None],
        }
    )
    card = build_scorecard(values, load_targets(DEMO_TARGETS))
    files = write_scorecard(
        card, tmp_path / "scorecard" / "2017-12", title="Blackpool <demo>", names={"E06000009": "Blackpool"}
    )
    assert pd.read_csv(files.csv).shape == card.shape
    page = files.html.read_text(encoding="utf-8")
    assert page.count("<svg") == 2 and page.count('class="target"') == 2
    assert "Blackpool &lt;demo&gt;" in page and "<script" not in page
    assert "<h2>Blackpool (E06000009)</h2>" in page and "<h3>Blackpool (E06000009): Children looked after" in page
    cla = re.search(r"Children looked after.*?</svg>", page, re.S).group(0)
    assert cla.count("<circle") == 9 and "2017-12: 537 (red)" in cla
    target_ys = {point.split(",")[1] for point in re.search(r'class="target" points="([^"]+)"', cla).group(1).split()}
    assert len(target_ys) == 1  # one target in force all year: a flat line


def test_empty_scorecard_still_writes_a_page(tmp_path):
    files = write_scorecard(
        build_scorecard(pd.DataFrame({"la_code": [], "period": []}), load_targets(DEMO_TARGETS)), tmp_path
    )
    assert "No figures with a target yet" in files.html.read_text(encoding="utf-8")
