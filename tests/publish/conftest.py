from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.home import DataHome

from .synthetic import NORTH_WEST, make_home, register_of


@pytest.fixture
def north_west_home(tmp_path: Path) -> DataHome:
    """A data home whose register is the North West's 24 authorities (synthetic figures added per test)."""
    return make_home(tmp_path, register_of([NORTH_WEST]))
