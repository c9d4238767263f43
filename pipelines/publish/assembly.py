"""Release assembly: a month's EES rows (England, each region, each authority of the register) with
disclosure control, from the month's accepted figures and what earlier releases of it disclosed.

Regional and England totals are added up here (a region only when every authority of it has an
accepted return, England only when every authority has), then `disclosure.publishable_cells`
decides the text of every cell. The register is laid out once per publication (`Geographies`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from functools import cache, cached_property
from operator import itemgetter

import pandas as pd

from pipelines.publish.disclosure import (
    NOTHING_EARLIER,
    Cell,
    Derived,
    EarlierFigures,
    Total,
    UnprotectableTotal,
    part_whole_pairs,
    publishable_cells,
)
from pipelines.publish.ees import (
    ENGLAND_CODE,
    ENGLAND_NAME,
    GEOGRAPHY_COLUMNS,
    LOCAL_AUTHORITY,
    NATIONAL,
    REGIONAL,
    is_number,
    month_words,
    published_indicators,
    safe_text,
    time_identifiers,
)
from pipelines.store.disclosed import DISCLOSED_COLUMNS
from schemas.catalogue import Indicator
from schemas.rules import identities
from schemas.rules.kinds.base import Ratio


@dataclass(frozen=True)
class MonthRelease:
    """A month's EES rows (England, regions, authorities) and what building them found."""

    rows: list[dict[str, str]]
    notes: list[str]
    problems: list[str]  # they block the release
    figures: pd.DataFrame  # every count cell: geography, indicator, exact figure, published as a number


@dataclass(frozen=True)
class Region:
    code: str
    name: str  # as in the register (the notes quote it); rows carry it through `safe_text`
    authorities: tuple[str, ...]
    authority_names: tuple[str, ...]


@dataclass(frozen=True)
class Geographies:
    """The register laid out as every release lays it out: England, then the regions by code, then the
    authorities by region and code; each row's geography columns (the time columns come per month)."""

    authorities: tuple[str, ...]
    regions: tuple[Region, ...]
    identities: tuple[tuple[str, dict[str, str]], ...]  # (geography code, its geography columns), in row order

    @cached_property
    def cells_of_rows(self) -> tuple[Callable[[Mapping[Cell, str]], tuple[str, ...]], ...]:
        """For each row, in order, what takes its published cells (one per indicator) from a month's."""
        indicators = _catalogue().indicators
        return tuple(_getter([(code, column) for column in indicators]) for code, _ in self.identities)

    @classmethod
    def of(cls, register: pd.DataFrame) -> Geographies:
        register = register.sort_values(["region_code", "new_la_code"]).reset_index(drop=True)
        regions = tuple(
            Region(
                str(code),
                members["region_name"].iloc[0],
                tuple(members["new_la_code"]),
                tuple(members["la_name"]),
            )
            for code, members in register.groupby("region_code", sort=True)
        )
        blank = dict.fromkeys(GEOGRAPHY_COLUMNS[3:], "")
        country = {"country_code": ENGLAND_CODE, "country_name": ENGLAND_NAME}
        identities = [(ENGLAND_CODE, {"geographic_level": NATIONAL, **country, **blank})]
        identities += [
            (
                region.code,
                {
                    "geographic_level": REGIONAL,
                    **country,
                    **blank,
                    "region_code": region.code,
                    "region_name": safe_text(region.name),
                },
            )
            for region in regions
        ]
        identities += [
            (
                authority.new_la_code,
                {
                    "geographic_level": LOCAL_AUTHORITY,
                    **country,
                    "region_code": authority.region_code,
                    "region_name": safe_text(authority.region_name),
                    "old_la_code": authority.old_la_code,
                    "new_la_code": authority.new_la_code,
                    "la_name": safe_text(authority.la_name),
                },
            )
            for authority in register.itertuples(index=False)
        ]
        return cls(tuple(register["new_la_code"]), regions, tuple(identities))


@dataclass(frozen=True)
class _Catalogue:
    counts: tuple[str, ...]
    indicators: tuple[str, ...]
    pairs: tuple[tuple[str, str], ...]
    derived: tuple[Derived, ...]


@cache
def _catalogue() -> _Catalogue:
    """What disclosure control reads, from the identities the rule book declares
    (`schemas/rules/identities.py`): parts within wholes, rates, the counts that add up to totals."""
    indicators = published_indicators()
    counts = {i.column for i in indicators if i.is_count}
    ratios = {ratio.column: ratio for ratio in identities.ratios()}
    return _Catalogue(
        tuple(i.column for i in indicators if i.is_count),
        tuple(i.column for i in indicators),
        tuple(part_whole_pairs({part: whole for part, whole in identities.part_of().items() if part in counts})),
        tuple(_derived(i, ratios[i.column]) for i in indicators if i.column in ratios),
    )


def _derived(indicator: Indicator, ratio: Ratio) -> Derived:
    """A published rate or percentage: the declared ratio, to the catalogue's decimal places."""
    return Derived(ratio.column, ratio.numerator, ratio.denominator, ratio.multiplier, indicator.publish_dp or 0)


def derived_figures() -> tuple[Derived, ...]:
    """Every published rate and percentage, from the catalogue."""
    return _catalogue().derived


def release_rows(
    month: str,
    register: pd.DataFrame | Geographies,
    values: pd.DataFrame,
    earlier: EarlierFigures = NOTHING_EARLIER,
    withheld: Collection[Cell] = (),
) -> MonthRelease:
    """EES rows for England, each region and each authority of the register, with disclosure
    control that also takes account of what earlier releases of the month (`earlier`) disclosed,
    and withholds `withheld` besides (the complements the attacker's audit chose: `audit.protect`)."""
    geographies = register if isinstance(register, Geographies) else Geographies.of(register)
    catalogue = _catalogue()
    codes = [str(code) for code in values["la_code"]]
    accepted = set(codes)
    problems = [
        f"{code}: accepted return for an authority that is not in the register"
        for code in sorted(accepted - set(geographies.authorities))
    ]

    by_column = {
        column: dict(zip(codes, _figures(values[column].tolist()))) for column in catalogue.counts if column in values
    }
    counts: dict[Cell, int | None] = {
        (code, column): by_column[column].get(code) if column in by_column else None
        for code in geographies.authorities
        for column in catalogue.counts
    }

    notes, totals = [], []
    additive = set(identities.additive_columns())
    for region in geographies.regions:
        missing = [name for code, name in zip(region.authorities, region.authority_names) if code not in accepted]
        for column in catalogue.counts:
            parts = [counts[(code, column)] for code in region.authorities]
            counts[(region.code, column)] = None if missing or None in parts else sum(parts)  # type: ignore[arg-type]
            if not missing and column in additive:
                totals.append(Total((region.code, column), tuple((code, column) for code in region.authorities)))
        if missing:
            notes.append(
                f"{region.name} ({region.code}) total not published (x): "
                f"{len(missing)} of {len(region.authorities)} authorities have no accepted return for "
                f"{month_words(month)} ({_names(missing)})."
            )
    region_codes = [region.code for region in geographies.regions]
    england_missing = set(geographies.authorities) - accepted
    for column in catalogue.counts:
        parts = [counts[(code, column)] for code in region_codes]
        counts[(ENGLAND_CODE, column)] = None if england_missing or None in parts else sum(parts)  # type: ignore[arg-type]
        if not england_missing and column in additive:
            totals.append(Total((ENGLAND_CODE, column), tuple((code, column) for code in region_codes)))
    if england_missing:
        notes.append(
            f"England total not published (x): {len(england_missing)} of {len(geographies.authorities)} authorities "
            f"have no accepted return for {month_words(month)}."
        )

    try:
        cells = publishable_cells(
            counts,
            totals,
            catalogue.pairs,
            catalogue.derived,
            rounded={ENGLAND_CODE, *region_codes},
            earlier=earlier,
            withheld=withheld,
        )
    except UnprotectableTotal as exc:  # blocks the release: nothing of the month is built
        return MonthRelease([], notes, [*problems, f"{month}: {exc}"], pd.DataFrame(columns=list(DISCLOSED_COLUMNS)))

    year, month_name = time_identifiers(month)
    time = {"time_period": year, "time_identifier": month_name}
    rows = [
        {**time, **identity, **dict(zip(catalogue.indicators, cells_of(cells)))}
        for (_, identity), cells_of in zip(geographies.identities, geographies.cells_of_rows)
    ]
    disclosed = [
        (code, column, value, is_number(cells[(code, column)]))
        for (code, column), value in counts.items()
        if value is not None
    ]
    return MonthRelease(rows, notes, problems, pd.DataFrame(disclosed, columns=list(DISCLOSED_COLUMNS)))


def _getter(keys: list[Cell]) -> Callable[[Mapping[Cell, str]], tuple[str, ...]]:
    """What takes these cells, in order, as a tuple (`itemgetter` gives one key's value bare)."""
    if len(keys) == 1:
        return lambda cells: (cells[keys[0]],)
    return itemgetter(*keys)


def _figures(values: list) -> list[int | None]:
    """Warehouse figures are DOUBLE; published counts are whole numbers, blanks are not available."""
    return [None if value is None or value is pd.NA or value != value else round(value) for value in values]


def _names(names: list[str], shown: int = 5) -> str:
    return ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")
