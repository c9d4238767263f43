"""The command line is a thin edge: it calls the steps (never a stage), uses argparse by its public
API only, reads the environment once for the home and never writes it, and every command that
writes the data home takes `--wait` and the home's writer lock while every other command waits
for nothing."""

from __future__ import annotations

import ast
import contextlib
import io
import os
import re
import sys
import time

import pytest

from pipelines.cli import main
from pipelines.cli.commands import build_parser
from pipelines.exit_codes import LOCKED, USAGE
from pipelines.home import DataHome
from tests.conftest import REPO, hold_writer_lock, write_return

CLI = REPO / "pipelines" / "cli"
# What the command line may import of the project: the steps, the runner, the process it starts ahead
# and its progress display (`run`, `demo`, `dev`), how its process treats Python's collector, the data home and its lock, the demo, the exit codes, how text is shown, and the catalogue it
# checks at start-up. Never a stage (ingest, validate, store, publish, scorecard) nor the reference module.
ALLOWED = (
    "pipelines.cli",
    "pipelines.steps",
    "pipelines.orchestration.runner",
    "pipelines.orchestration.launcher",
    "pipelines.orchestration.progress",
    "pipelines.collector",
    "pipelines.home",
    "pipelines.demo",
    "pipelines.exit_codes",
    "pipelines.shown",
    "schemas.catalogue",
)
# Every command, as written on the command line: whether it writes the data home, and arguments
# that make it run (on a new home) when nothing stops it.
WRITES = {
    "run": [],
    "reference import": ["register.csv"],
    "demo": [],
    "purge": [],
    "child-lookup": ["--pseudonym", "0" * 32, "--who", "x", "--reason", "y"],
    "waive": ["--rule", "r", "--la-code", "E06000001", "--month", "2024-06", "--reason", "x", "--who", "y"],
    "waive revoke": ["1", "--reason", "x", "--who", "y"],
}
READS = {
    "validate": ["{return}"],
    "status": [],
    "findings": ["--month", "2024-06"],
    "waive list": [],
    "private": [],
}
STARTS_ANOTHER_PROGRAM = {"dev", "serve"}  # `dagster dev`, the reports server: they run until stopped, not here


def _imports(path):
    """(line, module, names) of every import in a file, inside functions too."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.lineno, node.module


def test_the_command_line_calls_the_steps_never_a_stage():
    wrong = []
    for path in sorted(CLI.rglob("*.py")):
        for line, module in _imports(path):
            top = module.split(".")[0]
            ours = top in ("pipelines", "schemas", "assets")
            if (ours and not module.startswith(ALLOWED)) or (not ours and top not in sys.stdlib_module_names):
                wrong.append(f"{path.relative_to(REPO)}:{line} imports {module}")
    assert wrong == []


def test_no_private_name_of_argparse_or_any_other_module_is_used():
    """`parser._actions`, `argparse._SubParsersAction` and the like break on a Python upgrade."""
    private = [
        f"{path.relative_to(REPO)}:{node.lineno} uses .{node.attr}"
        for path in sorted(CLI.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
    ]
    assert private == []


def _subcommands(*command: str) -> list[str]:
    """The subcommands `csc-returns COMMAND --help` lists (`{a,b,c} ...` in its usage)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        build_parser().parse_args([*command, "--help"])
    usage = out.getvalue().split("\n\n")[0]
    found = re.findall(r"\{([a-z,-]+)\}\s+\.\.\.", usage)  # argparse may wrap before the "..."
    return found[0].split(",") if found else []


def test_every_command_is_known_to_write_the_home_or_not():
    commands = []
    for name in _subcommands():
        subcommands = _subcommands(name)
        # A group such as `reference` is no command itself; `waive` is one and has subcommands.
        if name != "reference":
            commands.append(name)
        commands += [f"{name} {sub}" for sub in subcommands]
    assert sorted(commands) == sorted([*WRITES, *READS, *STARTS_ANOTHER_PROGRAM])


@pytest.fixture
def held_home(tmp_path, example_rows):
    """A new data home whose writer lock another process holds, and a return to validate."""
    home = DataHome(tmp_path / "home").ensure()
    path = write_return(tmp_path / "return.csv", example_rows)
    holder = hold_writer_lock(home, 120)
    yield home, path
    holder.kill()
    holder.wait()


def _cli(home: DataHome, command: str, arguments: list[str], capsys) -> tuple[int, str, str, float]:
    started = time.monotonic()
    status = main(["--home", str(home.root), *command.split(), *arguments])
    captured = capsys.readouterr()
    return status, captured.out, captured.err, time.monotonic() - started


@pytest.mark.parametrize("command", sorted(WRITES))
def test_a_writing_command_takes_wait_and_gives_up_on_a_held_home_with_exit_75(held_home, command, capsys):
    home, _ = held_home
    before = sorted(p.relative_to(home.root) for p in home.root.rglob("*"))
    status, out, err, seconds = _cli(home, command, [*WRITES[command], "--wait", "0.3"], capsys)
    assert status == LOCKED and out == "" and seconds < 10
    assert "still held by the run in process" in err.strip().splitlines()[-1]
    assert sorted(p.relative_to(home.root) for p in home.root.rglob("*")) == before  # nothing written


@pytest.mark.parametrize("command", sorted(READS))
def test_a_reading_command_takes_no_wait_and_never_waits_for_the_writer(held_home, command, capsys):
    home, path = held_home
    arguments = [str(path) if a == "{return}" else a for a in READS[command]]
    with pytest.raises(SystemExit) as refused:
        main(["--home", str(home.root), *command.split(), *arguments, "--wait", "1"])
    assert refused.value.code == USAGE and "unrecognized arguments: --wait" in capsys.readouterr().err

    status, out, err, seconds = _cli(home, command, arguments, capsys)
    assert status in (0, 1) and "waiting for" not in err and out
    assert seconds < 30


def test_the_home_is_read_once_from_home_or_csc_home_and_the_environment_is_left_alone(tmp_path, monkeypatch, capsys):
    """`main` reads `--home`, else $CSC_HOME, and hands the home on as a value: it writes nothing
    into the environment for the code that runs after it."""
    from_environment = DataHome(tmp_path / "from-the-environment").ensure()
    (from_environment.landing / "SYNTHETIC-landed.csv").write_text("la_code,period\n", encoding="utf-8")
    given = DataHome(tmp_path / "given")
    monkeypatch.setenv("CSC_HOME", str(from_environment.root))
    before = dict(os.environ)

    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"nothing has been run in {from_environment.root} yet") and "SYNTHETIC-landed.csv" in out
    assert main(["--home", str(given.root), "status"]) == 0
    assert capsys.readouterr().out.startswith(f"nothing has been run in {given.root} yet")
    assert dict(os.environ) == before
