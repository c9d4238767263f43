"""pandera's pandas API without `hypothesis`, its data-synthesis extra (about 0.1 s to import).

pandera imports hypothesis whenever it is installed (the test extras install it) to offer
strategies we never use. Importing pandera's strategy module once with hypothesis hidden makes
pandera take its "not installed" branch; hypothesis stays importable for everything else.
"""

from __future__ import annotations

import sys


def _hide_hypothesis_from_pandera() -> None:
    if "pandera.strategies.base_strategies" in sys.modules or "hypothesis" in sys.modules:
        return  # decided already, or hypothesis is loaded anyway: nothing to save
    sys.modules["hypothesis"] = None  # type: ignore[assignment]  # an import of it raises ImportError
    try:
        import pandera.strategies.base_strategies  # noqa: F401 - records HAS_HYPOTHESIS = False
    finally:
        del sys.modules["hypothesis"]


_hide_hypothesis_from_pandera()

import pandera.errors as errors  # noqa: E402
import pandera.pandas as pa  # noqa: E402

__all__ = ["errors", "pa"]
