"""The Runs page's pure helpers: link checks, share links, filters, the delta grid."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
import pandas as pd

from inferlab.compare import RunRequests, compare_table
from inferlab.compare.loaders import (
    filter_runs,
    fmt_value,
    load_run,
    run_table,
    slo_from_values,
    wide_delta_table,
)
from inferlab.dashboard.runs import link_problems, runs_share_url, url_run_ids
from inferlab.records import RequestRecord, RunInfo
from inferlab.store import Store


def test_url_run_ids_keep_order_and_drop_duplicates() -> None:
    assert url_run_ids({"runs": ["b", "a", "b", ""]}) == ["b", "a"]
    assert url_run_ids({"runs": "a"}) == ["a"]
    assert url_run_ids({}) == []


def test_link_problems_name_each_bad_value() -> None:
    problems = link_problems(
        {
            "runs": ["a", "ghost"],
            "baseline": "zzz",
            "convention": "llmperf",
            "metric": "latency",
            "slo_tpot_ms": "abc",
        },
        ["a", "b"],
    )
    text = " ".join(problems)
    assert "`ghost`" in text and "Showing the other 1" in text
    assert "`baseline` (zzz)" in text
    assert "`convention` (llmperf)" in text and "inferlab, vllm, guidellm, aiperf" in text
    assert "`metric` (latency)" in text and "TTFT, TPOT, ITL, E2E" in text
    assert "`slo_tpot_ms`" in text and "not a number" in text
    assert link_problems({"runs": ["a", "b"], "metric": "E2E"}, ["a", "b"]) == []


def test_link_with_more_than_12_runs_is_truncated_with_a_message() -> None:
    ids = [f"r{i}" for i in range(14)]
    (problem,) = link_problems({"runs": ids}, ids)
    assert "at most 12" in problem


def test_share_url_always_carries_run_ids_and_only_non_defaults() -> None:
    url = runs_share_url(
        "http://h:8501/runs?old=1",
        ["a", "b"],
        "b",
        "guidellm",
        "e2e",
        {"slo_ttft_ms": 500.0, "slo_tpot_ms": 0.0, "slo_e2e_ms": 0.0, "slo_target_pct": 95.0},
    )
    q = parse_qs(urlparse(url).query)
    assert q == {
        "runs": ["a", "b"],
        "baseline": ["b"],
        "convention": ["guidellm"],
        "metric": ["E2E"],
        "slo_ttft_ms": ["500"],
    }


def test_slo_zero_means_no_limit() -> None:
    slo = slo_from_values(300.0, 0.0, None)
    assert (slo.ttft_ms, slo.tpot_ms, slo.e2e_ms) == (300.0, None, None)
    assert not slo_from_values(0.0, 0.0, 0.0).is_set


def runs_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "run_id": ["a", "b"],
            "label": ["llama h100", "qwen"],
            "status": ["completed", "completed"],
            "started_at": [datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)],
            "model": ["llama", "qwen"],
            "endpoint": ["http://x/v1", "http://y/v1"],
            "load_mode": ["concurrency", "poisson"],
            "load_value": [8.0, 2.5],
            "tags": [np.array(["gpu", "nightly"]), np.array([], dtype=object)],
            "source_tool": ["inferlab", "vllm"],
            "requests": [10, 20],
            "error_rate": [0.1, 0.0],
            "ttft_p50_ms": [100.0, 200.0],
            "ttft_p95_ms": [150.0, 250.0],
            "tpot_p50_ms": [10.0, 20.0],
            "e2e_p95_ms": [900.0, 1200.0],
        }
    )


def test_filter_by_text_tags_and_source() -> None:
    df = runs_frame()
    assert list(filter_runs(df, "QWEN")["run_id"]) == ["b"]
    assert list(filter_runs(df, tags=["nightly"])["run_id"]) == ["a"]
    assert list(filter_runs(df, sources=["vllm"])["run_id"]) == ["b"]
    assert list(filter_runs(df, "y/v1")["run_id"]) == ["b"]


def test_run_table_shows_load_tags_and_error_percent() -> None:
    table = run_table(runs_frame())
    assert list(table["Load"]) == ["concurrency 8", "poisson 2.5 req/s"]
    assert list(table["Tags"]) == ["gpu, nightly", ""]
    assert list(table["Error rate (%)"]) == [10.0, 0.0]


def test_wide_delta_grid_text_and_colours() -> None:
    def run(run_id: str, ttft: float) -> RunRequests:
        n = 400
        rng = np.random.default_rng(len(run_id))
        frame = pd.DataFrame(
            {
                "sent_ms": np.arange(n) * 10.0,
                "ok": np.ones(n, dtype=bool),
                "ttft_ms": ttft + rng.normal(0, 5, n),
                "e2e_ms": ttft + 500 + rng.normal(0, 5, n),
                "output_tokens": np.full(n, 20),
            }
        )
        return RunRequests.from_frame(run_id, frame, label=run_id.upper())

    table = compare_table([run("a", 100), run("bb", 150)], "a")
    view = wide_delta_table(table, "a")
    assert list(view.text.columns) == ["A (baseline)", "BB"]
    cell = str(view.text.loc["TTFT p50 (ms)", "BB"])
    assert cell.startswith("15") and "+5" in cell and "CI +" in cell
    # "CI +48.1 to +51.9": an ellipsis read as text cut off where the cell wrapped
    assert re.search(r"CI \+[\d.]+ to \+[\d.]+$", cell) and "…" not in cell
    assert view.colors.loc["TTFT p50 (ms)", "BB"] == "worse"
    assert view.colors.loc["TTFT p50 (ms)", "A (baseline)"] == ""


def test_fmt_value_units() -> None:
    assert fmt_value(1234.56, "ms") == "1,234.6 ms"
    assert fmt_value(12_345.0, "ms") == "12.35 s"
    assert fmt_value(2.5, "%") == "2.50 %"
    assert fmt_value(float("nan"), "ms") == "—"


def test_load_run_reads_the_same_arrays_as_the_frame_path(tmp_path: Path) -> None:
    """load_run reads Arrow columns; it must match RunRequests.from_frame on the same run."""
    store = Store(tmp_path / "s.duckdb")
    info = RunInfo(
        run_id="r1",
        started_at=datetime(2026, 1, 1, tzinfo=UTC),
        endpoint="http://h/v1",
        model="m",
        api="chat",
        load_mode="concurrency",
        load_value=4,
        label="one",
    )
    store.create_run(info)
    recs = [
        RequestRecord(index=0, scheduled_ms=0.0, sent_ms=0.1, ok=True, warmup=True,
                      ttft_ms=5.0, e2e_ms=9.0, chunk_offsets_ms=(5.0, 9.0),
                      chunk_tokens=(1, 1), output_tokens=2),
        RequestRecord(index=2, scheduled_ms=10.0, sent_ms=10.5, ok=True, ttft_ms=20.0,
                      e2e_ms=40.0, chunk_offsets_ms=(20.0, 30.0, 40.0),
                      chunk_tokens=(1, 2, 1), output_tokens=4, input_tokens=7),
        RequestRecord(index=1, scheduled_ms=5.0, sent_ms=5.2, ok=False, http_status=500,
                      error_class="http_5xx", error_message="boom"),
        RequestRecord(index=3, scheduled_ms=15.0, sent_ms=15.0, ok=True, ttft_ms=3.0,
                      e2e_ms=3.0, chunk_offsets_ms=(3.0,), chunk_tokens=(1,), output_tokens=1),
    ]  # fmt: skip
    store.add_requests("r1", recs)
    store.finish_run("r1")
    fast = load_run(store, "r1")
    ref = RunRequests.from_frame(
        "r1", store.requests_frame("r1"), label="one", load_mode="concurrency", load_value=4
    )
    for name in ("index", "scheduled_ms", "sent_ms", "ok", "ttft_ms", "e2e_ms",
                 "output_tokens", "chunk_offsets", "chunk_counts", "error_class"):  # fmt: skip
        a, b = getattr(fast, name), getattr(ref, name)
        assert a.dtype.kind == b.dtype.kind, name
        np.testing.assert_array_equal(a, b, err_msg=name)
    assert fast.index.tolist() == [1, 2, 3]  # ordered by index, warm-up left out
    assert fast.error_class.tolist() == ["http_5xx", "", ""]
    assert fast.chunk_counts.tolist() == [0, 3, 1]
    assert (fast.label, fast.load_value) == ("one", 4.0)
    pd.testing.assert_frame_equal(compare_table([fast], "r1"), compare_table([ref], "r1"))


def test_load_runs_one_session_matches_load_run(tmp_path: Path) -> None:
    from dataclasses import fields

    from inferlab.compare.loaders import load_run, load_runs
    from tests.runs_data import store_run

    db = tmp_path / "batch.duckdb"
    ids = [store_run(db, f"r{i}", n=50, seed=i, fail_every=7) for i in range(3)]
    store = Store(db)
    rows = {
        str(r["run_id"]): {str(k): v for k, v in r.items()}
        for r in store.list_runs().to_dict("records")
    }
    batch = load_runs(store, ids, rows)
    assert [r.run_id for r in batch] == ids
    for run in batch:
        single = load_run(store, run.run_id, rows[run.run_id])
        for f in fields(RunRequests):
            a, b = getattr(run, f.name), getattr(single, f.name)
            if isinstance(a, np.ndarray):
                np.testing.assert_array_equal(a, b)
            else:
                assert a == b or (a != a and b != b), f.name
    assert store.runs_metadata([*ids, "missing"]).keys() == set(ids)
