"""Text is data: how a value someone else controls is shown, one helper per medium, here only.

A submitter controls every cell of a return (codes, names, figures as written), its column
headers and its file name; an operator the `--who` and `--reason` of a waiver. Each is shown
escaped for where it is shown:

- a page (HTML): `html_text`, every character that could open markup as an entity;
- a CSV a person opens in a spreadsheet: `spreadsheet_cell`, a cell a spreadsheet would run as a
  formula (`=`, `+`, `-`, `@`, tab, carriage return first, and not a number) behind an apostrophe;
- a terminal: `terminal_text`, control characters (escape sequences, line breaks that would forge a
  line of `status`) and the invisible format characters that reorder text shown as `\\xNN` / `\\uNNNN`;
- markdown (the Dagster UI's metadata, a Teams or Slack webhook): `markdown_text`, on one line, every
  character that could make a link, a mention, markup or formatting escaped;
- a mail header or any one-line field: `one_line`, control characters and line breaks as a space;
- JSON: `json.dumps` escapes by construction (quotes, backslashes, control characters); nothing to add.

The EES files hold register values and figures only (pipelines/publish/): EES reads them raw.
"""

from __future__ import annotations

import html
import re
import unicodedata
from typing import Any

# A cell a spreadsheet runs as a formula starts with one of these (OWASP's CSV injection list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")  # as a published figure is written
_LINE_BREAKING = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")


def html_text(value: object) -> str:
    """`value` as text inside a page: `<`, `>`, `&` and both quotes as entities."""
    return html.escape(str(value), quote=True)


def looks_like_formula(value: str) -> bool:
    """Whether a spreadsheet would run the text cell `value` (a signed number is a number)."""
    return value.startswith(FORMULA_STARTS) and not _NUMBER.match(value)


def spreadsheet_cell(value: str) -> str:
    """A text cell for a CSV a person opens: a would-be formula behind a leading apostrophe."""
    return "'" + value if looks_like_formula(value) else value


def _escaped(character: str) -> str:
    code = ord(character)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_text(value: object) -> str:
    """`value` as one line for a terminal: control characters (C0, DEL, C1: escape sequences, line
    breaks, tabs) and format characters (bidirectional overrides) written as escapes."""
    text = str(value)
    if text.isprintable():
        return text
    return "".join(_escaped(c) if unicodedata.category(c) in ("Cc", "Cf") or c in "\u2028\u2029" else c for c in text)


def html_values(value: Any) -> Any:
    """Every text inside `value` (JSON-like: dicts, lists, strings, numbers) made `html_text`; keys too."""
    if isinstance(value, str):
        return html_text(value)
    if isinstance(value, dict):
        return {html_values(k) if isinstance(k, str) else k: html_values(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [html_values(item) for item in value]
    return value


def one_line(value: object) -> str:
    """`value` on one line: control characters and line breaks become a space (no header or line injection)."""
    return _LINE_BREAKING.sub(" ", str(value)).strip()


def markdown_text(value: object) -> str:
    """`value` as literal text in markdown, on one line (a table cell or list item stays one): `&`,
    `<`, `>` as entities (no HTML, no Slack mention), every other markdown character backslashed."""
    entities = one_line(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN.sub(r"\\\1", entities)
