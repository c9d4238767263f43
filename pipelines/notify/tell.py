"""A run's outcome to every channel that wants it, once per run."""

from __future__ import annotations

from collections.abc import Callable

from pipelines.home import DataHome
from pipelines.notify import ledger
from pipelines.notify.message import RunOutcome, compose
from pipelines.notify.send import send
from pipelines.notify.settings import NotifySettings, NotifySettingsError, load_settings


def tell(
    home: DataHome,
    outcome: RunOutcome,
    ui_url: str,
    log: Callable[[str], None],
    settings: NotifySettings | None = None,
) -> dict[str, str]:
    """Send the run's message to the home's channels, unless the run was told already; what each
    channel answered (logged one line each, never raised)."""
    try:
        settings = settings if settings is not None else load_settings(home)
    except NotifySettingsError as exc:
        log(f"no notification for run {outcome.run_id}: {exc}")
        return {}
    if not settings.channels or not outcome.worth_telling:
        return {}
    claimed = ledger.claim(home, outcome.run_id)
    if claimed is None:
        return {}  # told already (a restart, another process)
    answers: dict[str, str] = {}
    message = compose(outcome, ui_url)
    for channel in settings.channels:
        if channel.authorities:
            # Routed: only this channel's authorities' held-back returns, nothing else of the run.
            held = tuple(h for h in outcome.held_back if channel.wants(h.la_code))
            if not held:
                continue
            answer = send(channel, compose(outcome, ui_url, held), ui_url)
        else:
            answer = send(channel, message, ui_url)
        answers[channel.name] = answer
        log(f"notification of run {outcome.run_id} {answer} ({channel.name})")
    ledger.record(claimed, message.subject, answers)
    return answers
