"""What a message says of a run: its months, the returns held back with each one's failing rule
and column and the UI's page of the failing check, what was published or refused, a failure.

Never a figure: the held-back lines are built from rule ids, columns and authority codes only, and
a failure names its step, not its error text (which may quote a figure). Text that came from a
return (an authority code, a column) is stripped of line breaks and control characters (no header
or line injection) and, in the webhook's markdown, escaped (no links, mentions or formatting).
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field

from pipelines.shown import markdown_text, one_line
from schemas.rules import checked_asset


@dataclass(frozen=True)
class HeldBack:
    month: str
    la_code: str
    rule: str
    column: str | None
    check: str  # the rule family's check, e.g. consistency_rules


@dataclass(frozen=True)
class RunOutcome:
    """A run's end, as the UI records it."""

    run_id: str
    job: str
    months: tuple[str, ...]
    succeeded: bool
    published: tuple[str, ...] = ()
    failed_step: str | None = None  # the first failed step, when the run failed
    held_back: tuple[HeldBack, ...] = field(default_factory=tuple)

    @property
    def refused(self) -> bool:
        """A release refused: the run failed in publishing or its screen."""
        return not self.succeeded and self.failed_step in ("open_data_release", "release_screen")

    @property
    def worth_telling(self) -> bool:
        return bool(self.held_back or self.published or not self.succeeded)


@dataclass(frozen=True)
class Message:
    subject: str
    lines: tuple[str, ...]  # plain text, one item each

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def check_url(ui_url: str, check: str) -> str:
    """The UI's page of a rule family's check (`<family>_rules`: on received_returns, or derived_months)."""
    asset = checked_asset(check.removesuffix("_rules"))
    return f"{ui_url}/assets/{asset}?view=checks&checkDetail={urllib.parse.quote(check)}"


def compose(outcome: RunOutcome, ui_url: str, held_back: tuple[HeldBack, ...] | None = None) -> Message:
    """The message of `outcome`, naming `held_back` (default: every return the run held back)."""
    held = outcome.held_back if held_back is None else held_back
    months = ", ".join(outcome.months) or "no month"
    said: list[str] = []
    if held:
        said.append(f"{len(held)} return(s) held back")
    if outcome.published:
        said.append(f"published {', '.join(outcome.published)}")
    if outcome.refused:
        said.append("release refused")
    elif not outcome.succeeded:
        said.append("run failed")
    subject = one_line(f"csc-returns {months}: {'; '.join(said) or 'run ended'}")
    lines = [subject, f"Month(s): {months}"]
    if held:
        lines.append("Held back (not published until corrected or waived):")
        lines += [
            f"- {one_line(h.month)} {one_line(h.la_code)}: rule {one_line(h.rule)}"
            f"{f' [{one_line(h.column)}]' if h.column else ' (no column)'}: {check_url(ui_url, h.check)}"
            for h in held
        ]
    if outcome.published:
        lines.append(f"Published: {', '.join(outcome.published)}")
    if not outcome.succeeded:
        what = "The release was refused" if outcome.refused else "The run failed"
        lines.append(f"{what} at step {one_line(outcome.failed_step or 'unknown')}: its log is in the UI.")
    lines.append(f"Run {outcome.run_id} ({outcome.job}): {ui_url}/runs/{urllib.parse.quote(outcome.run_id)}")
    return Message(subject=subject, lines=tuple(lines))


def webhook_text(message: Message, ui_url: str) -> str:
    """The message as markdown for an incoming webhook: every word escaped but the UI's own links
    (a word from a return that looks like a link is escaped like any other)."""
    escaped = []
    for line in message.lines:
        words = line.split(" ")
        escaped.append(" ".join(w if w.startswith(f"{ui_url}/") else markdown_text(w) for w in words))
    return "\n\n".join(escaped)
