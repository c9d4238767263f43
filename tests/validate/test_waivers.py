"""Waivers accept one finding on one file's figures, and never a resubmission's (SYNTHETIC findings)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.home import DataHome
from pipelines.store.waivers import WaiverError, add_waiver, apply_waivers, list_waivers, revoke_waiver, waive_finding
from pipelines.store.warehouse import connect
from pipelines.validate.waivers import match_waivers

SHA_FIRST, SHA_RESUBMITTED = "a" * 64, "b" * 64


def _finding(**changes) -> dict:
    finding = {
        "rule": "stock_jump",
        "severity": "warning",
        "la_code": "E06000009",
        "period": "2024-11",
        "column": "cla",
        "value": "640",
        "expected": "530",
        "message": "cla moved from 530 to 640 in a month",
        "file": "blackpool.csv",
        "row": 2,
        "sha256": SHA_FIRST,
    }
    finding.update(changes)
    return finding


@pytest.fixture
def home(tmp_path):
    return DataHome(tmp_path / "home")


def test_waiver_applies_to_the_finding_it_names_and_survives_reconnection(home):
    with connect(home) as connection:
        waiver_id = waive_finding(connection, _finding(), reason="sibling group of 12 placed together", who="steward")
    with connect(home) as connection:
        out = apply_waivers(connection, pd.DataFrame([_finding(), _finding(column="cp_plans")]))
    assert out["waived"].tolist() == [True, False]
    assert out.loc[0, "waiver_reason"] == "sibling group of 12 placed together"
    assert out.loc[0, "waiver_id"] == waiver_id
    assert pd.isna(out.loc[1, "waiver_reason"])


@pytest.mark.parametrize(
    "changes",
    [
        {"sha256": SHA_RESUBMITTED},  # the same figure in a resubmitted file
        {"value": "650"},  # a different figure
        {"expected": "520"},  # the figure it was compared with changed
        {"la_code": "E06000006"},
        {"period": "2024-12"},
        {"rule": "implausible_value"},
    ],
)
def test_waiver_does_not_carry_over_to_other_figures(home, changes):
    with connect(home) as connection:
        waive_finding(connection, _finding(), reason="checked with the authority", who="steward")
        out = apply_waivers(connection, pd.DataFrame([_finding(**changes)]))
    assert out["waived"].tolist() == [False]


def test_finding_without_column_or_value_matches_null_safely(home):
    finding = _finding(rule="mandatory_missing", severity="error", column="cin", value=None, expected=None)
    with connect(home) as connection:
        waive_finding(connection, finding, reason="cin not collected this month", who="steward")
        out = apply_waivers(
            connection, pd.DataFrame([finding, _finding(rule="mandatory_missing", column="cin", value="0")])
        )
    assert out["waived"].tolist() == [True, False]


def test_revoked_waiver_stops_applying_but_stays_on_record(home):
    with connect(home) as connection:
        waiver_id = waive_finding(connection, _finding(), reason="ok", who="steward")
        assert revoke_waiver(connection, waiver_id, who="lead", reason="granted on the wrong figures")
        assert not revoke_waiver(connection, waiver_id, who="lead", reason="again")
        assert apply_waivers(connection, pd.DataFrame([_finding()]))["waived"].tolist() == [False]
        assert list_waivers(connection).empty
        record = list_waivers(connection, include_revoked=True)
        assert record[["revoked_by", "revoked_reason"]].values.tolist() == [["lead", "granted on the wrong figures"]]


def test_latest_waiver_reason_wins(home):
    with connect(home) as connection:
        waive_finding(connection, _finding(), reason="first", who="a", now=dt.datetime(2024, 12, 1))
        waive_finding(connection, _finding(), reason="second", who="b", now=dt.datetime(2024, 12, 2))
        out = apply_waivers(connection, pd.DataFrame([_finding()]))
    assert out["waiver_reason"].tolist() == ["second"]


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"rule": "negative_count"}, "cannot be waived"),
        ({"rule": "invalid_value"}, "cannot be waived"),
        ({"rule": "unknown_authority"}, "cannot be waived"),
        ({"rule": "no_such_rule"}, "not a rule"),
    ],
)
def test_structural_and_unknown_rules_cannot_be_waived(home, changes, message):
    with connect(home) as connection, pytest.raises(WaiverError, match=message):
        waive_finding(connection, _finding(**changes), reason="x", who="y")


@pytest.mark.parametrize("field", ["reason", "who", "sha256"])
def test_waiver_needs_reason_author_and_file(home, field):
    arguments = dict(
        rule="stock_jump",
        la_code="E06000009",
        period="2024-11",
        column="cla",
        value="640",
        sha256=SHA_FIRST,
        reason="r",
        who="w",
    )
    arguments[field] = "  "
    with connect(home) as connection, pytest.raises(WaiverError, match=field):
        add_waiver(connection, **arguments)


def test_apply_keeps_order_and_columns_and_handles_empty(home):
    findings = pd.DataFrame([_finding(row=r) for r in (5, 3, 9)], index=[10, 20, 30])
    with connect(home) as connection:
        waive_finding(connection, _finding(row=3), reason="ok", who="w")
        out = apply_waivers(connection, findings)
        empty = apply_waivers(connection, findings.iloc[0:0])
    assert out.index.tolist() == [10, 20, 30] and out["row"].tolist() == [5, 3, 9]
    assert out["waived"].tolist() == [True, True, True]  # row number is not part of the fingerprint
    assert list(out.columns[:11]) == list(findings.columns)
    assert {"waived", "waiver_reason", "waiver_id"} <= set(empty.columns) and empty.empty


# The matching once ran as SQL in DuckDB; it now runs in pandas so that validation needs no database.
# The SQL stays here as the oracle: a finding is waived by the latest active waiver with its fingerprint.
ORACLE = """
    SELECT f.position, arg_max(w.waiver_id, w.created_at) AS waiver_id, arg_max(w.reason, w.created_at) AS reason
    FROM findings_to_waive f JOIN waivers w
      ON w.revoked_at IS NULL AND w.rule = f.rule AND w.la_code = f.la_code AND w.period = f.period
     AND w."column" IS NOT DISTINCT FROM f."column" AND w.value IS NOT DISTINCT FROM f.value
     AND w.expected IS NOT DISTINCT FROM f.expected AND w.sha256 = f.sha256
    GROUP BY f.position"""
FINGERPRINT = ["rule", "la_code", "period", "column", "value", "expected", "sha256"]
# Waivers are drawn over a few fingerprints, so that several often name the same finding, and
# findings either carry one of those fingerprints or any other (null parts included).
fingerprints = st.fixed_dictionaries(
    {
        "rule": st.sampled_from(["stock_jump", "implausible_value"]),
        "la_code": st.sampled_from(["E06000009", "E06000006"]),
        "period": st.sampled_from(["2024-11", "2024-12"]),
        "column": st.sampled_from([None, "cla"]),
        "value": st.sampled_from([None, "640"]),
        "expected": st.sampled_from([None, "530"]),
        "sha256": st.sampled_from([SHA_FIRST, SHA_RESUBMITTED]),
    }
)
any_finding = st.fixed_dictionaries(
    {
        "rule": st.sampled_from(["stock_jump", "mandatory_missing"]),
        "la_code": st.sampled_from([None, "E06000009"]),
        "period": st.just("2024-11"),
        "column": st.sampled_from([None, "cla"]),
        "value": st.sampled_from([None, "640"]),
        "expected": st.sampled_from([None, "530"]),
        "sha256": st.sampled_from([None, SHA_FIRST]),
    }
)


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_matching_in_pandas_gives_what_the_sql_gave(data):
    import duckdb

    shapes = data.draw(st.lists(fingerprints, min_size=1, max_size=3))
    waivers = data.draw(
        st.lists(st.tuples(st.sampled_from(shapes), st.booleans(), st.sampled_from(["ok", "agreed"])), max_size=6)
    )
    findings = data.draw(st.lists(st.one_of(st.sampled_from(shapes), any_finding), max_size=6))
    # Times drawn apart from the ids (a later waiver may have a smaller id), distinct: SQL's arg_max
    # picks arbitrarily between ties.
    hours = data.draw(st.permutations(range(len(waivers))))
    register = pd.DataFrame(
        [
            {
                **shape,
                "reason": reason,
                "waiver_id": n + 1,
                "created_at": dt.datetime(2024, 12, 1) + dt.timedelta(hours=hours[n]),
                "revoked_at": dt.datetime(2025, 1, 1) if revoked else None,
            }
            for n, (shape, revoked, reason) in enumerate(waivers)
        ],
        columns=[*FINGERPRINT, "reason", "waiver_id", "created_at", "revoked_at"],
    )
    # As the pipeline holds them: text columns of pandas' string dtype, missing cells pd.NA.
    frame = pd.DataFrame(findings, columns=FINGERPRINT).astype("string")
    got = match_waivers(frame, register)

    connection = duckdb.connect()
    connection.register("findings_to_waive", frame.assign(position=range(len(frame))))
    connection.register("waivers", register.astype({"revoked_at": "datetime64[ns]"}))
    expected = connection.execute(ORACLE).df().set_index("position")
    assert got["waived"].tolist() == [n in expected.index for n in range(len(frame))]
    for n in expected.index:
        assert (got["waiver_id"].iloc[n], got["waiver_reason"].iloc[n]) == (
            expected.at[n, "waiver_id"],
            expected.at[n, "reason"],
        )
