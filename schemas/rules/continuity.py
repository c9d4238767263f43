"""Continuity: month-on-month movement within what the authority's own history makes likely."""

from schemas.findings import WARNING
from schemas.rules.kinds import FlowOutlier, StockJump
from schemas.rules.rule import Rule

FAMILY = "continuity"
DESCRIPTION = "Month-on-month movement is within what the authority's own history makes likely."

STOCKS_MOVE = StockJump(share=0.20, minimum=10)
FLOWS_STAY = FlowOutlier(factor=2.5, months=12, min_months=6, min_difference=10)

RULES = [
    Rule(
        "stock_jump",
        FAMILY,
        WARNING,
        f"A stock moves by no more than {STOCKS_MOVE.share:.0%} (and {STOCKS_MOVE.minimum} children) month on month.",
        f"|stock(m) - stock(m-1)| <= max({STOCKS_MOVE.share:.0%} x stock(m-1), {STOCKS_MOVE.minimum})",
        "{column} moved from {expected} to {value} in a month",
        STOCKS_MOVE,
    ),
    Rule(
        "flow_outlier",
        FAMILY,
        WARNING,
        f"A monthly flow stays within {FLOWS_STAY.factor:g} times (either way) of the median of the authority's "
        f"previous {FLOWS_STAY.months} months held (at least {FLOWS_STAY.min_months} months, and "
        f"{FLOWS_STAY.min_difference} cases apart).",
        f"median/{FLOWS_STAY.factor:g} <= flow(m) <= {FLOWS_STAY.factor:g} x median(flow(m-{FLOWS_STAY.months}..m-1))",
        "{column} is {value}, far from its usual {expected} a month ({detail})",
        FLOWS_STAY,
    ),
]
