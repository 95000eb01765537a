"""The SQL summary equals the straightforward Python one on the same requests."""

from __future__ import annotations

import uuid
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inferlab.metrics.summary import RunSummary, Stats, summarize
from inferlab.records import RequestRecord
from inferlab.store import Slo, Store
from tests.unit.store_helpers import make_info, make_record


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """One database for all generated examples (each example is its own run)."""
    return Store(tmp_path_factory.mktemp("sql-vs-python") / "h.duckdb")


def _close(a: float | None, b: float | None, scale: float) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= 1e-9 * max(1.0, abs(scale), abs(a), abs(b))


def _assert_stats_equal(name: str, sql: Stats, py: Stats) -> None:
    assert sql.count == py.count, name
    scale = max(abs(py.mean or 0.0), abs(py.p99 or 0.0), 1.0)
    for field in ("mean", "p50", "p90", "p95", "p99"):
        assert _close(getattr(sql, field), getattr(py, field), scale), (name, field, sql, py)
    # std: different summation algorithms; agree to 1e-6 of the values' magnitude
    if py.std is None:
        assert sql.std is None
    else:
        assert sql.std is not None
        assert abs(sql.std - py.std) <= 1e-6 * scale, (name, "std", sql, py)


def assert_same(sql: RunSummary, py: RunSummary) -> None:
    for f in ("run_id", "requests", "completed", "failed", "warmup_requests", "output_tokens"):
        assert getattr(sql, f) == getattr(py, f), f
    assert sql.errors_by_class == py.errors_by_class
    assert sql.slo == py.slo
    for f in ("error_rate", "duration_s", "rps", "output_tps", "goodput_rps", "slo_attainment"):
        a, b = getattr(sql, f), getattr(py, f)
        assert _close(a, b, 1.0), (f, a, b)
    for f in ("ttft_ms", "tpot_ms", "itl_ms", "e2e_ms", "client_queue_ms"):
        _assert_stats_equal(f, getattr(sql, f), getattr(py, f))


ms = st.floats(min_value=0.0, max_value=120_000.0, allow_nan=False, allow_infinity=False)


@st.composite
def request_records(draw: st.DrawFn, index: int) -> RequestRecord:
    scheduled = draw(ms)
    sent = scheduled + draw(st.floats(0.0, 500.0))
    ok = draw(st.booleans())
    gaps = draw(st.lists(st.floats(0.0, 5_000.0), max_size=12))
    offs: list[float] = []
    if ok or (bool(gaps) and draw(st.booleans())):
        t = draw(st.floats(0.0, 30_000.0))
        offs = [t]
        for g in gaps:
            t += g
            offs.append(t)
    has_e2e = bool(offs) and draw(st.integers(0, 9)) > 0
    return RequestRecord(
        index=index,
        scheduled_ms=scheduled,
        sent_ms=sent,
        ok=ok,
        ttft_ms=offs[0] if offs and draw(st.integers(0, 9)) > 0 else None,
        e2e_ms=offs[-1] if has_e2e else None,
        chunk_offsets_ms=tuple(offs),
        chunk_tokens=tuple(draw(st.integers(0, 4)) for _ in offs),
        output_tokens=draw(st.one_of(st.none(), st.integers(0, 2_000))),
        error_class=None if ok else draw(st.sampled_from([None, "http_5xx", "timeout", "read"])),
        warmup=draw(st.integers(0, 5)) == 0,
    )


@st.composite
def runs(draw: st.DrawFn) -> list[RequestRecord]:
    n = draw(st.integers(0, 40))
    return [draw(request_records(i)) for i in range(n)]


slos = st.one_of(
    st.none(),
    st.builds(
        Slo,
        st.one_of(st.none(), st.floats(1.0, 30_000.0)),
        st.one_of(st.none(), st.floats(0.1, 3_000.0)),
        st.one_of(st.none(), st.floats(1.0, 60_000.0)),
    ),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(recs=runs(), slo=slos)
def test_sql_summary_equals_python_reference_on_generated_runs(
    shared_store: Store, recs: list[RequestRecord], slo: Slo | None
) -> None:
    store = shared_store
    run_id = uuid.uuid4().hex
    store.create_run(make_info(run_id))
    store.add_requests(run_id, recs)
    py = summarize(recs, slo, run_id=run_id, status="running")
    assert_same(store.summary(run_id, slo), py)
    # and the stored rows come back as the same records
    assert store.records(run_id) == sorted(recs, key=lambda r: r.index)


def test_sql_summary_equals_python_on_a_realistic_run(isolated_db: Path) -> None:
    store = Store()
    recs = [make_record(i, ok=i % 11 != 0, chunks=1 + i % 9, warmup=i < 5) for i in range(500)]
    store.create_run(make_info("real"))
    store.add_requests("real", recs[:200])
    store.add_requests("real", recs[200:])
    store.finish_run("real", "completed")
    slo = Slo(ttft_ms=450, tpot_ms=20.0)
    sql = store.summary("real", slo)
    assert_same(sql, summarize(recs, slo, run_id="real", status="completed"))
    assert sql.status == "completed"
    # the cached summary answers another SLO, and is dropped when requests change
    slo2 = Slo(e2e_ms=400.0)
    assert_same(store.summary("real", slo2), summarize(recs, slo2, run_id="real"))
    extra = [make_record(i, ok=False) for i in range(500, 520)]
    store.add_requests("real", extra)
    assert_same(store.summary("real", slo), summarize(recs + extra, slo, run_id="real"))
    store.add_requests("real", recs[:0])
    listed = store.list_runs().iloc[0]
    assert listed["requests"] == sql.requests + 20
    assert listed["ttft_p50_ms"] == pytest.approx(sql.ttft_ms.p50)
    assert listed["e2e_p95_ms"] == pytest.approx(sql.e2e_ms.p95)
    assert listed["rps"] == pytest.approx(store.summary("real").rps)


def _cached_summary_ids(db: Path) -> set[str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {r[0] for r in con.execute("SELECT run_id FROM run_summaries").fetchall()}
    finally:
        con.close()


def test_a_finished_run_has_its_summary_precomputed(isolated_db: Path) -> None:
    store = Store()
    recs = [make_record(i, ok=i % 7 != 0, chunks=1 + i % 5) for i in range(60)]
    store.create_run(make_info("fin"))
    store.add_requests("fin", recs)
    assert "fin" not in _cached_summary_ids(isolated_db)
    store.finish_run("fin", "completed")
    assert "fin" in _cached_summary_ids(isolated_db)  # computed at finish, not on first ask
    with store.run_writer(make_info("spooled")) as writer:
        writer.add_many(recs)
    assert "spooled" in _cached_summary_ids(isolated_db)  # computed when the spool is ingested
    for run_id in ("fin", "spooled"):
        assert_same(store.summary(run_id), summarize(recs, run_id=run_id))
