"""Reference data: the register of authorities, ONS child populations and improvement board targets.

`reference import` accepts the official layouts (DfE's LA register; ONS estimates in the
EES layout) and keeps a normalised copy under `<home>/reference/`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipelines.home import DataHome

REGISTER_COLUMNS = ["old_la_code", "new_la_code", "la_name", "region_code", "region_name", "la_type"]
REGISTER_FILE = "register.csv"
POPULATION_FILE = "populations.csv"
TARGETS_FILE = "targets.csv"


class ReferenceError(ValueError):
    """A reference file in a layout we do not know; the message is one line for the user."""


@dataclass(frozen=True)
class Reference:
    register: pd.DataFrame | None
    populations: pd.DataFrame | None


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ReferenceError(f"{path.name}: cannot be read as CSV ({str(exc).splitlines()[0]})") from None
    frame.columns = [c.strip().lower() for c in frame.columns]
    return frame


def _normalise_register(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    missing = [c for c in REGISTER_COLUMNS[:5] if c not in frame.columns]
    if missing:
        raise ReferenceError(f"{name}: register is missing column(s) {', '.join(missing)}")
    frame = frame.reindex(columns=REGISTER_COLUMNS, fill_value="")
    return frame.apply(lambda s: s.str.strip()).sort_values("new_la_code").reset_index(drop=True)


def _normalise_populations(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    missing = [c for c in ("time_period", "geographic_level", "new_la_code", "population_estimate") if c not in frame.columns]
    if missing:
        raise ReferenceError(f"{name}: population file is missing column(s) {', '.join(missing)}")
    rows = frame[frame["geographic_level"].str.strip() == "Local authority"]
    out = pd.DataFrame({
        "new_la_code": rows["new_la_code"].str.strip(),
        "year": pd.to_numeric(rows["time_period"].str[:4], errors="coerce"),
        "population": pd.to_numeric(rows["population_estimate"].str.replace(",", ""), errors="coerce"),
    }).dropna()
    out = out.astype({"year": "int64", "population": "int64"})
    return out.sort_values(["new_la_code", "year"]).reset_index(drop=True)


def import_reference(path: Path, home: DataHome) -> str:
    """Load an official register or population file into the data home; returns a summary line."""
    frame = _read_csv(Path(path))
    home.ensure()
    if "population_estimate" in frame.columns:
        populations = _normalise_populations(frame, Path(path).name)
        populations.to_csv(home.reference / POPULATION_FILE, index=False)
        return f"populations: {len(populations)} authority-years for {populations['new_la_code'].nunique()} authorities"
    if {"la_code", "indicator", "target"} <= set(frame.columns):
        # Imported here: validation reads the register and populations through this module.
        from pipelines.scorecard.targets import TargetsError, validate_targets

        try:
            targets = validate_targets(frame, Path(path).name)
        except TargetsError as exc:
            raise ReferenceError(str(exc)) from None
        targets.to_csv(home.reference / TARGETS_FILE, index=False)
        return f"targets: {len(targets)} for {targets['la_code'].nunique()} authorities"
    if "new_la_code" in frame.columns and "la_name" in frame.columns:
        register = _normalise_register(frame, Path(path).name)
        register.to_csv(home.reference / REGISTER_FILE, index=False)
        return f"register: {len(register)} authorities in {register['region_code'].nunique()} regions"
    raise ReferenceError(f"{Path(path).name}: neither a register (new_la_code, la_name, region_code) "
                         "nor a population file (time_period, population_estimate) nor targets (la_code, indicator, target)")


def import_demo_reference(home: DataHome) -> list[str]:
    from pipelines import demo

    return [import_reference(path, home) for path in (demo.REGISTER, demo.POPULATION, demo.TARGETS)]


def load_reference(home: DataHome) -> Reference:
    register_path, population_path = home.reference / REGISTER_FILE, home.reference / POPULATION_FILE
    register = pd.read_csv(register_path, dtype=str, keep_default_na=False) if register_path.exists() else None
    populations = None
    if population_path.exists():
        populations = pd.read_csv(population_path, dtype={"new_la_code": str, "year": "int64", "population": "int64"})
    return Reference(register=register, populations=populations)
