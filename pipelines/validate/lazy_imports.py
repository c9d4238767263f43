"""Modules made lazy: imported by name now, loaded on first use (`importlib.util.LazyLoader`)."""

from __future__ import annotations

import importlib
import importlib.util
import sys


def defer_import(name: str) -> None:
    """Make submodule `name` (package.module) lazy unless it is loaded already.

    It is also set as its package's attribute: `from package import module` then binds the lazy module
    without going through the import system, which would load it (Python checks `__spec__`).
    """
    if name in sys.modules:
        return
    package, _, module_name = name.rpartition(".")
    try:
        spec = importlib.util.find_spec(name) if package else None
    except ModuleNotFoundError:  # its package is not installed: nothing to defer
        return
    if spec is None or spec.loader is None:
        return
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    setattr(importlib.import_module(package), module_name, module)
