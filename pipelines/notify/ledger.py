"""Each run is told once, whatever restarts: `<home>/notifications/<run id>.json`.

Before sending, a process claims the run by creating its file exclusively (O_EXCL): the daemon's
sensor after a restart, a second sensor tick, or `csc-returns run` beside a running daemon find it
taken and send nothing. After sending, the file records when and what each channel answered. A
process killed between the claim and the end has sent at most once (never twice).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path

from pipelines.home import DataHome
from pipelines.home.durable import write_durably

_RUN_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def sent_folder(home: DataHome) -> Path:
    return home.root / "notifications"


def claim(home: DataHome, run_id: str) -> Path | None:
    """The run's record, newly claimed by this process; None when the run was told already."""
    if not _RUN_ID.match(run_id):
        raise ValueError(f"not a run id: {run_id!r}")
    folder = sent_folder(home)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{run_id}.json"
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return None
    os.close(descriptor)
    return path


def record(path: Path, subject: str, outcomes: dict[str, str]) -> None:
    """What each channel answered, beside the claim."""
    sent_at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    data = {"sent_at": sent_at, "subject": subject, "channels": outcomes}
    write_durably(path, json.dumps(data, indent=2).encode())


def told(home: DataHome, run_id: str) -> dict | None:
    """The record of what was sent for `run_id` (None: nothing yet)."""
    path = sent_folder(home) / f"{run_id}.json"
    if not _RUN_ID.match(run_id) or not path.is_file():
        return None
    text = path.read_text(encoding="utf-8")
    return json.loads(text) if text else {}
