"""Per-run request arrays kept between reruns of the Runs page.

A selection change (one run removed, one added) keeps most of the runs it had:
caching the arrays per run, not per selection, means only the runs not seen
yet are read from the store (in one store session), instead of all 12 again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from inferlab.compare.loaders import load_runs
from inferlab.compare.runs import RunRequests
from inferlab.store import Store

__all__ = ["RunCache"]

RunKey = tuple[str, str]  # run id, version (status + request count)
Rows = Mapping[str, Mapping[str, Any]]  # run id -> its `Store.list_runs()` row


class RunCache:
    """A bounded, thread-safe LRU of `RunRequests` keyed by (run id, version).

    The arrays are shared read-only between reruns and sessions (a
    `RunRequests` is a frozen dataclass); a new version of a run (it grew, or
    finished) is a new key, so a stale copy is never returned.
    """

    def __init__(self, max_runs: int = 48) -> None:
        if max_runs < 1:
            raise ValueError("max_runs must be at least 1")
        self.max_runs = max_runs
        self._runs: OrderedDict[RunKey, RunRequests] = OrderedDict()
        self._lock = threading.Lock()
        self.reads = 0  # runs read from the store so far (for tests and benches)

    def __len__(self) -> int:
        return len(self._runs)

    def runs(
        self, store: Store, keys: Sequence[RunKey], rows: Callable[[], Rows]
    ) -> list[RunRequests]:
        """The runs of `keys`, in order; those not cached are read in one store session.

        `rows()` gives the runs' `Store.list_runs()` rows; it is only called when
        a run has to be read.
        """
        with self._lock:
            missing = list(dict.fromkeys(k for k in keys if k not in self._runs))
        if missing:
            loaded = load_runs(store, [rid for rid, _ in missing], rows())
            with self._lock:
                self.reads += len(loaded)
                for key, run in zip(missing, loaded, strict=True):
                    self._runs[key] = run
        with self._lock:
            out: list[RunRequests] = []
            for key in keys:
                found = self._runs.get(key)
                if found is not None:
                    run = found
                else:  # evicted by a concurrent session's read: read it again
                    run = load_runs(store, [key[0]], rows())[0]
                    self._runs[key] = run
                self._runs.move_to_end(key)
                out.append(run)
            # Evict only after the whole selection is in hand, so a selection larger
            # than the bound still comes back complete.
            while len(self._runs) > max(self.max_runs, len(set(keys))):
                self._runs.popitem(last=False)
            return out

    def clear(self) -> None:
        with self._lock:
            self._runs.clear()
