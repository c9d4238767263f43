"""Validate: the rule book evaluated over tables (no database), waivers, a month's verdict.

Before any module of this package imports Great Expectations: GX's `expectations.core` imports every
core expectation, and one we never run (KL divergence) imports `scipy.stats`, a third of GX's import
time (0.85 s of 2.5 s). `scipy.stats` is made a lazy module here (the standard library's
`importlib.util.LazyLoader`): it loads in full on first use, if anything ever uses it.
"""

from pipelines.validate.lazy_imports import defer_import

defer_import("scipy.stats")
