"""Synthetic test data for publishing: made-up figures in a temporary data home.

The figures are SYNTHETIC (invented for the tests). Only the authorities' codes, names and
regions are real: they come from the official register in ../shared/reference/, read here
and never copied into the repository.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pandas as pd

from pipelines.home import DataHome
from pipelines.reference import import_reference
from pipelines.store.validations import current_basis, record_basis
from pipelines.store.warehouse import connect
from schemas.catalogue import numeric_columns

REGISTER_PATH = Path(__file__).resolve().parents[3] / "shared" / "reference" / "la_register_2025.csv"
NORTH_WEST, NORTH_EAST = "E12000002", "E12000001"
BLACKPOOL, HALTON, WARRINGTON = "E06000009", "E06000006", "E06000007"

# A plausible mid-sized authority's month (synthetic); derived figures deliberately wrong so that
# tests can see the release recomputes them from the components.
TYPICAL_MONTH = {
    "population_0_17": 30000,
    "contacts": 900,
    "referrals": 250,
    "referrals_to_assessment": 200,
    "re_referrals": 50,
    "assessments_completed": 220,
    "assessments_within_15wd": 80,
    "assessments_within_45wd": 190,
    "s47_enquiries": 60,
    "icpcs": 20,
    "icpcs_within_15wd": 15,
    "cp_plans_started": 18,
    "cla_started": 12,
    "cla_ceased": 10,
    "contacts_12m": 10800,
    "referrals_12m": 3000,
    "s47_enquiries_12m": 700,
    "cin": 1200,
    "cp_plans": 150,
    "cla": 300,
    "contacts_to_referral_percent": 99.0,
    "referral_to_assessment_percent": 99.0,
    "re_referral_percent": 99.0,
    "assessments_within_15wd_percent": 99.0,
    "assessments_within_45wd_percent": 99.0,
    "icpcs_within_15wd_percent": 99.0,
    "referral_rate_per_10k": 9999.0,
    "s47_rate_per_10k": 9999.0,
    "cin_rate_per_10k": 9999.0,
    "cp_rate_per_10k": 9999.0,
    "cla_rate_per_10k": 9999.0,
}


def official_register() -> pd.DataFrame:
    return pd.read_csv(REGISTER_PATH, dtype=str, keep_default_na=False)


def register_of(regions: list[str]) -> pd.DataFrame:
    register = official_register()
    return register[register["region_code"].isin(regions)].reset_index(drop=True)


def make_home(tmp_path: Path, register: pd.DataFrame) -> DataHome:
    """A fresh data home with the register imported through the project's own importer."""
    home = DataHome(tmp_path / "home").ensure()
    source = tmp_path / "register_subset.csv"
    register.to_csv(source, index=False)
    import_reference(source, home)
    with connect(home):
        pass  # creates the warehouse schema
    return home


def accept_returns(
    home: DataHome, month: str, figures: dict[str, dict], received: str = "2026-01-06", status: str = "accepted"
) -> None:
    """Store synthetic returns as intake would: `returns` always, `indicator_values` only when accepted."""
    columns = numeric_columns()
    with connect(home) as connection:
        for arrival, (la_code, overrides) in enumerate(sorted(figures.items()), start=1):
            values = {**TYPICAL_MONTH, **overrides}
            figures_row = [values.get(c) for c in columns]
            sha256 = hashlib.sha256(repr((la_code, month, received, sorted(values.items()))).encode()).hexdigest()
            connection.execute("DELETE FROM received_files WHERE sha256 = ?", [sha256])
            connection.execute(
                "INSERT INTO received_files VALUES (?, ?, '.csv', 100, ?, ?, ?, TRUE)",
                [sha256, f"{la_code}.csv", arrival, dt.datetime.fromisoformat(received), [month]],
            )
            connection.execute("DELETE FROM returns WHERE la_code = ? AND period = ?", [la_code, month])
            connection.execute(
                f'INSERT INTO returns (la_code, period, sha256, file, "row", arrival, status, errors, warnings, '
                f"{', '.join(columns)}) VALUES (?, ?, ?, ?, 2, ?, ?, 0, 0, {', '.join('?' * len(columns))})",
                [la_code, month, sha256, f"{la_code}.csv", arrival, status, *figures_row],
            )
            connection.execute("DELETE FROM indicator_values WHERE la_code = ? AND period = ?", [la_code, month])
            if status == "accepted":
                connection.execute(
                    f"INSERT INTO indicator_values (la_code, period, period_start, sha256, {', '.join(columns)}) "
                    f"VALUES (?, ?, ?, ?, {', '.join('?' * len(columns))})",
                    [la_code, month, dt.date.fromisoformat(month + "-01"), sha256, *figures_row],
                )
        # A validation records what it depended on; the publication guard compares (store/validations.py).
        record_basis(connection, current_basis(home, connection, month))


def rows_by_geography(path: Path) -> dict[str, dict[str, str]]:
    """Published rows keyed by the geography's code (authority, region or England)."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    keyed = {}
    for row in frame.to_dict("records"):
        code = row["new_la_code"] or row["region_code"] or row["country_code"]
        keyed[code] = row
    return keyed


def folder_bytes(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
