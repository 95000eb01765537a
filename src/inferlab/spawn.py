"""Starting a spawned process without re-running the parent's main script.

multiprocessing's 'spawn' re-runs the parent's ``__main__`` in the child (as
``__mp_main__``): Streamlit's app.py drew the whole app there (~30 "missing
ScriptRunContext" warnings per launch, and a slower first wave), and a user's
script without an ``if __name__ == "__main__"`` guard started its probe again.
The children of the probe engines and the dashboard's jobs need nothing from it.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import types
from collections.abc import Iterator

__all__ = ["neutral_main"]

_NEUTRAL_MAIN = types.ModuleType("__main__")  # no __file__, no __spec__: nothing to re-run
_LOCK = threading.Lock()  # two threads starting processes at once restore the right one


@contextlib.contextmanager
def neutral_main() -> Iterator[None]:
    """Start processes inside this block: their ``__main__`` is an empty module."""
    with _LOCK:
        main = sys.modules.get("__main__")
        sys.modules["__main__"] = _NEUTRAL_MAIN
        try:
            yield
        finally:
            if main is not None:
                sys.modules["__main__"] = main
