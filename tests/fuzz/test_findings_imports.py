"""Hostile files the fuzz suite (or issue 18) found, kept as explicit tests: each is refused
with one message naming the file once, the row or record and the field, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inferlab.compare.io import upload_messages
from inferlab.importers import ImportFileError, import_file, import_uploads
from inferlab.store import Store

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "import"
AIPERF = FIX / "aiperf-c4" / "profile_export.jsonl"
GUIDELLM = FIX / "guidellm-concurrent-c2.json"
VLLM = FIX / "vllm-detailed.json"
DEEP = b"[" * 50_000 + b"]" * 50_000


@pytest.fixture
def store(isolated_db: Path) -> Store:
    return Store(isolated_db)


def refusal(store: Store, path: Path, fmt: str | None = None) -> str:
    with pytest.raises(ImportFileError) as exc:
        import_file(store, path, fmt)
    assert store.list_runs().empty
    msg = str(exc.value)
    assert msg.count(path.name) == 1, msg
    return msg


def _guidellm(tmp_path: Path, change: dict[str, object], timings: bool = False) -> Path:
    doc = json.loads(GUIDELLM.read_text())
    item = doc["benchmarks"][0]["requests"]["successful"][0]
    (item["info"]["timings"] if timings else item).update(change)
    p = tmp_path / "benchmarks.json"
    p.write_text(json.dumps(doc))
    return p


# -- issue 18 item 7: tracebacks -------------------------------------------------------------


@pytest.mark.parametrize("fmt", [None, "guidellm", "vllm", "inferlab-json", "aiperf"])
def test_json_nested_50000_deep_is_refused_by_name(
    store: Store, tmp_path: Path, fmt: str | None
) -> None:
    p = tmp_path / "deep.json"
    p.write_bytes(DEEP)
    assert "nested too deeply" in refusal(store, p, fmt)


def test_a_deep_csv_list_cell_is_refused_by_row(store: Store, tmp_path: Path) -> None:
    p = tmp_path / "deep.csv"
    p.write_bytes(b'sent_ms,ok,chunk_offsets_ms\n0,true,"' + DEEP + b'"\n')
    assert "row 2: column chunk_offsets_ms should be a JSON list" in refusal(store, p)


def test_a_deep_upload_does_not_hide_the_other_files_results(store: Store) -> None:
    out = import_uploads(store, [("deep.json", DEEP), ("b.json", GUIDELLM.read_bytes())])
    assert [o.name for o in out] == ["deep.json", "b.json"]
    assert out[0].error and "nested too deeply" in out[0].error
    assert out[1].error is None and out[1].runs[0].requests == 16


@pytest.mark.parametrize(
    ("offsets", "tokens", "problem"),
    [
        ("[1.0]", "[99999999999999999999]", "column chunk_tokens should be a JSON list"),
        ("[99999999999999999999]", "[1]", "chunk_offsets_ms[0] is 1e+20 ms: chunk arrivals"),
        ("[1e400]", "[1]", "chunk_offsets_ms[0] is inf ms"),
    ],
)
def test_csv_list_with_a_huge_number_is_refused_by_row(
    store: Store, tmp_path: Path, offsets: str, tokens: str, problem: str
) -> None:
    p = tmp_path / "big.csv"
    p.write_text(f'sent_ms,ok,chunk_offsets_ms,chunk_tokens\n0,true,"{offsets}","{tokens}"\n')
    msg = refusal(store, p)
    assert msg.startswith("big.csv (as csv): row 2: ") and problem in msg


@pytest.mark.parametrize("column", ["output_tokens", "input_tokens", "http_status", "index"])
def test_csv_count_beyond_32_bits_is_refused_by_row(
    store: Store, tmp_path: Path, column: str
) -> None:
    p = tmp_path / "r.csv"
    p.write_text(f"sent_ms,ok,{column}\n0,true,99999999999999999999\n")
    assert f"row 2: column {column} is 99999999999999999999, too large" in refusal(store, p)


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("prompt_tokens", -1e308, "prompt_tokens -1e+308 is not a token count"),
        ("output_tokens", 1e308, "output_tokens 1e+308 is not a token count"),
        ("request_latency", -1e308, "e2e_ms"),
    ],
)
def test_guidellm_number_of_1e308_is_refused_by_request(
    store: Store, tmp_path: Path, field: str, value: float, problem: str
) -> None:
    doc = json.loads(GUIDELLM.read_text())
    item = doc["benchmarks"][0]["requests"]["successful"][0]
    item[field] = value
    if field == "request_latency":
        del item["info"]["timings"]["last_token_iteration"]
    p = tmp_path / "benchmarks.json"
    p.write_text(json.dumps(doc))
    msg = refusal(store, p)
    assert "benchmarks[0].requests.successful[0]: " in msg and problem in msg


@pytest.mark.parametrize("timing", ["request_start", "first_token_iteration", "targeted_start"])
def test_guidellm_timing_of_minus_1e308_is_not_a_time(
    store: Store, tmp_path: Path, timing: str
) -> None:
    msg = refusal(store, _guidellm(tmp_path, {timing: -1e308}, timings=True))
    assert f"successful[0]: info.timings.{timing} -1e+308 is not a time (epoch seconds)" in msg
    assert "sent_ms" not in msg  # the other requests are not blamed for its anchor


# -- issue 18 item 8: impossible values --------------------------------------------------------


def test_csv_impossible_values_are_all_named_by_row_and_column(
    store: Store, tmp_path: Path
) -> None:
    p = tmp_path / "imp.csv"
    p.write_text(
        "sent_ms,ok,ttft_ms,e2e_ms\n0,true,inf,10\n1,true,-5,10\n2,true,50,20\n"
        "3,true,1e308,1e308\n4,true,10,20\n"
    )
    msg = refusal(store, p)
    assert msg == (
        "imp.csv (as csv): 5 problems: row 2: ttft_ms is inf, not a finite number; "
        "row 3: ttft_ms is negative (-5 ms); row 4: e2e_ms (20 ms) is before ttft_ms (50 ms); "
        "row 5: ttft_ms is 1e+308 ms, beyond 30 days; row 5: e2e_ms is 1e+308 ms, beyond 30 days"
    )


def test_guidellm_garbage_start_time_is_named(store: Store, tmp_path: Path) -> None:
    msg = refusal(store, _guidellm(tmp_path, {"request_start_time": "garbage"}))
    assert (
        "benchmarks[0].requests.successful[0]: request_start_time is not a finite number: 'garbage'"
    ) in msg


def test_guidellm_first_token_before_the_send_is_a_negative_ttft(
    store: Store, tmp_path: Path
) -> None:
    doc = json.loads(GUIDELLM.read_text())
    t = doc["benchmarks"][0]["requests"]["successful"][1]["info"]["timings"]
    t["first_token_iteration"] = t["request_start"] - 1
    p = tmp_path / "benchmarks.json"
    p.write_text(json.dumps(doc))
    msg = refusal(store, p)
    assert (
        "successful[1]: ttft_ms (from info.timings.first_token_iteration) is negative (-1000 ms)"
    ) in msg


def test_vllm_negative_ttft_is_refused_not_dropped(store: Store, tmp_path: Path) -> None:
    obj = json.loads(VLLM.read_text())
    obj["ttfts"][2] = -0.5
    p = tmp_path / "v.json"
    p.write_text(json.dumps(obj))
    assert "result, request 2: ttft_ms (from ttfts) is negative (-500 ms)" in refusal(store, p)


def test_vllm_huge_output_length_is_refused(store: Store, tmp_path: Path) -> None:
    obj = json.loads(VLLM.read_text())
    obj["output_lens"][0] = 1e308
    p = tmp_path / "v.json"
    p.write_text(json.dumps(obj))
    assert "result.output_lens[0] is not a token count: 1e+308" in refusal(store, p)


def test_aiperf_negative_chunk_gaps_name_the_line(store: Store, tmp_path: Path) -> None:
    lines = AIPERF.read_text().splitlines()
    rec = json.loads(lines[3])
    gaps = rec["metrics"]["inter_chunk_latency"]["value"]
    rec["metrics"]["inter_chunk_latency"]["value"] = [-g for g in gaps]
    lines[3] = json.dumps(rec)
    p = tmp_path / "profile_export.jsonl"
    p.write_text("\n\n".join(lines) + "\n")  # blank lines between: line numbers still right
    msg = refusal(store, p)
    assert msg.startswith("profile_export.jsonl (as aiperf): 2 problems: line 7: e2e_ms (from ")
    assert "is negative" in msg
    assert (
        "; line 7: chunk_offsets_ms[11] (from time_to_first_token + inter_chunk_latency) is -"
        in msg
    )


def test_aiperf_huge_numbers_are_refused_by_line(store: Store, tmp_path: Path) -> None:
    lines = AIPERF.read_text().splitlines()
    rec = json.loads(lines[0])
    rec["metrics"]["output_sequence_length"]["value"] = 1e308
    rec["metadata"]["request_start_ns"] = 10**30
    lines[0] = json.dumps(rec)
    p = tmp_path / "profile_export.jsonl"
    p.write_text("\n".join(lines) + "\n")
    assert "line 1: metadata.request_start_ns is not a time" in refusal(store, p)
    rec["metadata"]["request_start_ns"] = 1
    lines[0] = json.dumps(rec)
    p.write_text("\n".join(lines) + "\n")
    msg = refusal(store, p)
    assert "line 1: metrics.output_sequence_length 1e+308 is not a token count" in msg


# -- issue 16: imports -------------------------------------------------------------------------


def test_truncated_json_of_no_known_kind_says_truncated_at_byte(
    store: Store, tmp_path: Path
) -> None:
    p = tmp_path / "cut.json"
    p.write_text('{"benchm')
    assert refusal(store, p) == (
        "cut.json (format detection): truncated JSON: the document stops unfinished at byte 8 "
        "(line 1); the file looks cut off"
    )
    p.write_text('{"a": [1, 2,, 3]}')
    assert refusal(store, p) == (
        "cut.json (format detection): invalid JSON at byte 12 (line 1, column 13): Expecting value"
    )


def test_a_csv_with_many_bad_rows_reports_all_of_them_capped(store: Store, tmp_path: Path) -> None:
    p = tmp_path / "many.csv"
    p.write_text("sent_ms,ok\n" + "".join(f"{i},maybe\n" for i in range(25)))
    with pytest.raises(ImportFileError) as exc:
        import_file(store, p)
    msg = str(exc.value)
    assert msg.startswith("many.csv (as csv): 25 problems: row 2: column ok should be true or")
    assert "row 11:" in msg and "row 12:" not in msg and msg.endswith("; and 15 more")
    assert exc.value.count == 25 and len(exc.value.details) == 25


def test_upload_messages_name_the_file_once_and_list_the_problems(store: Store) -> None:
    bad_csv = b"sent_ms,ok,ttft_ms\n0,true,10\n5,maybe,12\n6,true,fast\n"
    out = import_uploads(store, [("runs.csv", bad_csv), ("broken.json", b'{"benchmarks": [{')])
    (level, csv_msg), (_, json_msg) = upload_messages(out)
    assert level == "error"
    assert csv_msg.count("runs.csv") == 1 and json_msg.count("broken.json") == 1
    assert csv_msg.startswith("**runs.csv** was not imported (read as csv): 2 problems")
    assert "- row 3: column ok should be true or false, got 'maybe'" in csv_msg
    assert "- row 4: column ttft_ms is not a number: 'fast'" in csv_msg
    assert json_msg.startswith("**broken.json** was not imported (read as guidellm): truncated")


# -- found by tests/fuzz/test_import_files.py --------------------------------------------------


def test_a_json_integer_too_large_for_a_float_is_not_a_number(store: Store, tmp_path: Path) -> None:
    p = tmp_path / "benchmarks.json"
    doc = json.loads(GUIDELLM.read_text())
    doc["benchmarks"][0]["requests"]["successful"][0]["output_tokens"] = 10**400
    p.write_text(json.dumps(doc))
    msg = refusal(store, p)
    assert "successful[0]: output_tokens is not a finite number: 1000000000" in msg


def test_guidellm_config_of_another_shape_is_ignored(store: Store, tmp_path: Path) -> None:
    doc = json.loads(GUIDELLM.read_text())
    doc["config"]["spec"] = [1, 2]
    p = tmp_path / "benchmarks.json"
    p.write_text(json.dumps(doc))
    run = import_file(store, p)[0]
    info = store.get_run(run.run_id)
    assert info is not None and info.model == "unknown" and run.requests == 16


def test_aiperf_input_config_of_another_shape_is_ignored(store: Store, tmp_path: Path) -> None:
    agg = json.loads((AIPERF.parent / "profile_export_aiperf.json").read_text())
    agg["input_config"]["models"] = ["refmodel"]
    agg["input_config"]["endpoint"] = "http://x"
    agg["input_config"]["datasets"] = [{"prompts": []}]
    agg["input_config"]["phases"] = [{"kind": "profiling", "requests": 1e308}]
    (tmp_path / "profile_export.jsonl").write_bytes(AIPERF.read_bytes())
    (tmp_path / "profile_export_aiperf.json").write_text(json.dumps(agg))
    run = import_file(store, tmp_path / "profile_export.jsonl")[0]
    assert run.requests == 24 and run.label == "AIPerf"


def test_cli_lists_several_problems_one_per_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from inferlab.cli import main

    p = tmp_path / "runs.csv"
    p.write_text("sent_ms,ok,ttft_ms\n0,true,10\n5,maybe,12\n6,true,fast\n")
    assert main(["import", str(p), "--db", str(tmp_path / "x.duckdb")]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "inferlab: error: runs.csv (as csv): 2 problems:",
        "  row 3: column ok should be true or false, got 'maybe'",
        "  row 4: column ttft_ms is not a number: 'fast'",
    ]
