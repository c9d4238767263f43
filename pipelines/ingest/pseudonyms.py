"""Child IDs become keyed pseudonyms the moment they are read (../shared/child-level.md, Personal data).

A pseudonym is HMAC-SHA256 over the authority's code and the child's ID, with a secret key: the
same child of the same authority gets the same pseudonym in every extract, and nobody without
the key can get from a guessed ID (they are short: seven digits) to its pseudonym. The key is
made on first use, 32 random bytes written hex-encoded to a file only its owner can read
(mode 0600, in a folder of mode 0700), in the data home or where the operator says
(CSC_CHILD_LEVEL_KEY, read at the edge). A reader that keeps nothing (`csc-returns validate`)
uses an ephemeral key: it never makes, reads or needs the home's key.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.home import DataHome
from pipelines.home.durable import fsync_directory, temporary_beside

KEY_BYTES = 32
PSEUDONYM_CHARS = 32  # 128 bits of the HMAC: no two of a country's children alike


class KeyUnsafe(ValueError):
    """The key file is readable by others than its owner, or not a key; one line."""


def ephemeral_key() -> bytes:
    """A key for one process that keeps nothing: its pseudonyms match nothing stored."""
    return secrets.token_bytes(KEY_BYTES)


def home_key(home: DataHome, key_file: Path | None = None) -> bytes:
    """The home's key (at `key_file` when the operator keeps it elsewhere), made on first use."""
    path = key_file or home.child_level_key
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Written whole beside it, then linked into place: a second process sees no key or a whole one.
        temporary = temporary_beside(path)
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(KEY_BYTES) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process made it first: theirs is the key
        finally:
            temporary.unlink()
        fsync_directory(path.parent)
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyUnsafe(f"{path} can be read by others than its owner (mode {stat.S_IMODE(mode):o}): chmod 600 it")
    text = path.read_text(encoding="ascii").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise KeyUnsafe(f"{path} does not hold a key ({KEY_BYTES * 2} hex digits)")
    return key


def pseudonyms(key: bytes, la_code: str, ids: pd.Series, known: dict[str, str] | None = None) -> pd.Series:
    """Each ID's pseudonym (missing where the ID is); each distinct ID is hashed once, and once
    across calls given the same `known` (ID -> pseudonym under this key and authority: the lists
    of one workbook name the same children; a reader's own, never kept)."""
    codes, distinct = pd.factorize(ids, use_na_sentinel=True)
    # The key and the authority's prefix are taken in once; each ID continues a copy of that state.
    keyed = hmac.new(key, la_code.encode("utf-8") + b"\x1f", hashlib.sha256)

    def pseudonym(child: object) -> str:
        state = keyed.copy()
        state.update(str(child).encode("utf-8"))
        return state.hexdigest()[:PSEUDONYM_CHARS]

    known = {} if known is None else known
    hashed = [known[child] if child in known else known.setdefault(child, pseudonym(child)) for child in distinct]
    table = np.array([*hashed, None], dtype=object)
    return pd.Series(table[np.where(codes < 0, len(hashed), codes)], index=ids.index, dtype="string")
