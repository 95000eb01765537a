"""RunCache: per-run arrays, so a selection change reads only the runs not seen before."""

from __future__ import annotations

from pathlib import Path

import pytest

from inferlab.dashboard.run_cache import RunCache
from inferlab.dashboard.runs import rows_by_run_id, run_version
from inferlab.store import Store
from tests.runs_data import store_run


@pytest.fixture()
def three(tmp_path: Path) -> Path:
    db = tmp_path / "runs.duckdb"
    for i, rid in enumerate(("a", "b", "c")):
        store_run(db, rid, label=rid, n=40, seed=i, minutes_ago=3 - i)
    return db


def test_selection_change_reads_only_new_runs(three: Path) -> None:
    store = Store(three)
    rows = rows_by_run_id(store.list_runs())
    keys = {rid: (rid, run_version(rows[rid])) for rid in rows}
    cache = RunCache(max_runs=8)
    first = cache.runs(store, [keys["a"], keys["b"]], lambda: rows)
    assert [r.run_id for r in first] == ["a", "b"] and cache.reads == 2
    # drop a, add c: only c is read; b is the very same object
    second = cache.runs(store, [keys["b"], keys["c"]], lambda: rows)
    assert [r.run_id for r in second] == ["b", "c"] and cache.reads == 3
    assert second[0] is first[1]
    # a grown run is a new version: read again, never the stale copy
    cache.runs(store, [("b", "other-version")], lambda: rows)
    assert cache.reads == 4


def test_bound_evicts_least_recent_but_returns_whole_selection(three: Path) -> None:
    store = Store(three)
    rows = rows_by_run_id(store.list_runs())
    keys = [(rid, run_version(rows[rid])) for rid in ("a", "b", "c")]
    cache = RunCache(max_runs=1)
    got = cache.runs(store, keys, lambda: rows)
    assert [r.run_id for r in got] == ["a", "b", "c"]
    cache.runs(store, keys[2:], lambda: rows)
    assert len(cache) == 1
    calls: list[int] = []

    def counted() -> dict[str, dict[str, object]]:
        calls.append(1)
        return rows

    cache.runs(store, keys[2:], counted)
    assert not calls  # a cached run never asks for the rows
    with pytest.raises(ValueError, match="max_runs"):
        RunCache(max_runs=0)
