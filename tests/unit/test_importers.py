"""Importers: each format from real fixtures with hand-checked numbers, detection, reconciliation."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from inferlab.importers import (
    ImportFileError,
    detect_format,
    import_file,
    import_info,
    parse_file,
    tool_comparison_for_run,
)
from inferlab.importers.aiperf import _fast_columns, _line_columns
from inferlab.store import Store

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "import"
AIPERF = FIX / "aiperf-c4" / "profile_export.jsonl"
AIPERF_ERR = FIX / "aiperf-with-error" / "profile_export.jsonl"
GUIDELLM = FIX / "guidellm-concurrent-c2.json"
SWEEP = FIX / "guidellm-sweep-c1-2-4.json"
VLLM = FIX / "vllm-detailed.json"
VLLM_SUMMARY = FIX / "vllm-summary.json"
VLLM_APPEND = FIX / "vllm-append.jsonl"


@pytest.fixture
def store(isolated_db: Path) -> Store:
    return Store(isolated_db)


def _rows(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.parametrize(
    ("path", "fmt"),
    [
        (AIPERF, "aiperf"),
        (FIX / "aiperf-c4" / "profile_export_aiperf.json", "aiperf"),
        (GUIDELLM, "guidellm"),
        (SWEEP, "guidellm"),
        (VLLM, "vllm"),
        (VLLM_SUMMARY, "vllm"),
        (VLLM_APPEND, "vllm"),
    ],
)
def test_format_is_detected_from_the_content(path: Path, fmt: str) -> None:
    assert detect_format(path) == fmt


def test_aiperf_jsonl_maps_to_requests_with_hand_checked_numbers(store: Store) -> None:
    runs = import_file(store, AIPERF)
    assert len(runs) == 1 and runs[0].source_tool == "aiperf" and runs[0].requests == 24
    rid = runs[0].run_id
    info = store.get_run(rid)
    assert info is not None
    # From the aggregate beside the JSONL: model, endpoint, concurrency 4.
    assert (info.model, info.load_mode, info.load_value) == ("refmodel", "concurrency", 4.0)
    assert info.endpoint == "http://127.0.0.1:51403"
    recs = store.records(rid)
    first = _rows(AIPERF)[0]
    m = first["metrics"]
    assert isinstance(m, dict)
    r0 = recs[0]
    assert r0.ttft_ms == pytest.approx(107.250305)
    # Last chunk = TTFT + the 31 inter-chunk gaps = AIPerf's request_latency.
    assert len(r0.chunk_offsets_ms) == 32
    assert r0.e2e_ms == pytest.approx(408.101547, abs=1e-6)
    assert r0.output_tokens == 32 and r0.input_tokens == 32
    md = first["metadata"]
    assert isinstance(md, dict)
    # Client queue = request_start - credit_issued.
    queue_ms = (md["request_start_ns"] - md["credit_issued_ns"]) / 1e6
    assert r0.sent_ms - r0.scheduled_ms == pytest.approx(queue_ms)
    s = store.summary(rid)
    assert s.requests == 24 and s.failed == 0
    # Sum of the 24 TTFTs is 2468.158931 ms (AIPerf's aggregate "sum").
    assert s.ttft_ms.mean == pytest.approx(2468.158931 / 24)
    assert s.itl_ms.count == 24 * 31
    assert s.tpot_ms.mean == pytest.approx(9.999710875)
    assert s.duration_s == pytest.approx(2.5195614720000004, rel=1e-6)


def test_aiperf_error_record_becomes_a_failed_request(store: Store) -> None:
    rid = import_file(store, AIPERF_ERR)[0].run_id
    s = store.summary(rid)
    assert (s.requests, s.completed, s.failed) == (24, 23, 1)
    assert s.errors_by_class == {"http_500": 1}
    failed = [r for r in store.records(rid) if not r.ok]
    assert failed[0].http_status == 500
    assert failed[0].input_tokens == 32  # error_isl
    assert "injected error" in (failed[0].error_message or "")


def test_aiperf_fast_and_line_readers_agree() -> None:
    fast, slow = _fast_columns(AIPERF_ERR), _line_columns(AIPERF_ERR)
    assert fast.icl.equals(slow.icl)
    assert list(fast.start_ns) == list(slow.start_ns)
    assert fast.err_code == slow.err_code
    for a, b in zip(fast.ttft_ms, slow.ttft_ms, strict=True):
        assert (math.isnan(a) and math.isnan(b)) or a == b


def test_aiperf_aggregate_alone_imports_the_tools_numbers_only(
    store: Store, tmp_path: Path
) -> None:
    agg = tmp_path / "profile_export_aiperf.json"
    agg.write_bytes((FIX / "aiperf-c4" / "profile_export_aiperf.json").read_bytes())
    run = import_file(store, agg)[0]
    assert run.requests == 0
    info = import_info(store, run.run_id)
    assert info is not None and not info.per_request
    ttft = {m.stat: m.value for m in info.tool_metrics if m.name == "time_to_first_token"}
    assert ttft["avg"] == pytest.approx(102.83995545833332)
    cmp = tool_comparison_for_run(store, run.run_id)
    assert cmp is not None and cmp["inferlab"].isna().all()


def test_aiperf_aggregate_imported_with_its_jsonl_is_the_same_import(store: Store) -> None:
    a = import_file(store, AIPERF)
    b = import_file(store, FIX / "aiperf-c4" / "profile_export_aiperf.json")
    assert b[0].run_id == a[0].run_id and b[0].duplicate


def test_guidellm_benchmark_timings_map_to_inferlab_conventions(store: Store) -> None:
    run = import_file(store, GUIDELLM)[0]
    assert run.requests == 16 and run.source_tool == "guidellm"
    info = store.get_run(run.run_id)
    assert info is not None and (info.load_mode, info.load_value) == ("concurrency", 2.0)
    doc = json.loads(GUIDELLM.read_text())
    req = doc["benchmarks"][0]["requests"]["successful"][0]
    t = req["info"]["timings"]
    anchor = min(
        x["info"]["timings"][k]
        for x in doc["benchmarks"][0]["requests"]["successful"]
        for k in ("targeted_start", "request_start")
    )
    r = min(
        store.records(run.run_id),
        key=lambda x: abs(x.sent_ms - (t["request_start"] - anchor) * 1000),
    )
    assert r.sent_ms == pytest.approx((t["request_start"] - anchor) * 1000)
    assert r.ttft_ms == pytest.approx(req["time_to_first_token_ms"], abs=1e-3)
    assert r.e2e_ms == pytest.approx((t["last_token_iteration"] - t["request_start"]) * 1000)
    # guidellm's per-request "inter_token_latency_ms" is inferlab's TPOT.
    assert r.tpot_ms == pytest.approx(req["inter_token_latency_ms"], rel=1e-6)
    assert r.chunk_offsets_ms == ()  # only first and last token times are recorded
    s = store.summary(run.run_id)
    assert s.ttft_ms.mean == pytest.approx(101.33451223373413, rel=1e-6)  # guidellm's mean
    assert s.itl_ms.count == 0


def test_guidellm_multi_benchmark_file_is_a_sweep_group(store: Store) -> None:
    runs = import_file(store, SWEEP)
    assert [r.requests for r in runs] == [12, 12, 12]
    infos = [store.get_run(r.run_id) for r in runs]
    assert all(i is not None for i in infos)
    assert [i.load_value for i in infos if i] == [1.0, 2.0, 4.0]
    groups = {i.group_id for i in infos if i}
    assert len(groups) == 1 and None not in groups
    df = store.list_runs(group_id=groups.pop())
    assert len(df) == 3


def test_vllm_detailed_result_reproduces_vllms_own_numbers(store: Store) -> None:
    run = import_file(store, VLLM)[0]
    assert run.requests == 24 and run.source_tool == "vllm"
    doc = json.loads(VLLM.read_text())
    recs = store.records(run.run_id)
    assert recs[0].ttft_ms == pytest.approx(doc["ttfts"][0] * 1000)
    assert recs[0].e2e_ms == pytest.approx((doc["ttfts"][0] + sum(doc["itls"][0])) * 1000)
    assert recs[0].sent_ms - recs[0].scheduled_ms == pytest.approx(doc["queue_times"][0] * 1000)
    s = store.summary(run.run_id)
    assert s.ttft_ms.mean == pytest.approx(doc["mean_ttft_ms"])
    assert s.ttft_ms.p99 == pytest.approx(doc["p99_ttft_ms"])
    assert s.tpot_ms.mean == pytest.approx(doc["mean_tpot_ms"])
    assert s.itl_ms.p50 == pytest.approx(doc["median_itl_ms"])
    cmp = tool_comparison_for_run(store, run.run_id)
    assert cmp is not None and bool(cmp["agrees"].dropna().all())


def test_vllm_without_save_detailed_keeps_aggregates_only(store: Store) -> None:
    run = import_file(store, VLLM_SUMMARY)[0]
    assert run.requests == 0
    assert any("--save-detailed" in n for n in run.notes)
    info = import_info(store, run.run_id)
    assert info is not None
    names = {m.name: m.value for m in info.tool_metrics}
    assert names["mean_ttft_ms"] == pytest.approx(102.83995545833332)
    assert "p99_itl_ms" in names and "request_throughput" in names


def test_vllm_append_result_lines_are_runs_of_one_group(store: Store) -> None:
    runs = import_file(store, VLLM_APPEND)
    assert len(runs) == 2
    infos = [store.get_run(r.run_id) for r in runs]
    assert infos[0] and infos[1] and infos[0].group_id == infos[1].group_id is not None
    s = store.summary(runs[1].run_id)
    assert (s.failed, s.errors_by_class) == (1, {"http_500": 1})  # "Internal Server Error"


def test_csv_with_documented_columns_imports(store: Store, tmp_path: Path) -> None:
    p = tmp_path / "mine.csv"
    p.write_text(
        "sent_ms,ok,ttft_ms,e2e_ms,output_tokens,error_class,chunk_offsets_ms\n"
        '0,true,50,250,5,,"[50, 100, 150, 200, 250]"\n'
        "100,1,70,270,5,,\n"
        "200,false,,,,http_503,\n"
    )
    run = import_file(store, p)[0]
    assert run.requests == 3 and run.source_tool == "csv"
    s = store.summary(run.run_id)
    assert (s.completed, s.failed) == (2, 1)
    assert s.tpot_ms.mean == pytest.approx(50.0)  # (250-50)/4 and (270-70)/4
    assert s.duration_s == pytest.approx(0.37)  # last end 100+270 ms after the first send
    assert s.rps == pytest.approx(2 / 0.37)
    assert s.itl_ms.mean == pytest.approx(50.0) and s.itl_ms.count == 4
    assert s.errors_by_class == {"http_503": 1}


def test_tool_comparison_flags_guidellm_token_weighted_itl(store: Store) -> None:
    run = import_file(store, GUIDELLM)[0]
    cmp = tool_comparison_for_run(store, run.run_id)
    assert cmp is not None
    row = cmp[cmp["metric"] == "TPOT mean (ms)"].iloc[0]
    # The means agree (every request has 32 tokens, so token weighting changes nothing) ...
    assert row["agrees"] and row["tool_metric"].startswith("inter_token_latency_ms")
    p95 = cmp[cmp["metric"] == "TPOT p95 (ms)"].iloc[0]
    # ... the p95 does not (per-token vs per-request samples) and the note says why.
    assert not p95["agrees"] and "per token" in p95["note"]


def test_tool_comparison_of_aiperf_matches_every_number(store: Store) -> None:
    run = import_file(store, AIPERF)[0]
    cmp = tool_comparison_for_run(store, run.run_id)
    assert cmp is not None
    assert cmp["agrees"].dropna().all()
    assert cmp["agrees"].notna().sum() == 24  # every pair but failed requests (AIPerf omits 0)
    names = set(cmp["tool_metric"])
    assert "inter_token_latency avg" in names and "inter_chunk_latency p99" in names
    assert "time_to_first_token avg" in names


def test_parse_file_does_not_touch_the_store(isolated_db: Path) -> None:
    fmt, digest, runs = parse_file(SWEEP)
    assert fmt == "guidellm" and len(digest) == 64 and len(runs) == 3
    assert not isolated_db.exists()


def test_given_format_overrides_detection_and_is_named_in_errors() -> None:
    with pytest.raises(ImportFileError, match=r"guidellm-concurrent-c2\.json \(as vllm\)"):
        parse_file(GUIDELLM, "vllm")


def test_aiperf_warmup_phase_is_flagged_warmup(store: Store, tmp_path: Path) -> None:
    lines = AIPERF.read_text().splitlines()
    out = []
    for i, line in enumerate(lines):
        rec = json.loads(line)
        if i < 4:
            rec["metadata"]["benchmark_phase"] = "warmup"
        out.append(json.dumps(rec))
    p = tmp_path / "profile_export.jsonl"
    p.write_text("\n".join(out) + "\n")
    s = store.summary(import_file(store, p)[0].run_id)
    assert (s.requests, s.warmup_requests) == (20, 4)


def test_guidellm_errored_and_incomplete_requests_are_failures(
    store: Store, tmp_path: Path
) -> None:
    doc = json.loads(GUIDELLM.read_text())
    reqs = doc["benchmarks"][0]["requests"]
    bad = reqs["successful"].pop()
    bad["info"]["error"] = "HTTPStatusError: Server error '503 Service Unavailable'"
    reqs["errored"] = [bad]
    cut = reqs["successful"].pop()
    reqs["incomplete"] = [cut]
    p = tmp_path / "benchmarks.json"
    p.write_text(json.dumps(doc))
    run = import_file(store, p)[0]
    s = store.summary(run.run_id)
    assert (s.requests, s.failed) == (16, 2)
    assert s.errors_by_class == {"http_503": 1, "incomplete": 1}
    assert any("cut off" in n for n in run.notes)


def test_vllm_without_start_times_says_send_times_are_unknown(store: Store, tmp_path: Path) -> None:
    doc = json.loads(VLLM.read_text())
    del doc["start_times"], doc["queue_times"]
    p = tmp_path / "old-vllm.json"
    p.write_text(json.dumps(doc))
    run = import_file(store, p)[0]
    assert run.requests == 24 and any("start_times" in n for n in run.notes)
    info = import_info(store, run.run_id)
    assert info is not None and not info.send_times_known
    s = store.summary(run.run_id)
    assert s.ttft_ms.mean == pytest.approx(doc["mean_ttft_ms"])  # latencies still recomputed
