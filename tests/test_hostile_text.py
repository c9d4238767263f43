"""Text is data: markup, formula prefixes and control characters put into every free-text input (a
file name, authority codes and names, cells, a column header, a waiver's who and why) come out
escaped for where they are shown: no page gains an element or attribute, no CSV a person opens
holds a formula, no terminal line holds a control character or is forged, every JSON parses, and
release.json names held-back authorities only by register codes. The hostile text is SYNTHETIC."""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from html.parser import HTMLParser

import pytest

from pipelines.cli import main
from pipelines.home import DataHome
from pipelines.shown import looks_like_formula
from schemas.catalogue import all_columns

pytestmark = pytest.mark.xdist_group("dagster")

MONTH = "2024-10"
SCRIPT = '<script>alert("code")</script>'
HOSTILE_NAME = '=HYPERLINK("http://evil")<img src=x onerror=alert(2)>'
HOSTILE_CELL = "\x1b[2J\x1b]0;owned\x07<b onclick=alert(5)>bold</b>"
HOSTILE_HEADER = "<svg onload=alert(3)>"
HOSTILE_FILE = "=SYNTHETIC-<b onmouseover=alert(6)>.csv"
FORGED = f"{MONTH}: 9 received, 9 accepted, 0 held back"
WHO = f"steward\n{FORGED}\x1b[8m"
REASON = "@SUM(1+1)\r=cmd|' /c calc'!A1<script>alert(7)</script>"


class _Elements(HTMLParser):
    """Every element and attribute of a page, and the text of its scripts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.attributes: list[tuple[str, str, str | None]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.attributes += [(tag, name, value) for name, value in attrs]
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)


def _cli(home: DataHome, capsys, *args: str) -> tuple[int, str, str]:
    status = main(["--home", str(home.root), *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture
def hostile_home(home, example_rows) -> DataHome:
    rows = [row for row in example_rows if row["period"] == MONTH]
    good, other = rows[0], rows[1]
    hostile = dict(other, la_code=SCRIPT, la_name=HOSTILE_NAME, contacts="10", cla_ceased=HOSTILE_CELL)
    with (home.landing / HOSTILE_FILE).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=[*all_columns(), HOSTILE_HEADER])
        writer.writeheader()
        writer.writerows([dict(good, **{HOSTILE_HEADER: "=2+2"}), dict(hostile, **{HOSTILE_HEADER: "@SUM(A1)"})])
    return home


def test_hostile_text_is_escaped_in_every_page_csv_json_and_terminal_line(hostile_home, capsys):
    home = hostile_home
    terminal: list[str] = []  # every text a person reads on a terminal
    jsons: list[str] = []

    status, out, err = _cli(home, capsys, "run", "--quiet")
    assert status == 1, err
    terminal += [out, err]
    status, out, err = _cli(home, capsys, "run", "--quiet", "--json")
    jsons.append(out)
    held = json.loads(out)["held_back"]
    hostile_code = next(h["la_code"] for h in held if "SCRIPT" in h["la_code"].upper())

    status, out, err = _cli(
        home,
        capsys,
        *("waive", "--rule", "derived_inconsistent", "--la-code", hostile_code, "--month", MONTH),
        *("--column", "contacts_to_referral_percent", "--reason", REASON, "--who", WHO),
    )
    assert status == 0, err
    terminal += [out, err]
    for args in (
        ["status"],
        ["findings", "--month", MONTH],
        ["waive", "list"],
        ["validate", str(home.landing / HOSTILE_FILE)],
    ):
        status, out, err = _cli(home, capsys, *args)
        terminal += [out, err]
    for args in (["status", "--json"], ["findings", "--month", MONTH, "--format", "json"], ["waive", "list", "--json"]):
        status, out, err = _cli(home, capsys, *args)
        jsons.append(out)
        terminal.append(err)
    status, findings_csv, _ = _cli(home, capsys, "findings", "--month", MONTH, "--format", "csv")

    # Terminal: no control character but the line ends, and no line forged by `--who`.
    shown = "".join(terminal)
    assert "steward\\x0a" in shown and "alert(" in shown  # the text is there, escaped, not dropped
    bad = [c for c in shown if unicodedata.category(c) in ("Cc", "Cf") and c != "\n"]
    assert bad == []
    assert not any(line.lstrip().startswith(FORGED) for line in shown.splitlines())

    # JSON: parses, and holds the text as it was given (JSON escapes by construction).
    parsed = [json.loads(text) for text in jsons]
    whos = [waiver["who"] for waiver in parsed[-1]]
    assert len(whos) == 1 and whos[0].startswith("steward") and FORGED in whos[0], whos

    # CSV a person opens: the findings export and the scorecard hold no formula.
    sheets = {"findings": findings_csv, "scorecard": (home.reports / "scorecard" / "scorecard.csv").read_text()}
    for name, text in sheets.items():
        cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
        assert [cell for cell in cells if looks_like_formula(cell)] == [], name
    assert "'=SYNTHETIC" in findings_csv  # the file name is there, behind an apostrophe

    # Pages: every page the pipeline wrote gains no element or attribute from the text.
    pages = sorted(home.root.rglob("*.html"))
    assert any("gx" in p.parts for p in pages) and any(p.name == "scorecard.html" for p in pages)
    for page in pages:
        text = page.read_text(encoding="utf-8", errors="replace")
        elements = _Elements()
        elements.feed(text)
        assert [a for a in elements.attributes if "alert(" in f"{a[1]}={a[2]}".lower()] == [], page
        assert [a for a in elements.attributes if a[0] in ("img", "svg") and a[2] == "x"] == [], page
        assert not any("alert(" in script for script in elements.scripts), page
    docs = "".join(p.read_text(encoding="utf-8") for p in pages if "validations" in p.parts)
    assert "&lt;SCRIPT&gt;" in docs  # the code is shown, as text

    # release.json: held-back authorities by register codes only; the unknown one by archive and row.
    release = (home.publish / "releases" / MONTH / "release.json").read_text(encoding="utf-8")
    held_back = json.loads(release)["held_back"]
    assert held_back and all(
        re.fullmatch(r"E\d{8}", code) or re.fullmatch(r"unknown code in archived file [0-9a-f]{12} row \d+", code)
        for code in held_back
    ), held_back
    published = "".join(p.read_text(encoding="utf-8") for p in home.publish.rglob("*") if p.is_file())
    for text in (SCRIPT.upper(), "alert", "HYPERLINK", "onerror", "\x1b"):
        assert text.lower() not in published.lower(), text
