"""Modules a function's import names but only its first request runs: loaded on first use.

An HTTP function's routes name the request and response models, and the pydantic they are
built with costs a cold start ~60-100 ms of CPU, about three times a bare interpreter's start
(docs/benchmarks.md, section 4). With `from __future__ import annotations` a route's
annotations are text until the resolver is built, and its documentation is made then too
(`routes.Later`), so the models load with the first request that needs them.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def module(name: str) -> ModuleType:
    """The module name, as `import` gives it, executed when an attribute is first read."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(name)
    spec.loader = importlib.util.LazyLoader(spec.loader)
    lazy = importlib.util.module_from_spec(spec)
    sys.modules[name] = lazy
    spec.loader.exec_module(lazy)
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, lazy)
    return lazy
