"""Waivers: a data steward accepts one finding on one return, with a reason, on the record.

A waiver names the finding (rule, authority, month, column) and carries the fingerprint of
the figures it accepts: the finding's `value` and `expected` as reported, and the sha256 of
the return file. A resubmission is a new file (new sha256) or new figures (new value), so a
waiver never silently carries over to figures nobody looked at: the steward waives again.

Structural findings (a cell that is not a number, a negative count, a malformed code...) and
an unknown authority or unfinished month cannot be waived: there is nothing sound to store.

This module decides what may be waived and which findings a waiver covers, over plain tables;
the register of waivers is kept in the warehouse by `pipelines.store.waivers`.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from schemas.findings import ERROR
from schemas.rules import RULES

UNWAIVABLE_RULES = frozenset(
    {r.id for r in RULES.values() if r.family == "structure"}
    | {"unknown_authority", "period_in_future", "file_unreadable"}
)
# The fingerprint: a waiver applies to a finding equal to it on every one of these.
WAIVER_KEY = ["rule", "la_code", "period", "column", "value", "expected", "sha256"]
# Stands for a key part that is not given (a finding with no column): equal only to itself.
_NOT_GIVEN = "\0"


class WaiverError(ValueError):
    """A waiver that cannot be recorded; the message is one line for the steward."""


def _text(value) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return str(value)


def new_waiver(
    *,
    rule: str,
    la_code: str,
    period: str,
    column: str | None,
    value: str | None,
    sha256: str,
    reason: str,
    who: str,
    expected: str | None = None,
    now: dt.datetime | None = None,
) -> dict:
    """The record of a waiver for one finding on one return file, checked; raises WaiverError.

    `value` and `expected` are the finding's own text (as in the findings table), `sha256`
    the return file's: together they are the fingerprint the waiver is bound to.
    """
    if rule not in RULES:
        raise WaiverError(f"'{rule}' is not a rule in the rule book")
    if rule in UNWAIVABLE_RULES:
        raise WaiverError(f"'{rule}' cannot be waived: the figures must be corrected and the return resubmitted")
    for name, given in (("la_code", la_code), ("period", period), ("sha256", sha256), ("reason", reason), ("who", who)):
        if not _text(given) or not str(given).strip():
            raise WaiverError(f"a waiver needs {name}")
    return {
        "rule": rule,
        "la_code": la_code,
        "period": period,
        "column": _text(column),
        "value": _text(value),
        "expected": _text(expected),
        "sha256": sha256,
        "reason": reason.strip(),
        "who": who.strip(),
        "created_at": now or dt.datetime.now(dt.UTC).replace(tzinfo=None),
    }


def waiver_for(finding: dict | pd.Series, reason: str, who: str, now: dt.datetime | None = None) -> dict:
    """A waiver of a finding exactly as it appears in the findings table (a row or a dict with its columns)."""
    return new_waiver(
        rule=finding["rule"],
        la_code=finding["la_code"],
        period=finding["period"],
        column=_text(finding.get("column")),
        value=_text(finding.get("value")),
        expected=_text(finding.get("expected")),
        sha256=finding["sha256"],
        reason=reason,
        who=who,
        now=now,
    )


def _fingerprints(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {c: frame[c].map(_text).astype("object").fillna(_NOT_GIVEN) for c in WAIVER_KEY}, index=frame.index
    )


def match_waivers(findings: pd.DataFrame, waivers: pd.DataFrame) -> pd.DataFrame:
    """`findings` with `waived` (bool), `waiver_reason` and `waiver_id` added, rows in the same order.

    A finding is waived when an active waiver (no `revoked_at`) has its fingerprint: same rule,
    authority, month and column, same value and expected, same return file. Of several, the
    latest waiver gives the reason.
    """
    missing = [c for c in WAIVER_KEY if c not in findings.columns]
    if missing:
        raise ValueError(f"findings lack column(s) {', '.join(missing)}")
    out = findings.copy()
    if out.empty:
        out["waived"] = pd.Series(dtype="bool")
        out["waiver_reason"] = pd.Series(dtype="string")
        out["waiver_id"] = pd.Series(dtype="Int64")
        return out
    active = waivers[waivers["revoked_at"].isna()]
    keys = _fingerprints(out).assign(position=range(len(out)))
    offered = _fingerprints(active).assign(
        waiver_id=active["waiver_id"], reason=active["reason"], created_at=active["created_at"]
    )
    matched = (
        keys.merge(offered, on=WAIVER_KEY)
        .sort_values(["position", "created_at", "waiver_id"])
        .drop_duplicates("position", keep="last")
        .set_index("position")
    )
    positions = pd.Series(range(len(out)), index=out.index)
    out["waived"] = positions.isin(matched.index).to_numpy()
    out["waiver_reason"] = positions.map(matched["reason"]).astype("string").to_numpy()
    out["waiver_id"] = positions.map(matched["waiver_id"]).astype("Int64").to_numpy()
    return out


def unwaived(findings: pd.DataFrame) -> pd.DataFrame:
    """The findings no steward has waived."""
    return findings[~findings["waived"].fillna(False).astype(bool)]


def unwaived_errors(findings: pd.DataFrame) -> pd.DataFrame:
    """The findings that hold a return back: errors no steward has waived."""
    remaining = unwaived(findings)
    return remaining[remaining["severity"] == ERROR]
