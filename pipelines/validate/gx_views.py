"""Great Expectations' Data Docs views: templates compiled once per process, static assets shared.

GX makes a new Jinja environment for every page view of every site build, so each month's Data
Docs compiled and loaded the same templates again (most of a build's time). These views are
GX's own, sharing one environment per view class: the pages are the same, byte for byte but
for GX's timestamps and where they find GX's static assets (styles, scripts, fonts, images):
one folder `static/` beside the sites (`gx_docs.shared_static`) rather than a copy of 4 MB in
every month's site. `gx_docs.write_data_docs` names them in each site's configuration.
"""

from __future__ import annotations

import re
from typing import ClassVar

import jinja2
from great_expectations.render.view import DefaultJinjaIndexPageView, DefaultJinjaPageView

STATIC = "static"
# A page's link to GX's assets inside its own site (`./static/...`, `../../../../static/...`)...
_OWN_STATIC = re.compile(r"""(["'(])(\./|(?:\.\./)+)static/""")


def _shared(page: str) -> str:
    """...made a link to the assets beside the site: one level further up."""
    return _OWN_STATIC.sub(lambda m: f"{m[1]}{'' if m[2] == './' else m[2]}../{STATIC}/", page)


class _SharedEnvironment:
    """One Jinja environment per view class for the process (GX makes one per view, so every
    site built compiled and loaded the same templates again): it keeps its templates compiled."""

    _environments: ClassVar[dict[tuple, jinja2.Environment]] = {}
    env: jinja2.Environment
    custom_styles_directory: str | None
    custom_views_directory: str | None

    def _share(self) -> None:
        key = (type(self), self.custom_styles_directory, self.custom_views_directory)
        if key not in self._environments:
            self.env.auto_reload = False  # GX's templates do not change while the process runs: no stat per page
            # The filters are bound to the view that made the environment: views of a class differ in nothing else.
            self._environments[key] = self.env
        self.env = self._environments[key]


class PageView(DefaultJinjaPageView, _SharedEnvironment):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._share()

    def render(self, *args, **kwargs) -> str:
        return _shared(super().render(*args, **kwargs))


class IndexPageView(DefaultJinjaIndexPageView, _SharedEnvironment):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._share()

    def render(self, *args, **kwargs) -> str:
        return _shared(super().render(*args, **kwargs))


def site_views() -> dict:
    """The `view` settings of a SiteBuilder's index and of each of its sections."""
    page = {"module_name": __name__, "class_name": PageView.__name__}
    return {
        "site_index_builder": {"view": {"module_name": __name__, "class_name": IndexPageView.__name__}},
        "site_section_builders": {section: {"view": page} for section in ("expectations", "validations", "profiling")},
    }
