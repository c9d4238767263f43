"""The process of a run over a range of months (Dagster's own command line, `dg launch`), started
before the range is known, and before the command that needs it has loaded anything itself.

`csc-returns run` starts it first thing (`start_ahead`, from the command line's entry point, with
nothing but the standard library loaded): while the command loads its own modules and archives the
landing folder, this process loads Dagster, its command line, the code location and the validation
engine (Great Expectations, the longest of them). The run's environment and the arguments of
`dg launch` then arrive as one JSON line on standard input; an empty line, or none: no run, and the
process ends.

    python -m pipelines.orchestration.launcher < '{"environment": {...}, "arguments": ["launch", ...]}'

Once `dg` returns, its run recorded and its storage closed, the process ends at once with `dg`'s status:
the interpreter's teardown of every module Dagster loaded took over a second, with nothing left to write.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

# Where it runs: the folder holding the code location's packages, so that `-m pipelines...` imports
# ours, never a same-named module of the caller's folder.
CODE_ROOT = Path(__file__).resolve().parents[2]

_ahead: subprocess.Popen[str] | None = None  # started by `start_ahead`, taken by the run (`take_ahead`)


def start() -> subprocess.Popen[str]:
    """A launcher, loading now; it learns its run's environment and arguments from `send`. It
    inherits this process's environment only to load the code location (which reads its settings
    as it loads): the run's own comes with the arguments."""
    return subprocess.Popen(
        [sys.executable, "-m", "pipelines.orchestration.launcher"],
        cwd=CODE_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def send(launcher: subprocess.Popen[str], environment: Mapping[str, str], arguments: Sequence[str]) -> None:
    """Hand `launcher` its run: the whole environment of the run and the arguments of `dg`."""
    assert launcher.stdin is not None  # a pipe: `start`
    launcher.stdin.write(json.dumps({"environment": dict(environment), "arguments": list(arguments)}) + "\n")
    launcher.stdin.flush()  # one line is all it reads (the caller closes the pipe when it waits)


def runs_the_landing_folder(argv: Sequence[str]) -> bool:
    """Whether the command line `argv` is `run` over what has landed (no `--month`, no `--help`): the
    one command that may launch a range. A guess from the words alone, before the parser is
    loaded: a wrong guess only starts a launcher the run dismisses, or leaves the run to start one."""
    words = list(argv)
    position = 0
    while position < len(words) and words[position].startswith("-"):
        position += 2 if words[position] == "--home" else 1  # the one global option taking a value apart
    if position >= len(words) or words[position] != "run":
        return False
    options = words[position + 1 :]
    return not any(word in ("-h", "--help", "--month") or word.startswith("--month=") for word in options)


def start_ahead(argv: Sequence[str]) -> None:
    """At the command line's entry: start a launcher now if the command is a run of the landing folder."""
    global _ahead
    if _ahead is None and runs_the_landing_folder(argv):
        _ahead = start()


def take_ahead() -> subprocess.Popen[str] | None:
    """The launcher `start_ahead` started, if it did and it is still loading or waiting (once)."""
    global _ahead
    launcher, _ahead = _ahead, None
    if launcher is not None and launcher.poll() is not None:
        launcher.communicate()  # it ended (it could not load): a fresh one says why
        return None
    return launcher


def dismiss(launcher: subprocess.Popen[str] | None) -> None:
    """End a launcher that will run nothing (it has written nothing: stopped at once, not waited for)."""
    if launcher is not None and launcher.poll() is None:
        launcher.kill()
        launcher.communicate()


def dismiss_ahead() -> None:
    """End the launcher `start_ahead` started if no run took it (the command stopped before its run)."""
    dismiss(take_ahead())


def main() -> None:
    from pipelines.collector import collect_less, loading

    with loading():
        from dagster_dg_cli.cli import main as dg  # the `dg` command's own entry point

        import pipelines.orchestration.definitions  # noqa: F401  (the code location, loaded ahead of need)
        from pipelines.home import environment
        from pipelines.steps.monthly import load_validation_engine

        load_validation_engine()  # what the run's first step loads first (seconds: Great Expectations)
    collect_less()
    line = sys.stdin.readline()
    if not line.strip():
        return
    run = json.loads(line)
    environment.adopt(run["environment"])
    sys.argv = ["dg", *run["arguments"]]
    try:
        dg()
        status = 0
    except SystemExit as ended:
        status = ended.code if isinstance(ended.code, int) else 0 if ended.code is None else 1
        if not isinstance(ended.code, int | None):
            print(ended.code, file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


if __name__ == "__main__":
    main()
