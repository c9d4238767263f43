"""The home's settings for returns derived from child-level records, from `<home>/child-level.toml`
(a home's settings are TOML files in the home, as `notify.toml` is; defaults when absent):

```toml
retention_days = 730     # child-level records purged after this many days (unset: never; steps/retention.py)

[reconciliation]
publish = "typed"        # or "derived": which return is published where an authority-month has both

[reconciliation.tolerance]
cla = { absolute = 2 }                      # within 2 children: a warning, not an error
contacts = { absolute = 5, relative = 0.01 } # within 5 or within 1% of the derived count
```

Each figure's tolerance is absolute and relative (a difference within either is a warning; beyond
both an error); a figure not named is exact. With `publish = "typed"` (the default) a typed return
with an unwaived difference beyond its tolerance is held back; with `"derived"` the derived return
is published and each difference is a warning on it. A mistake is one line naming the file.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.derive.reconcile import SOURCES, Tolerance
from pipelines.home import DataHome

SETTINGS_FILE = "child-level.toml"
TYPED, DERIVED = "typed", "derived"
RETENTION = "retention_days"


class ChildLevelSettingsError(ValueError):
    """A mistake in child-level.toml, in one line."""


@dataclass(frozen=True)
class ReconciliationSettings:
    tolerances: Mapping[str, Tolerance] = field(default_factory=dict)
    publish: str = TYPED

    @property
    def derived_published(self) -> bool:
        return self.publish == DERIVED


def settings_path(home: DataHome) -> Path:
    return home.root / SETTINGS_FILE


def _settings(home: DataHome) -> dict:
    """The parsed file ({} without it): the one reader of child-level.toml."""
    path = settings_path(home)
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ChildLevelSettingsError(f"{path}: not valid TOML ({str(exc).splitlines()[0]})") from None


def retention_days(home: DataHome) -> int | None:
    """The home's retention period of child-level records in days; None when it sets none."""
    days = _settings(home).get(RETENTION)
    if days is None:
        return None
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ChildLevelSettingsError(
            f"{settings_path(home)}: {RETENTION} must be a whole number of days, 1 or more (not {days!r})"
        )
    return days


def reconciliation_settings(home: DataHome) -> ReconciliationSettings:
    """The home's reconciliation settings; the defaults (typed published, every figure exact) without the file."""
    path = settings_path(home)
    data = _settings(home)
    section = data.get("reconciliation", {})
    if not isinstance(section, dict):
        raise ChildLevelSettingsError(f"{path}: [reconciliation] must be a table")
    publish = section.get("publish", TYPED)
    if publish not in (TYPED, DERIVED):
        raise ChildLevelSettingsError(
            f"{path}: reconciliation.publish must be {TYPED!r} or {DERIVED!r}, not {publish!r}"
        )
    given = section.get("tolerance", {})
    if not isinstance(given, dict):
        raise ChildLevelSettingsError(f"{path}: [reconciliation.tolerance] must be a table")
    return ReconciliationSettings({figure: _tolerance(path, figure, entry) for figure, entry in given.items()}, publish)


def _tolerance(path: Path, figure: str, entry: object) -> Tolerance:
    where = f"{path}: reconciliation.tolerance.{figure}"
    if figure not in SOURCES:
        raise ChildLevelSettingsError(f"{where}: not a count the lists give (one of {', '.join(SOURCES)})")
    if not isinstance(entry, dict) or not set(entry) <= {"absolute", "relative"} or not entry:
        raise ChildLevelSettingsError(f"{where}: must be {{ absolute = N, relative = SHARE }} (either or both)")
    values = {}
    for name, value in entry.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ChildLevelSettingsError(f"{where}: {name} must be a number, 0 or more (not {value!r})")
        values[name] = float(value)
    if values.get("relative", 0.0) >= 1:
        raise ChildLevelSettingsError(f"{where}: relative is a share of the derived count (0.01 is 1%), below 1")
    return Tolerance(**values)
