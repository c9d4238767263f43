"""Text is data in markdown too: whatever a submitter writes, `markdown_text` makes it literal text
on one line in a real markdown renderer (markdown-it, CommonMark with tables, raw HTML allowed as
Dagster's and chat tools' renderers may): no tag, link, mention, emphasis or extra table cell."""

from __future__ import annotations

import html
import re

from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from pipelines.shown import markdown_text, one_line

RENDERER = MarkdownIt("commonmark", {"html": True, "linkify": False}).enable("table")
ATTACKS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    "![x](http://evil.example/a.png)",
    "**bold** _it_ `code` ~~gone~~",
    "# heading",
    "> quote",
    "- item",
    "1. item",
    "a | b | c",
    "<@U123> <!channel> @here",
    "&lt;script&gt; &#60;",
    "line\nbreak\r\n| x | y |",
    "\\*escaped\\*",
    "http://evil.example",
]
# Text as a submitter may write it: markdown's characters, HTML, entities, line breaks, anything.
TEXT = st.one_of(
    st.sampled_from(ATTACKS),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60),
    st.text(alphabet="<>&[]()!*_`#|\\-+.~:/@ \n\tabc=;\"'", max_size=40),
)


def _literal(rendered: str) -> str:
    inner = re.fullmatch(r"<p>(.*)</p>\n", rendered, flags=re.S)
    assert inner, rendered  # one paragraph, nothing else
    assert "<" not in inner.group(1), rendered  # no element of any kind inside it
    return html.unescape(inner.group(1))


@settings(max_examples=400, deadline=None)
@given(TEXT)
def test_markdown_text_renders_as_the_literal_text_on_one_line(text):
    expected = one_line(text)
    rendered = RENDERER.render(markdown_text(text))
    if not expected.strip():
        assert "<" not in rendered.replace("<p>", "").replace("</p>", "")
        return
    assert _literal(rendered) == expected.strip()


@settings(max_examples=200, deadline=None)
@given(st.lists(TEXT, min_size=1, max_size=4))
def test_a_table_row_of_escaped_cells_keeps_its_cells(cells):
    header = "| " + " | ".join(f"c{i}" for i in range(len(cells))) + " |"
    rule = "|" + "---|" * len(cells)
    row = "| " + " | ".join(markdown_text(cell) or "none" for cell in cells) + " |"
    rendered = RENDERER.render("\n".join([header, rule, row]))
    body = re.search(r"<tbody>\s*<tr>(.*?)</tr>", rendered, flags=re.S)
    assert body, rendered
    shown = re.findall(r"<td>(.*?)</td>", body.group(1), flags=re.S)
    assert len(shown) == len(cells)
    for cell, text in zip(shown, cells, strict=True):
        assert "<" not in cell
        assert html.unescape(cell) == (one_line(text).strip() or "none")
