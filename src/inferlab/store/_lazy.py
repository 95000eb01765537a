"""Modules imported on first use.

duckdb, pandas and pyarrow cost ~110 MiB of RSS at import. `inferlab probe`
only writes spool files while it measures, so the store imports them when a
method first needs them (opening the database, building a frame), not when
`inferlab.store` is imported.
"""

from __future__ import annotations

import importlib
import types
from typing import Any

__all__ = ["LazyModule"]


class LazyModule:
    """Stands for a module; the first attribute access imports it.

    Not placed in sys.modules, so code that checks `"pandas" in sys.modules`
    (Streamlit, DuckDB) sees the truth.
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: types.ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        module = self._module
        if module is None:
            module = self._module = importlib.import_module(self._name)
        return getattr(module, attr)

    def __repr__(self) -> str:
        state = "imported" if self._module is not None else "not imported yet"
        return f"<lazy module {self._name!r} ({state})>"
