"""Reference data: the register of authorities, ONS child populations, improvement board targets,
DfE's statistical neighbours and LAIT's published annual figures.

`reference import` accepts the official layouts (DfE's LA register; ONS estimates in the
EES layout; the statistical neighbour model with old 3-digit codes; LAIT's long indicator file)
and keeps a normalised copy under `<home>/reference/`. Neighbours and annual figures are mapped
to ONS codes through the register, so the register is imported first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipelines.home import DataHome

REGISTER_COLUMNS = ["old_la_code", "new_la_code", "la_name", "region_code", "region_name", "la_type"]
REGISTER_FILE = "register.csv"
POPULATION_FILE = "populations.csv"
TARGETS_FILE = "targets.csv"
NEIGHBOURS_FILE = "neighbours.csv"
ANNUAL_FILE = "annual_figures.csv"
NEIGHBOURS_PER_AUTHORITY = 10
NEIGHBOUR_COLUMNS = ["la_code", "rank", "neighbour_code", "closeness"]
ANNUAL_COLUMNS = ["indicator", "year", "level", "area_code", "region_code", "value"]
ENGLAND_CODE = "E92000001"
# LAIT's short_desc for each rate or percentage of the catalogue it publishes (year ending 31 March).
LAIT_INDICATORS = {
    "cla_rate_per_10k": "LAC",
    "cin_rate_per_10k": "CIN",
    "cp_rate_per_10k": "CPP_rate",
    "s47_rate_per_10k": "Section_47",
    "referral_rate_per_10k": "CPP_Total_Rateper10,000",
    "re_referral_percent": "ReReferral",
    "icpcs_within_15wd_percent": "CP_conf_15days",
    "assessments_within_45wd_percent": "Continue_Assess_Comp",
}


class ReferenceError(ValueError):
    """A reference file in a layout we do not know; the message is one line for the user."""


@dataclass(frozen=True)
class Reference:
    register: pd.DataFrame | None
    populations: pd.DataFrame | None
    neighbours: pd.DataFrame | None = None
    annual: pd.DataFrame | None = None


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
    missing = [
        c for c in ("time_period", "geographic_level", "new_la_code", "population_estimate") if c not in frame.columns
    ]
    if missing:
        raise ReferenceError(f"{name}: population file is missing column(s) {', '.join(missing)}")
    rows = frame[frame["geographic_level"].str.strip() == "Local authority"]
    out = pd.DataFrame(
        {
            "new_la_code": rows["new_la_code"].str.strip(),
            "year": pd.to_numeric(rows["time_period"].str[:4], errors="coerce"),
            "population": pd.to_numeric(rows["population_estimate"].str.replace(",", ""), errors="coerce"),
        }
    ).dropna()
    out = out.astype({"year": "int64", "population": "int64"})
    return out.sort_values(["new_la_code", "year"]).reset_index(drop=True)


def _imported_register(home: DataHome, name: str, what: str) -> pd.DataFrame:
    register = load_reference(home).register
    if register is None:
        raise ReferenceError(f"{name}: {what} are mapped to ONS codes through the register: import the register first")
    return register


def _normalise_neighbours(frame: pd.DataFrame, name: str, register: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """DfE's wide model (old_la_code, SN_1..SN_10 old codes, SN_nP closeness) as one row per
    authority and neighbour, in ONS codes; warnings name what the register does not know."""
    rank_columns = sorted((c for c in frame.columns if re.fullmatch(r"sn_\d+", c)), key=lambda c: int(c[3:]))
    wide = frame.assign(line=range(2, len(frame) + 2))
    long = wide.melt(
        id_vars=["old_la_code", "line"], value_vars=rank_columns, var_name="slot", value_name="neighbour_old"
    )
    long["rank"] = long["slot"].str[3:].astype(int)
    closeness = wide.melt(
        id_vars=["line"],
        value_vars=[f"{c}p" for c in rank_columns if f"{c}p" in wide.columns],
        var_name="slot",
        value_name="closeness",
    )
    closeness["rank"] = closeness["slot"].str[3:-1].astype(int)
    long = long.merge(closeness[["line", "rank", "closeness"]], on=["line", "rank"], how="left")
    long = long.assign(
        old_la_code=long["old_la_code"].str.strip(),
        neighbour_old=long["neighbour_old"].str.strip(),
        closeness=long["closeness"].fillna("").str.strip(),
    )
    codes = dict(zip(register["old_la_code"].str.strip(), register["new_la_code"]))
    long["la_code"] = long["old_la_code"].map(codes)
    long["neighbour_code"] = long["neighbour_old"].map(codes)
    warnings = []
    subjects = wide.assign(old_la_code=wide["old_la_code"].str.strip())
    for line, old in subjects.loc[~subjects["old_la_code"].isin(codes), ["line", "old_la_code"]].itertuples(
        index=False
    ):
        warnings.append(
            f"warning: {name} row {line}: authority '{old}' is not on the register; its neighbours are left out"
        )
    named = long[long["neighbour_old"] != ""]
    unknown = named[named["la_code"].notna() & named["neighbour_code"].isna()]
    for line, old, rank in unknown[["line", "neighbour_old", "rank"]].itertuples(index=False):
        warnings.append(
            f"warning: {name} row {line} column SN_{rank}: neighbour '{old}' is not on the register; left out"
        )
    kept = long[long["la_code"].notna() & long["neighbour_code"].notna()]
    counts = kept.groupby("la_code").size().reindex(long["la_code"].dropna().unique(), fill_value=0)
    lines = long.dropna(subset=["la_code"]).drop_duplicates("la_code").set_index("la_code")["line"]
    for la_code, count in counts[counts < NEIGHBOURS_PER_AUTHORITY].items():
        warnings.append(
            f"warning: {name} row {lines[la_code]}: {la_code} has {count} neighbour(s) on the register, "
            f"not {NEIGHBOURS_PER_AUTHORITY}; its neighbour mean covers those"
        )
    out = kept[NEIGHBOUR_COLUMNS].drop_duplicates(["la_code", "neighbour_code"])
    return out.sort_values(["la_code", "rank"]).reset_index(drop=True), warnings


def _region_key(names: pd.Series) -> pd.Series:
    """LAIT writes 'London (Inner)' and 'Yorkshire and the Humber' where the register has
    'Inner London' and 'Yorkshire and The Humber'."""
    key = names.str.strip().str.casefold()
    return key.str.replace(r"^london \((inner|outer)\)$", r"\1 london", regex=True)


def _normalise_annual(frame: pd.DataFrame, name: str, register: pd.DataFrame) -> pd.DataFrame:
    """LAIT's long file as (indicator, year, level, area_code, region_code, value) for the
    catalogue's rates it publishes; `-` and other symbols are missing values, left out."""
    missing = [c for c in ("short_desc", "year", "la_or_region", "new_la_code") if c not in frame.columns]
    if missing or not ({"value", "value_num"} & set(frame.columns)):
        raise ReferenceError(f"{name}: LAIT file is missing column(s) {', '.join(missing) or 'value'}")
    by_short = {short: column for column, short in LAIT_INDICATORS.items()}
    rows = frame[frame["short_desc"].str.strip().isin(by_short)]
    value = pd.to_numeric(rows["value_num"] if "value_num" in rows.columns else rows["value"], errors="coerce")
    area = rows["la_or_region"].str.strip()
    la_code = rows["new_la_code"].str.strip()
    regions = register.drop_duplicates("region_code")
    region_codes = dict(zip(_region_key(regions["region_name"]), regions["region_code"]))
    la_regions = dict(zip(register["new_la_code"], register["region_code"]))
    level = (
        pd.Series("authority", index=rows.index)
        .mask(la_code == "", "region")
        .mask(area.str.casefold() == "england", "england")
    )
    area_code = la_code.mask(level == "region", _region_key(area).map(region_codes)).mask(
        level == "england", ENGLAND_CODE
    )
    out = pd.DataFrame(
        {
            "indicator": rows["short_desc"].str.strip().map(by_short),
            "year": pd.to_numeric(rows["year"].str.strip().str[:4], errors="coerce"),
            "level": level,
            "area_code": area_code,
            "region_code": la_code.map(la_regions).where(level == "authority", area_code),
            "value": value,
        }
    ).dropna(subset=["year", "area_code", "value"])
    out = out.astype({"year": "int64"})
    return out.sort_values(["indicator", "year", "level", "area_code"]).reset_index(drop=True)[ANNUAL_COLUMNS]


def import_reference(path: Path, home: DataHome) -> str:
    """Load an official register, population, targets, statistical neighbour or LAIT file into the
    data home; returns a summary line (and one `warning:` line for each thing left out)."""
    frame = _read_csv(Path(path))
    home.ensure()
    name = Path(path).name
    if "old_la_code" in frame.columns and "sn_1" in frame.columns:
        neighbours, warnings = _normalise_neighbours(
            frame, name, _imported_register(home, name, "statistical neighbours")
        )
        neighbours.to_csv(home.reference / NEIGHBOURS_FILE, index=False)
        return "\n".join(
            [
                f"statistical neighbours: {neighbours['la_code'].nunique()} authorities, "
                f"{len(neighbours)} neighbour pairs",
                *warnings,
            ]
        )
    if {"short_desc", "la_or_region"} <= set(frame.columns):
        annual = _normalise_annual(frame, name, _imported_register(home, name, "LAIT figures"))
        annual.to_csv(home.reference / ANNUAL_FILE, index=False)
        years = f"{annual['year'].min()}-{annual['year'].max()}" if not annual.empty else "no years"
        return f"annual figures (LAIT): {len(annual)} values of {annual['indicator'].nunique()} indicators, {years}"
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
    raise ReferenceError(
        f"{Path(path).name}: neither a register (new_la_code, la_name, region_code) "
        "nor a population file (time_period, population_estimate) nor targets (la_code, indicator, target) "
        "nor statistical neighbours (old_la_code, SN_1..SN_10) nor LAIT figures (short_desc, la_or_region)"
    )


def import_demo_reference(home: DataHome) -> list[str]:
    from pipelines import demo

    lines = [
        import_reference(path, home)
        for path in (demo.REGISTER, demo.POPULATION, demo.TARGETS, demo.NEIGHBOURS, demo.ANNUAL)
    ]
    # The made-up neighbour model gives each demo authority the other four, not ten: say so once.
    return [
        line.split("\n")[0] + (" (SYNTHETIC: four each, not ten)" if path == demo.NEIGHBOURS else "")
        for line, path in zip(lines, (demo.REGISTER, demo.POPULATION, demo.TARGETS, demo.NEIGHBOURS, demo.ANNUAL))
    ]


def load_reference(home: DataHome) -> Reference:
    register_path, population_path = home.reference / REGISTER_FILE, home.reference / POPULATION_FILE
    register = pd.read_csv(register_path, dtype=str, keep_default_na=False) if register_path.exists() else None
    populations = None
    if population_path.exists():
        populations = pd.read_csv(population_path, dtype={"new_la_code": str, "year": "int64", "population": "int64"})
    neighbours_path, annual_path = home.reference / NEIGHBOURS_FILE, home.reference / ANNUAL_FILE
    neighbours = pd.read_csv(neighbours_path, dtype=str, keep_default_na=False) if neighbours_path.exists() else None
    annual = None
    if annual_path.exists():
        annual = pd.read_csv(
            annual_path,
            dtype={
                "indicator": str,
                "year": "int64",
                "level": str,
                "area_code": str,
                "region_code": str,
                "value": "float64",
            },
            keep_default_na=False,
        )
    return Reference(register=register, populations=populations, neighbours=neighbours, annual=annual)
