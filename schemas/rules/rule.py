"""A rule as a declaration: what it says to a steward and the kind of check that decides it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from schemas.rules.kinds.base import Kind


@dataclass(frozen=True)
class Rule:
    """One rule of the rule book, declared once.

    `message` is a `str.format` template over the finding's fields (`{column}`, `{value}`,
    `{expected}`, `{detail}`; `{message}` for the reader's own words); `expected` is what a cell
    rule says it expected, `example` a mistake it catches. `kind` decides it: an instance of a
    kind class holding that kind's parameters (`schemas/rules/kinds/`).
    """

    id: str
    family: str
    severity: str
    summary: str
    formula: str
    message: str
    kind: Kind
    expected: str | None = None
    example: str | None = None
