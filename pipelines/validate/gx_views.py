"""Great Expectations' Data Docs views: templates compiled once per process, static assets shared.

GX makes a new Jinja environment for every page view of every site build, so each month's Data
Docs compiled the same templates again (most of the build's time). These views are GX's own,
given one shared in-memory bytecode cache: the pages are the same, byte for byte but for GX's
timestamps and where they find GX's static assets (styles, scripts, fonts, images): one folder
`static/` beside the sites (`gx_docs.shared_static`) rather than a copy of 4 MB in every
month's site. `gx_docs.write_data_docs` names them in each site's configuration.
"""

from __future__ import annotations

import re

import jinja2
from great_expectations.render.view import DefaultJinjaIndexPageView, DefaultJinjaPageView

STATIC = "static"
# A page's link to GX's assets inside its own site (`./static/...`, `../../../../static/...`)...
_OWN_STATIC = re.compile(r"""(["'(])(\./|(?:\.\./)+)static/""")


def _shared(page: str) -> str:
    """...made a link to the assets beside the site: one level further up."""
    return _OWN_STATIC.sub(lambda m: f"{m[1]}{'' if m[2] == './' else m[2]}../{STATIC}/", page)


class _CompiledTemplates(jinja2.BytecodeCache):
    """Compiled templates by Jinja's key (template name and source checksum), for the process."""

    def __init__(self) -> None:
        self._compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        compiled = self._compiled.get(bucket.key)
        if compiled is not None:
            bucket.bytecode_from_string(compiled)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self._compiled[bucket.key] = bucket.bytecode_to_string()


_COMPILED = _CompiledTemplates()


class PageView(DefaultJinjaPageView):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.env.bytecode_cache = _COMPILED

    def render(self, *args, **kwargs) -> str:
        return _shared(super().render(*args, **kwargs))


class IndexPageView(DefaultJinjaIndexPageView):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.env.bytecode_cache = _COMPILED

    def render(self, *args, **kwargs) -> str:
        return _shared(super().render(*args, **kwargs))


def site_views() -> dict:
    """The `view` settings of a SiteBuilder's index and of each of its sections."""
    page = {"module_name": __name__, "class_name": PageView.__name__}
    return {
        "site_index_builder": {"view": {"module_name": __name__, "class_name": IndexPageView.__name__}},
        "site_section_builders": {section: {"view": page} for section in ("expectations", "validations", "profiling")},
    }
