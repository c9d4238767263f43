"""The channels of a home, from `<home>/notify.toml` (none when the file is absent).

```toml
[[channel]]
kind = "email"                    # SMTP, plain or STARTTLS (an internal relay: no password kept here)
host = "smtp.example.org"
port = 25
starttls = false
sender = "csc-returns@example.org"
to = ["stewards@example.org"]

[[channel]]
kind = "webhook"                  # Teams or Slack incoming webhook: JSON {"text": ...}
url = "https://example.webhook.office.com/..."
authorities = ["E06000006"]       # optional: only news of these authorities goes here
```

A mistake in the file is one line naming the file and the channel (`NotifySettingsError`).
"""

from __future__ import annotations

import re
import tomllib
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.home import DataHome

SETTINGS_FILE = "notify.toml"
EMAIL, WEBHOOK = "email", "webhook"
_ADDRESS = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+$")


class NotifySettingsError(ValueError):
    """A mistake in notify.toml, in one line."""


@dataclass(frozen=True)
class Channel:
    kind: str
    name: str
    authorities: frozenset[str] = frozenset()  # empty: every authority, and news of the run itself
    host: str = ""
    port: int = 25
    starttls: bool = False
    sender: str = ""
    to: tuple[str, ...] = ()
    url: str = ""

    def wants(self, la_code: str) -> bool:
        return not self.authorities or la_code in self.authorities


@dataclass(frozen=True)
class NotifySettings:
    channels: tuple[Channel, ...] = field(default_factory=tuple)


def settings_file(home: DataHome) -> Path:
    return home.root / SETTINGS_FILE


def load_settings(home: DataHome) -> NotifySettings:
    """The home's channels; none when `<home>/notify.toml` does not exist."""
    path = settings_file(home)
    if not path.is_file():
        return NotifySettings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise NotifySettingsError(f"{path}: not valid TOML ({str(exc).splitlines()[0]})") from None
    channels = data.get("channel", [])
    if not isinstance(channels, list):
        raise NotifySettingsError(f"{path}: [[channel]] must be a list of tables")
    return NotifySettings(tuple(_channel(path, number, entry) for number, entry in enumerate(channels, start=1)))


def _channel(path: Path, number: int, entry: object) -> Channel:
    where = f"{path}: channel {number}"
    if not isinstance(entry, dict):
        raise NotifySettingsError(f"{where}: not a table")
    authorities = entry.get("authorities", [])
    if not isinstance(authorities, list) or not all(isinstance(a, str) for a in authorities):
        raise NotifySettingsError(f"{where}: authorities must be a list of codes")
    kind = entry.get("kind")
    if kind == EMAIL:
        to = entry.get("to", [])
        to = [to] if isinstance(to, str) else to
        addresses = [entry.get("sender", ""), *to] if isinstance(to, list) else []
        if not to or not all(isinstance(a, str) and _ADDRESS.match(a) for a in addresses):
            raise NotifySettingsError(f"{where}: email needs sender and to, plain addresses (name@domain)")
        if not isinstance(entry.get("host"), str) or not entry["host"]:
            raise NotifySettingsError(f"{where}: email needs host")
        port = entry.get("port", 25)
        if not isinstance(port, int) or not 0 < port < 65536:
            raise NotifySettingsError(f"{where}: port must be a number from 1 to 65535")
        return Channel(
            kind=EMAIL,
            name=f"channel {number}, email to {', '.join(to)}",
            authorities=frozenset(authorities),
            host=entry["host"],
            port=port,
            starttls=bool(entry.get("starttls", False)),
            sender=entry["sender"],
            to=tuple(to),
        )
    if kind == WEBHOOK:
        url = entry.get("url", "")
        parts = urllib.parse.urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            raise NotifySettingsError(f"{where}: webhook needs an http(s) url")
        # The URL of an incoming webhook is its secret: logs name only its host.
        return Channel(
            kind=WEBHOOK,
            name=f"channel {number}, webhook on {parts.hostname}",
            authorities=frozenset(authorities),
            url=url,
        )
    raise NotifySettingsError(f"{where}: kind must be {EMAIL!r} or {WEBHOOK!r}")
