"""What `csc-returns demo` may empty: only a folder it made itself, and never all of it.

The demo writes a fresh home every time, so it deletes what an earlier demo left. It must never
delete data it did not make: it writes only into a missing or empty folder, or into one carrying
its marker (`DEMO_MARKER`). Even there it keeps the writer lock it holds while emptying, and the
home's Dagster instance (run history; `csc-returns dev` may have it open).
"""

from __future__ import annotations

import shutil

from pipelines.home import DataHome
from pipelines.home.lock import LOCK_FILE

# `demo` empties only a folder it made itself: this file marks one.
DEMO_MARKER = ".csc-demo-home"
MARKER_TEXT = "made by `csc-returns demo`: the next `demo` may empty this folder\n"


class NotADemoHome(ValueError):
    """A folder `demo` must not write into; the message is one line and says nothing was deleted."""


def kept_by_demo(home: DataHome) -> set[str]:
    """What `demo` never deletes, not even in its own home: the writer lock it holds, and the home's
    Dagster instance."""
    return {LOCK_FILE, home.instance.name}


def not_a_demo_home(home: DataHome) -> str:
    """Why `demo` must not write into `home`; empty when it may."""
    if not home.root.is_dir():
        return "not a folder" if home.root.exists() else ""
    if (home.root / DEMO_MARKER).is_file():
        return ""
    contents = sorted(p.name for p in home.root.iterdir() if p.name not in kept_by_demo(home))
    if contents:
        return (
            f"not empty ({', '.join(contents[:3])}{', ...' if len(contents) > 3 else ''}) and not a demo "
            f"home made by `csc-returns demo`"
        )
    return ""


def empty_demo_home(home: DataHome) -> None:
    """Delete everything `demo` made in its home, but what it keeps (`kept_by_demo`)."""
    home.root.mkdir(parents=True, exist_ok=True)
    for path in home.root.iterdir():
        if path.name in kept_by_demo(home):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


def fresh_demo_home(home: DataHome) -> DataHome:
    """`home` emptied, marked as the demo's and given its folders; NotADemoHome, with nothing deleted,
    when it holds anything the demo did not make."""
    problem = not_a_demo_home(home)
    if problem:
        raise NotADemoHome(f"{home.root}: {problem}; nothing deleted (give another --home, or an empty folder)")
    empty_demo_home(home)
    (home.root / DEMO_MARKER).write_text(MARKER_TEXT, encoding="utf-8")
    return home.ensure()
