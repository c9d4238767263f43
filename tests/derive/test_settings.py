"""The home's reconciliation settings in `<home>/child-level.toml`: defaults, tolerances, mistakes in one line."""

from __future__ import annotations

import pytest

from pipelines.derive.reconcile import Tolerance
from pipelines.derive.settings import ChildLevelSettingsError, reconciliation_settings
from pipelines.home import DataHome


def _home(tmp_path, text: str | None) -> DataHome:
    home = DataHome(tmp_path / "home").ensure()
    if text is not None:
        (home.root / "child-level.toml").write_text(text, encoding="utf-8")
    return home


def test_without_the_file_typed_is_published_and_every_figure_is_exact(tmp_path):
    settings = reconciliation_settings(_home(tmp_path, None))
    assert (settings.publish, dict(settings.tolerances), settings.derived_published) == ("typed", {}, False)


def test_tolerances_and_the_published_return_are_read_beside_other_settings(tmp_path):
    text = (
        "retention_days = 730\n"  # the purge's setting lives in the same file
        '[reconciliation]\npublish = "derived"\n'
        "[reconciliation.tolerance]\ncla = { absolute = 2 }\ncontacts = { absolute = 5, relative = 0.01 }\n"
    )
    settings = reconciliation_settings(_home(tmp_path, text))
    assert settings.derived_published
    assert settings.tolerances == {"cla": Tolerance(2.0, 0.0), "contacts": Tolerance(5.0, 0.01)}
    assert settings.tolerances["contacts"].allows(1010, 1000) and not settings.tolerances["cla"].allows(540, 537)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ('[reconciliation]\npublish = "both"\n', "reconciliation.publish must be 'typed' or 'derived'"),
        ("[reconciliation.tolerance]\ncla_rate = { absolute = 1 }\n", "reconciliation.tolerance.cla_rate: not a count"),
        ("[reconciliation.tolerance]\ncla = { absolute = -1 }\n", "absolute must be a number, 0 or more"),
        ("[reconciliation.tolerance]\ncla = { relative = 5 }\n", "relative is a share"),
        ("[reconciliation.tolerance]\ncla = { within = 1 }\n", "must be { absolute = N, relative = SHARE }"),
        ("[reconciliation\n", "not valid TOML"),
    ],
)
def test_a_mistake_is_one_line_naming_the_file(tmp_path, text, said):
    with pytest.raises(ChildLevelSettingsError) as raised:
        reconciliation_settings(_home(tmp_path, text))
    message = str(raised.value)
    assert said in message and "child-level.toml" in message and "\n" not in message


@pytest.mark.xdist_group("dagster")
def test_a_run_with_a_mistaken_settings_file_fails_saying_the_mistake_without_a_traceback(tmp_path, capsys):
    from pipelines.cli import main

    home = _home(tmp_path, '[reconciliation]\npublish = "both"\n')
    assert main(["--home", str(home.root), "run", "--month", "2024-01"]) != 0
    err = capsys.readouterr().err
    assert "reconciliation.publish must be 'typed' or 'derived', not 'both'" in err and "Traceback" not in err
