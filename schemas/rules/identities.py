"""Every identity the published figures obey, declared once: what disclosure control and the
attacker's audit (`pipelines/publish/audit.py`) read.

Two sources, one list (`declared_identities`):

- the identities the rule book's checks hold the figures to (each kind's `identities()`: rates
  and percentages as ratios, parts within wholes, rolling twelve-month sums);
- the identities the figures obey by what they are, which no rule of a return checks on its own
  (they span authorities or months a single return may not hold): regional and England totals
  are sums, children looked after move by those who started and ceased, child protection plans
  rise by no more than the plans started (no plans-ended figure is returned), counts are never
  negative.

Each is exact. Real figures that break one (a late-recorded start, a child counted twice) do not
stop anything: the audit uses such an instance only as far as the figures are consistent with it.
"""

from __future__ import annotations

from functools import cache

from schemas.catalogue import load_catalogue
from schemas.rules.kinds.base import (
    AtMost,
    Identity,
    NonNegative,
    Ratio,
    RollingSum,
    StockAndFlow,
    StockWithinInflow,
    SumOverGeographies,
)
from schemas.rules.registry import RULE_LIST

# By what the figures are (return standard: stocks at the end of the month, flows in the month).
STOCK_AND_FLOWS = (StockAndFlow("cla", "cla_started", "cla_ceased"),)
STOCKS_WITHIN_INFLOWS = (StockWithinInflow("cp_plans", "cp_plans_started"),)


def _counts() -> tuple[str, ...]:
    return tuple(i.column for i in load_catalogue() if i.is_count)


@cache
def _declared(catalogue: object) -> tuple[Identity, ...]:
    from_rules = [identity for rule in RULE_LIST for identity in rule.kind.identities()]
    known = set(_counts())
    by_nature: list[Identity] = [
        SumOverGeographies(_counts()),
        *(i for i in STOCK_AND_FLOWS if {i.stock, i.inflow, i.outflow} <= known),
        *(i for i in STOCKS_WITHIN_INFLOWS if {i.stock, i.inflow} <= known),
        NonNegative(_counts()),
    ]
    return tuple(dict.fromkeys([*from_rules, *by_nature]))


def declared_identities() -> tuple[Identity, ...]:
    """Every declared identity, the rule book's first (in its order), for the catalogue in force."""
    return _declared(load_catalogue())


def rolling_sums() -> tuple[RollingSum, ...]:
    return tuple(i for i in declared_identities() if isinstance(i, RollingSum))


def ratios() -> tuple[Ratio, ...]:
    return tuple(i for i in declared_identities() if isinstance(i, Ratio))


def parts_within_wholes() -> tuple[AtMost, ...]:
    return tuple(i for i in declared_identities() if isinstance(i, AtMost))


def stock_and_flows() -> tuple[StockAndFlow, ...]:
    return tuple(i for i in declared_identities() if isinstance(i, StockAndFlow))


def stocks_within_inflows() -> tuple[StockWithinInflow, ...]:
    return tuple(i for i in declared_identities() if isinstance(i, StockWithinInflow))


def additive_columns() -> tuple[str, ...]:
    """The columns whose regional and England figures are sums of their parts."""
    return tuple(c for i in declared_identities() if isinstance(i, SumOverGeographies) for c in i.columns)


def part_of() -> dict[str, str]:
    """Each part's whole, from the parts-within-wholes declarations (a sum of parts within a whole
    puts each part within it: counts are never negative), in catalogue order of the parts."""
    wholes: dict[str, str] = {}
    for identity in parts_within_wholes():
        for part in identity.parts:
            wholes.setdefault(part, identity.whole)
    order = {i.column: k for k, i in enumerate(load_catalogue())}
    return dict(sorted(wholes.items(), key=lambda item: order.get(item[0], len(order))))
