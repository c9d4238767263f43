"""Child IDs as keyed pseudonyms: the home's key made once, owner-only, possibly outside the home."""

from __future__ import annotations

import os
import stat

import pandas as pd
import pytest

from pipelines.home import DataHome
from pipelines.ingest.pseudonyms import KeyUnsafe, ephemeral_key, home_key, pseudonyms


def test_the_home_key_is_made_on_first_use_owner_only_and_kept(tmp_path):
    home = DataHome(tmp_path / "home")
    key = home_key(home)
    assert stat.S_IMODE(home.child_level_key.stat().st_mode) == 0o600
    assert stat.S_IMODE(home.child_level_key.parent.stat().st_mode) == 0o700
    assert home_key(home) == key and len(key) == 32


def test_the_key_may_live_outside_the_home(tmp_path):
    home = DataHome(tmp_path / "home")
    outside = tmp_path / "secrets" / "csc.key"
    key = home_key(home, outside)
    assert outside.exists() and not home.child_level_key.exists()
    assert home_key(home, outside) == key


def test_a_key_others_can_read_is_refused_in_one_line(tmp_path):
    home = DataHome(tmp_path / "home")
    home_key(home)
    os.chmod(home.child_level_key, 0o644)
    with pytest.raises(KeyUnsafe, match="chmod 600"):
        home_key(home)


def test_a_pseudonym_depends_on_the_key_and_the_authority_and_hides_the_id():
    ids = pd.Series(["9212044", "9212044", "0012", None], dtype="string")
    key = ephemeral_key()
    first = pseudonyms(key, "E06000009", ids)
    assert first[0] == first[1] and first[0] != first[2] and pd.isna(first[3])
    assert pseudonyms(key, "E06000009", ids).equals(first)
    assert pseudonyms(key, "E06000006", ids)[0] != first[0]
    assert pseudonyms(ephemeral_key(), "E06000009", ids)[0] != first[0]
    assert "9212044" not in "".join(first.dropna())
